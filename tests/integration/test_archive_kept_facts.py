"""Facts the rules say to record that had no event before (issue 18), over a real RabbitMQ,
on SQLite and PostgreSQL, each service with its own database:

- C5 §三(十二): a postponement and a declaration that a decision cannot be carried out are
  explained to the group (the secretary among them) by notification, and kept by the archive;
- N2: a delivery that finally fails on its channel is said once (``notification_failed``) and
  kept by the archive as a ``notification_failure`` record.
"""
import datetime as dt
import json

import eventlet
import pytest
import sqlalchemy as sa

from services.accountability.service import AccountabilityService
from services.archive.service import ArchiveService
from services.notifications.service import NotificationsService
from shared.db import make_engine
from tests.integration.test_accountability_tracking import OFFICE, SECRETARY, decided, member, today
from tests.integration.test_notifications_channels import meeting_noticed
from tests.support.events import publish, wait_for
from tests.support.roster import actor
from tests.support.webhook_receiver import WebhookReceiver

pytestmark = pytest.mark.integration
ORG = "org-a"
LEADER = actor("y1", ORG, "member")
DISSENTER = actor("n1", ORG, "member")
GROUP = [member("sec", stance="yes"), member("y1", stance="yes"), member("y2", stance="yes"),
         member("n1", stance="no"), member("l1", presence="leave")]


@pytest.fixture
def database_for(request, database_url, tmp_path):
    """One database per service, on the backend of ``database_url``."""
    made = []

    def make(name):
        if database_url.startswith("sqlite"):
            return f"sqlite:///{tmp_path / f'{name}.sqlite3'}"
        postgres = request.getfixturevalue("postgres")
        url = postgres.create_database()
        made.append((postgres, url))
        return url
    yield make
    for postgres, url in made:
        try:
            postgres.drop_database(url)
        except Exception:
            pass


def outbox_events(url, event_type):
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT body FROM outbox WHERE event_type = :t ORDER BY id"),
                                {"t": event_type}).all()
    finally:
        engine.dispose()
    return [json.loads(r[0]) for r in rows]


def records(archive, kind):
    return archive.list_records(SECRETARY, ORG, limit=100, kind=kind)["items"]


def test_c5_postponement_and_non_execution_are_explained_to_the_group_and_archived(
        container_factory, rpc_client, amqp_uri, database_for):
    container_factory(AccountabilityService, database_url=database_for("accountability")).start()
    container_factory(NotificationsService, database_url=database_for("notifications")).start()
    container_factory(ArchiveService, database_url=database_for("archive")).start()
    proxy = rpc_client()
    accountability, notifications, archive = proxy.accountability, proxy.notifications, proxy.archive

    decision_id = decided(accountability, amqp_uri, members=GROUP)
    deadline = today() + dt.timedelta(days=30)
    task_id = accountability.assign_implementation(SECRETARY, decision_id, {
        "leader_person_id": "y1", "units": ["规划处"], "deadline": deadline.isoformat()})["task_id"]
    later = deadline + dt.timedelta(days=30)
    accountability.postpone(LEADER, task_id, {"new_deadline": later.isoformat(),
                                              "explanation": "资金下达推迟，向党组说明"})
    accountability.declare_not_executable(OFFICE, task_id, {"explanation": "上级政策调整，无法执行"})

    # the group, the secretary among them, reads both explanations in their inbox
    def kinds_of(person):
        return [n["kind"] for n in notifications.inbox(person)["items"]
                if n["kind"].startswith("implementation_")]
    for person in (SECRETARY, DISSENTER, LEADER, actor("l1", ORG, "member")):
        wait_for(lambda: len(kinds_of(person)) == 2, timeout=20)
        assert kinds_of(person) == ["implementation_not_executable", "implementation_postponed"], person
    stopped, moved = [n for n in notifications.inbox(SECRETARY)["items"] if n["kind"].startswith("implementation_")]
    assert moved["ref_id"] == task_id and moved["title"] == "落实延期：老旧小区改造方案"
    assert f"由 {deadline.isoformat()} 延至 {later.isoformat()}" in moved["body"]
    assert "说明：资金下达推迟，向党组说明" in moved["body"]
    assert stopped["title"] == "决定无法执行：老旧小区改造方案" and "上级政策调整，无法执行" in stopped["body"]
    # a person outside the decision's group hears nothing
    assert kinds_of(actor("outsider", ORG, "member")) == []

    # the archive keeps both, 30 years, with the explanation and who was told
    wait_for(lambda: records(archive, "implementation_postponement")
             and records(archive, "implementation_non_execution"), timeout=20)
    (postponed,) = records(archive, "implementation_postponement")
    (declared,) = records(archive, "implementation_non_execution")
    assert postponed["retention"] == declared["retention"] == "30y"
    c = postponed["content"]
    assert (c["task_id"], c["decision_id"], c["old_deadline"], c["new_deadline"], c["postponed_by"]) == (
        task_id, decision_id, deadline.isoformat(), later.isoformat(), "y1")
    assert c["explanation"] == "资金下达推迟，向党组说明"
    assert c["recipients"] == ["sec", "y1", "y2", "n1", "l1"]
    assert (declared["content"]["explanation"], declared["content"]["declared_by"]) == ("上级政策调整，无法执行", "off")
    assert archive.verify(SECRETARY, ORG)["ok"] is True


def test_n2_a_delivery_that_finally_fails_is_said_once_and_archived(
        container_factory, rpc_client, amqp_uri, database_for):
    notifications_db = database_for("notifications")
    with WebhookReceiver(fail_first=100) as receiver:
        # two replicas: each delivery is claimed by one, and only the claim holder marks it failed
        for _ in range(2):
            container_factory(NotificationsService, database_url=notifications_db, WEBHOOK_ALLOW_PRIVATE="1",
                              DELIVERY_POLL_SECONDS=0.05, DELIVERY_BACKOFF_SECONDS=0.05, DELIVERY_MAX_ATTEMPTS=3,
                              WEBHOOK_TIMEOUT_SECONDS=2).start()
        container_factory(ArchiveService, database_url=database_for("archive")).start()
        proxy = rpc_client()
        notifications, archive = proxy.notifications, proxy.archive
        hook = notifications.register_webhook(OFFICE, {"url": receiver.url, "event_types": ["meeting_notice"]})
        receiver.secret = hook["secret"]
        notice = meeting_noticed(["p1"])
        publish(amqp_uri, "meetings", notice)
        wait_for(lambda: notifications.deliveries(OFFICE, {"channel": "webhook", "status": "failed"})["items"],
                 timeout=20)
        eventlet.sleep(1.0)                     # any further pass would have to say it again
        (failed,) = notifications.deliveries(OFFICE, {"channel": "webhook"})["items"]
        assert len(receiver.requests) == 3

    (event,) = outbox_events(notifications_db, "notification_failed")
    data = event["data"]
    assert event["org_id"] == ORG and event["producer"] == "notifications"
    assert (data["delivery_id"], data["source_event_id"], data["kind"], data["channel"], data["recipient"]) == (
        failed["delivery_id"], notice["event_id"], "meeting_notice", "webhook", hook["webhook_id"])
    assert (data["attempts"], data["error"]) == (3, "HTTP 500")
    assert "payload" not in data and "body" not in data           # never the message itself
    # no failure is said for the inbox delivery, which was delivered
    assert all(e["data"]["channel"] != "inbox" for e in outbox_events(notifications_db, "notification_failed"))

    wait_for(lambda: records(archive, "notification_failure"), timeout=20)
    (record,) = records(archive, "notification_failure")
    assert record["source_event_id"] == event["event_id"] and record["retention"] == "10y"
    assert record["content"]["delivery_id"] == failed["delivery_id"]
