"""Notifications over a real RabbitMQ, on SQLite and PostgreSQL: a meeting notice
reaches every recipient's inbox and nobody else's (N1), once per recipient and
channel even when delivered twice (N2)."""
import uuid
from pathlib import Path

import eventlet
import pytest
import sqlalchemy as sa
from kombu import Connection

from services.notifications import models
from services.notifications.service import NotificationsService
from shared.db import make_engine
from shared.envelope import make_envelope
from shared.errors import NotFound, ValidationFailed
from shared.topology import queue_name
from tests.support import events
from tests.support.events import wait_for
from tests.support.roster import actor

pytestmark = pytest.mark.integration
HANDLER_QUEUE = queue_name("meetings", "meeting_noticed", "notifications", "on_meeting_noticed")


def publish(amqp_uri, *envelopes):
    events.publish(amqp_uri, "meetings", *envelopes)


def meeting_noticed(org_id, recipients, title="党组会议", **extra):
    data = {
        "meeting_id": str(uuid.uuid4()), "kind": "regular", "title": title,
        "scheduled_at": "2026-12-10T02:00:00Z", "noticed_at": "2026-12-07T02:00:00Z",
        "objection_deadline": "2026-12-09T02:00:00Z", "chair_person_id": "p0",
        "agenda": [{"topic_id": "t1", "title": "2027年度工作计划", "category": "work_plan"}],
        "recipients": recipients,
    }
    data.update(extra)
    return make_envelope("meetings", "meeting_noticed", org_id, data)


def message_count(amqp_uri, queue):
    with Connection(amqp_uri) as conn:
        return conn.default_channel.queue_declare(queue=queue, passive=True).message_count


def count_rows(database_url, sql):
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            return conn.execute(sa.text(sql)).scalar_one()
    finally:
        engine.dispose()


@pytest.fixture
def service(container_factory, rpc_client, database_url):
    # one worker: deliveries are handled in order, so a later marker proves earlier ones are done
    container_factory(NotificationsService, database_url=database_url, max_workers=1).start()
    return rpc_client().notifications


def test_n1_n2_notice_delivered_twice_reaches_each_recipient_once_and_nobody_else(service, amqp_uri, database_url):
    org = "org-a"
    notice = meeting_noticed(org, ["p1", "p2", "p3"])
    marker = meeting_noticed(org, ["p1"], title="第二次会议")
    publish(amqp_uri, notice, notice, marker)
    wait_for(lambda: len(service.inbox(actor("p1", org, "member"))["items"]) == 2)

    meeting_id = notice["data"]["meeting_id"]
    for pid in ("p2", "p3"):
        box = service.inbox(actor(pid, org, "member"))
        assert box["unread"] == 1 and len(box["items"]) == 1
        item = box["items"][0]
        assert item["meeting_id"] == meeting_id and item["kind"] == "meeting_notice"
        assert item["title"] == "会议通知：党组会议" and item["read_at"] is None
        assert "2026-12-10T02:00:00Z" in item["body"] and "2027年度工作计划" in item["body"]
    p1 = service.inbox(actor("p1", org, "member"))
    assert [i["title"] for i in p1["items"]].count("会议通知：党组会议") == 1 and p1["unread"] == 2
    # nobody else: a member not on the list, and the same person id in another organization
    assert service.inbox(actor("p9", org, "member")) == {"items": [], "unread": 0, "next_cursor": None}
    assert service.inbox(actor("p1", "org-b", "member")) == {"items": [], "unread": 0, "next_cursor": None}
    # exactly 3 + 1 notifications and one delivery event per notice event
    assert count_rows(database_url, "SELECT count(*) FROM notifications") == 4
    assert count_rows(database_url,
                      "SELECT count(*) FROM outbox WHERE event_type = 'notification_delivered'") == 2
    # the duplicate was skipped cleanly, not refused by the database and dead-lettered
    wait_for(lambda: message_count(amqp_uri, HANDLER_QUEUE) == 0)
    eventlet.sleep(0.5)
    assert message_count(amqp_uri, HANDLER_QUEUE + ".dlq") == 0


def test_n2_mark_read_is_for_the_recipient_only(service, amqp_uri):
    org = "org-a"
    notice = meeting_noticed(org, ["p1", "p2"])
    publish(amqp_uri, notice)
    p1, p2 = actor("p1", org, "member"), actor("p2", org, "member")
    wait_for(lambda: service.inbox(p1)["unread"] == 1 and service.inbox(p2)["unread"] == 1)
    mine = service.inbox(p1)["items"][0]["notification_id"]
    with pytest.raises(NotFound) as err:
        service.mark_read(p2, mine)
    assert err.value.field == "notification_id"
    with pytest.raises(NotFound):
        service.mark_read(actor("p1", "org-b", "member"), mine)
    assert service.inbox(p1)["unread"] == 1   # the refused attempts changed nothing

    read = service.mark_read(p1, mine)
    assert read["notification_id"] == mine and read["read_at"] is not None
    again = service.mark_read(p1, mine)
    assert again["read_at"] == read["read_at"]   # the first reading time is kept
    assert service.inbox(p1)["unread"] == 0
    assert service.inbox(p1, unread_only=True)["items"] == []
    assert len(service.inbox(p1)["items"]) == 1
    assert service.inbox(p2)["unread"] == 1
    with pytest.raises(ValidationFailed) as err:
        service.inbox(p1, limit=0)
    assert err.value.field == "limit"
    with pytest.raises(ValidationFailed) as err:
        service.inbox(p1, unread_only="yes")
    assert err.value.field == "unread_only"


def test_n1_malformed_notice_is_dead_lettered_and_writes_nothing(service, amqp_uri, database_url):
    bad = meeting_noticed("org-a", ["p1"], scheduled_at="next tuesday")
    good = meeting_noticed("org-a", ["p2"])
    publish(amqp_uri, bad, good)
    wait_for(lambda: service.inbox(actor("p2", "org-a", "member"))["unread"] == 1)

    wait_for(lambda: message_count(amqp_uri, HANDLER_QUEUE + ".dlq") == 1)
    assert service.inbox(actor("p1", "org-a", "member"))["items"] == []
    assert count_rows(database_url, "SELECT count(*) FROM notifications") == 1


def objection_raised(org_id, chair, text="建议先征求基层意见", **extra):
    data = {"objection_id": str(uuid.uuid4()), "meeting_id": str(uuid.uuid4()), "topic_id": "t1",
            "person_id": "p3", "text": text, "raised_at": "2026-12-08T01:00:00Z", "chair_person_id": chair,
            "meeting_title": "党组会议", "scheduled_at": "2026-12-10T02:00:00Z", "topic_title": "2027年度工作计划",
            "person_name": "党组成员三"}
    data.update(extra)
    return make_envelope("meetings", "objection_raised", org_id, data)


def test_m5_an_objection_delivered_twice_reaches_the_chair_once_and_nobody_else(service, amqp_uri):
    org = "org-a"
    objection = objection_raised(org, "p0")
    marker = objection_raised(org, "p9", text="另一项异议")     # same queue, one worker: handled after
    publish(amqp_uri, objection, objection, marker)
    wait_for(lambda: service.inbox(actor("p9", org, "secretary"))["unread"] == 1)

    chair = actor("p0", org, "secretary")
    box = service.inbox(chair)
    assert box["unread"] == 1 and len(box["items"]) == 1
    item = box["items"][0]
    assert item["kind"] == "objection_received" and item["title"] == "议题异议：党组会议"
    assert item["meeting_id"] == objection["data"]["meeting_id"]
    assert "党组成员三对会议「党组会议」" in item["body"] and "建议先征求基层意见" in item["body"]
    for pid in ("p3", "p1"):          # the author and the other members are not notified
        assert service.inbox(actor(pid, org, "member"))["items"] == []
    # the chair acknowledges it: the proof that the objection arrived (M5)
    ack = service.acknowledge(chair, item["notification_id"])
    assert ack["acknowledged_at"] is not None and ack["read_at"] is not None


def test_migrations_build_exactly_the_models(database_url):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from shared.db import migrate

    engine = make_engine(database_url)
    try:
        migrate(engine, Path(models.__file__).parent / "migrations", "alembic_version_notifications")
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={
                "compare_type": True,
                "include_name": lambda name, kind, _parent: not (kind == "table" and name.startswith("alembic_")),
            })
            assert compare_metadata(context, models.Base.metadata) == []
    finally:
        engine.dispose()


def test_n2_the_inbox_pages_by_cursor_through_every_notice_once(service, amqp_uri):
    """The inbox grows for a career: it pages by keyset, newest first, each notice exactly once,
    the last page without a cursor; a cursor it did not give is refused naming ``cursor``."""
    org = "org-a"
    me = actor("p1", org, "member")
    notices = [meeting_noticed(org, ["p1"], title=f"第{i}次会议") for i in range(7)]
    publish(amqp_uri, *notices)
    wait_for(lambda: len(service.inbox(me, limit=50)["items"]) == 7)
    whole = [n["notification_id"] for n in service.inbox(me, limit=50)["items"]]
    seen, cursor, pages = [], None, 0
    while True:
        page = service.inbox(me, limit=3, cursor=cursor)
        seen += [n["notification_id"] for n in page["items"]]
        pages += 1
        assert page["unread"] == 7
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert pages == 3 and seen == whole and len(set(seen)) == 7
    created = [n["created_at"] for n in service.inbox(me, limit=50)["items"]]
    assert created == sorted(created, reverse=True)
    with pytest.raises(ValidationFailed) as err:
        service.inbox(me, limit=3, cursor="not-a-cursor")
    assert (err.value.field, err.value.rule) == ("cursor", "N2")
    with pytest.raises(ValidationFailed) as err:
        service.inbox(me, limit=3, offset=3, cursor=service.inbox(me, limit=3)["next_cursor"])
    assert err.value.field == "offset"
