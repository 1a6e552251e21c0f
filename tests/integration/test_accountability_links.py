"""Accountability over a real RabbitMQ, on SQLite and PostgreSQL: results decided by
voting become responsibility links once (C1), are read back by RPC with the C3
proposal, and make up a person's lifetime record across organizations (C2)."""
import time
import uuid

import eventlet
import pytest
import sqlalchemy as sa
from kombu import Connection, Queue

from services.accountability import models
from services.accountability.service import AccountabilityService
from shared.db import make_engine
from shared.envelope import make_envelope
from shared.errors import Forbidden, NotFound, ValidationFailed
from shared.topology import event_exchange, queue_name
from tests.support import events
from tests.support.events import wait_for
from tests.support.roster import actor

pytestmark = pytest.mark.integration
HANDLER_QUEUE = queue_name("voting", "result_decided", "accountability", "on_result_decided")


def publish(amqp_uri, *envelopes):
    events.publish(amqp_uri, "voting", *envelopes)


def member(pid, presence="present", stance=None, reserved=None, written=None, voted=None):
    return {"person_id": pid, "presence": presence, "voted": stance is not None if voted is None else voted,
            "stance": stance, "reserved_opinion": reserved, "written_opinion": written}


NAMED = [member("y1", stance="yes"), member("y2", stance="yes"), member("y3", stance="yes"),
         member("y4", stance="yes", reserved="建议分期实施"), member("n1", stance="no"),
         member("a1", stance="abstain"), member("l1", presence="leave", written="同意，建议加强督办")]


def result_decided(org_id, members=NAMED, method="named", decided_at="2026-12-10T03:00:00Z", **extra):
    data = {
        "decision_id": str(uuid.uuid4()), "ballot_id": str(uuid.uuid4()), "meeting_id": str(uuid.uuid4()),
        "agenda_item_id": str(uuid.uuid4()), "title": "2027年度工作计划", "category": "work_plan",
        "method": method, "emergency": False, "n": len(members),
        "present": sum(1 for m in members if m["presence"] == "present"),
        "yes": sum(1 for m in members if m["stance"] == "yes"), "no": sum(1 for m in members if m["stance"] == "no"),
        "abstain": sum(1 for m in members if m["stance"] == "abstain"), "threshold": len(members) // 2 + 1,
        "outcome": "passed", "superseded_decision_id": None, "decided_at": decided_at, "members": members,
    }
    data.update(extra)
    return make_envelope("voting", "result_decided", org_id, data)


def links_when_ready(svc, who, decision_id):
    def ready():
        try:
            return svc.decision_links(who, decision_id)
        except NotFound:
            return None
    return wait_for(ready)


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
    container_factory(AccountabilityService, database_url=database_url, max_workers=1).start()
    return rpc_client().accountability


def test_c1_result_delivered_twice_links_every_member_once(service, amqp_uri, database_url):
    org = "org-a"
    with Connection(amqp_uri) as conn:   # an integrator's view of what accountability publishes
        watch = Queue(f"watch-{uuid.uuid4().hex[:8]}", exchange=event_exchange("accountability"),
                      routing_key="responsibility_linked", exclusive=True)
        watch(conn.default_channel).declare()
        event = result_decided(org)
        marker = result_decided(org, members=[member("y1", stance="yes")])
        publish(amqp_uri, event, event, marker)
        decision_id = event["data"]["decision_id"]
        secretary = actor("y1", org, "secretary")
        links_when_ready(service, secretary, marker["data"]["decision_id"])

        view = service.decision_links(secretary, decision_id)
        assert view["decision"]["decision_id"] == decision_id
        assert (view["decision"]["n"], view["decision"]["yes"], view["decision"]["no"],
                view["decision"]["abstain"], view["decision"]["outcome"]) == (7, 4, 1, 1, "passed")
        by_person = {link["person_id"]: link for link in view["links"]}
        assert len(view["links"]) == 7 and set(by_person) == {"y1", "y2", "y3", "y4", "n1", "a1", "l1"}
        assert by_person["y4"]["stance"] == "yes" and by_person["y4"]["reserved_opinion"] == "建议分期实施"
        assert by_person["l1"]["presence"] == "leave" and by_person["l1"]["participant"] is False
        assert by_person["l1"]["written_opinion"] == "同意，建议加强督办" and by_person["l1"]["stance"] is None
        # C3 proposals if the decision were judged a major error
        proposals = {p: link["proposed_if_major_error"]["proposal"] for p, link in by_person.items()}
        assert proposals == {"y1": "responsible", "y2": "responsible", "y3": "responsible",
                             "y4": "may_be_exempted", "n1": "may_be_exempted", "a1": "responsible",
                             "l1": "not_participant"}

        # the duplicate changed nothing: 7 + 1 links, two decisions, two events
        assert count_rows(database_url, "SELECT count(*) FROM responsibility_links") == 8
        assert count_rows(database_url, "SELECT count(*) FROM decisions") == 2
        assert count_rows(database_url,
                          "SELECT count(*) FROM outbox WHERE event_type = 'responsibility_linked'") == 2
        received = []
        consumer = conn.SimpleQueue(watch)
        deadline = time.monotonic() + 10
        while len(received) < 2 and time.monotonic() < deadline:
            try:
                msg = consumer.get(timeout=1)
            except consumer.Empty:
                continue
            received.append(msg.payload)
            msg.ack()
        assert sorted((e["data"]["decision_id"], e["data"]["links"]) for e in received) == \
            sorted([(decision_id, 7), (marker["data"]["decision_id"], 1)])
        assert all(e["org_id"] == org and e["producer"] == "accountability" for e in received)
        consumer.close()
    # the duplicate was skipped cleanly, not refused and dead-lettered
    wait_for(lambda: message_count(amqp_uri, HANDLER_QUEUE) == 0)
    eventlet.sleep(0.5)
    assert message_count(amqp_uri, HANDLER_QUEUE + ".dlq") == 0


def test_c1_secret_ballot_links_show_unknown_stance(service, amqp_uri):
    members = [member("s1", voted=True), member("s2", voted=True, reserved="不同意"), member("s3", presence="absent")]
    event = result_decided("org-a", members=members, method="secret")
    publish(amqp_uri, event)
    view = links_when_ready(service, actor("s1", "org-a", "member"), event["data"]["decision_id"])
    by_person = {link["person_id"]: link for link in view["links"]}
    assert [by_person[p]["stance"] for p in ("s1", "s2", "s3")] == ["unknown", "unknown", None]
    assert [by_person[p]["proposed_if_major_error"]["proposal"] for p in ("s1", "s2", "s3")] == \
        ["responsible", "may_be_exempted", "not_participant"]


def test_c1_other_organization_sees_no_decision(service, amqp_uri):
    event = result_decided("org-a")
    publish(amqp_uri, event)
    decision_id = event["data"]["decision_id"]
    links_when_ready(service, actor("y1", "org-a", "member"), decision_id)
    with pytest.raises(NotFound) as err:
        service.decision_links(actor("x", "org-b", "secretary"), decision_id)
    assert err.value.field == "decision_id" and err.value.rule == "C1"
    with pytest.raises(NotFound):
        service.decision_links(actor("y1", "org-a", "member"), "no-such-decision")
    # the organization department reads across organizations (SPEC §1)
    upper = service.decision_links(actor("od", "org-up", "org_department"), decision_id)
    assert len(upper["links"]) == 7


def test_c2_lifetime_record_spans_organizations(service, amqp_uri):
    # the same person sat on two party groups, years apart
    old = result_decided("org-a", members=[member("p-life", stance="no", reserved="风险过高"), member("o1", stance="yes")],
                         decided_at="2019-03-01T02:00:00Z", title="旧办公楼改造")
    new = result_decided("org-b", members=[member("p-life", voted=True), member("o2", voted=True)],
                         method="secret", decided_at="2031-06-01T02:00:00Z", title="干部任免")
    other = result_decided("org-a", members=[member("o1", stance="yes")], decided_at="2025-01-01T00:00:00Z")
    publish(amqp_uri, old, new, other)
    himself = actor("p-life", "org-b", "member")
    record = wait_for(lambda: (r := service.person_record(himself, "p-life")) and r["total"] == 2 and r)
    assert [(i["decision_id"], i["org_id"], i["stance"]) for i in record["items"]] == [
        (new["data"]["decision_id"], "org-b", "unknown"),          # newest first
        (old["data"]["decision_id"], "org-a", "no"),
    ]
    assert record["items"][1]["reserved_opinion"] == "风险过高" and record["items"][1]["title"] == "旧办公楼改造"
    wait_for(lambda: service.person_record(actor("o1", "org-a", "member"), "o1")["total"] == 2)

    # the organization department sees every organization; a secretary only their own
    assert service.person_record(actor("od", "org-up", "org_department"), "p-life")["total"] == 2
    own = service.person_record(actor("sec-a", "org-a", "secretary"), "p-life")
    assert [(i["org_id"], i["decision_id"]) for i in own["items"]] == [("org-a", old["data"]["decision_id"])]
    assert own["total"] == 1
    inspector = service.person_record(actor("ins-b", "org-b", "discipline"), "p-life")
    assert [i["org_id"] for i in inspector["items"]] == ["org-b"]
    # paging
    page = service.person_record(himself, "p-life", limit=1, offset=1)
    assert page["total"] == 2 and [i["decision_id"] for i in page["items"]] == [old["data"]["decision_id"]]
    # a fellow member may not read someone else's record
    with pytest.raises(Forbidden) as err:
        service.person_record(actor("o1", "org-a", "member"), "p-life")
    assert err.value.rule == "C2"
    with pytest.raises(ValidationFailed) as err:
        service.person_record(himself, "p-life", limit=0)
    assert err.value.field == "limit"


def test_c1_malformed_result_is_dead_lettered_and_writes_nothing(service, amqp_uri, database_url):
    bad = result_decided("org-a", method="telepathy")
    good = result_decided("org-a")
    publish(amqp_uri, bad, good)
    links_when_ready(service, actor("y1", "org-a", "member"), good["data"]["decision_id"])

    wait_for(lambda: message_count(amqp_uri, HANDLER_QUEUE + ".dlq") == 1)
    with pytest.raises(NotFound):
        service.decision_links(actor("y1", "org-a", "member"), bad["data"]["decision_id"])
    assert count_rows(database_url, "SELECT count(*) FROM decisions") == 1
    assert count_rows(database_url, "SELECT count(*) FROM inbox") == 1


def test_migrations_build_exactly_the_models(database_url):
    from pathlib import Path

    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from shared.db import migrate

    engine = make_engine(database_url)
    try:
        migrate(engine, Path(models.__file__).parent / "migrations", "alembic_version_accountability")
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={
                "compare_type": True,
                "include_name": lambda name, kind, _parent: not (kind == "table" and name.startswith("alembic_")),
            })
            assert compare_metadata(context, models.Base.metadata) == []
    finally:
        engine.dispose()


def opinion_recorded(org_id, decision_id, person_id, text):
    return make_envelope("voting", "reserved_opinion_recorded", org_id, {
        "decision_id": decision_id, "ballot_id": str(uuid.uuid4()), "person_id": person_id,
        "reserved_opinion": text, "recorded_at": "2026-12-11T03:00:00Z"})


def test_c1_v6_a_reserved_opinion_after_the_decision_goes_on_the_link_in_any_order(service, amqp_uri):
    org = "org-v6"
    secretary = actor("y1", org, "secretary")
    decided = result_decided(org)
    decision_id = decided["data"]["decision_id"]
    late = opinion_recorded(org, decision_id, "y2", "对分期安排保留意见")
    # the opinion arrives before the decision is linked: kept waiting, applied once linked
    publish(amqp_uri, late)
    time.sleep(0.5)
    publish(amqp_uri, decided, late)                           # and a redelivery
    publish(amqp_uri, opinion_recorded(org, decision_id, "y4", "不同的文字"))   # y4 already has one: kept

    def applied():
        try:
            links = {l["person_id"]: l for l in service.decision_links(secretary, decision_id)["links"]}
        except NotFound:
            return None
        return links if links["y2"]["reserved_opinion"] else None
    links = wait_for(applied, timeout=20)
    assert links["y2"]["reserved_opinion"] == "对分期安排保留意见"
    time.sleep(1)
    links = {l["person_id"]: l for l in service.decision_links(secretary, decision_id)["links"]}
    assert links["y4"]["reserved_opinion"] == "建议分期实施"                 # never rewritten (C2)
    assert links["y1"]["reserved_opinion"] is None
    assert links["y2"]["stance"] == "yes"                                      # the vote stays as cast
