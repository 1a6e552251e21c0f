"""No command runs twice: a command sent again under its idempotency key (the gateway's
``Idempotency-Key``, carried in the worker context) is answered its first result, on
SQLite and PostgreSQL, over the real broker.

Found by a crash test: 40 concurrent schedules with meetings SIGKILLed and restarted
answered 201 120 times but left 124 meetings, and a close that had committed before the
kill ran again after the restart and answered 409 — the client never learned its decision.
"""
import datetime as dt
import logging

import eventlet
import pytest
import sqlalchemy as sa
from nameko.standalone.rpc import ClusterRpcProxy

from services.meetings.service import MeetingsService
from shared.db import make_engine
from shared.errors import Conflict
from shared.nameko_ext import IDEMPOTENCY_KEY
from tests.integration.test_rpc_broker_outage import gated, stop_through, wait_for
from tests.support.meetings import VotingStandIn
from tests.support.probe_service import ProbeService
from tests.support.roster import actor, build_org

pytestmark = pytest.mark.integration


@pytest.fixture
def keyed_client(amqp_uri):
    """An RPC client whose calls carry an idempotency key, as the gateway's do."""
    proxies = []

    def make(key, timeout=15):
        proxy = ClusterRpcProxy({"AMQP_URI": amqp_uri}, context_data={IDEMPOTENCY_KEY: key}, timeout=timeout)
        proxies.append(proxy)
        return proxy.start()

    yield make
    for p in proxies:
        p.stop()


def soon(minutes=30):
    return (dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=minutes)).isoformat()


def meeting_count(rpc, sec, org_id):
    return len(rpc.meetings.list_meetings(sec, org_id)["items"])


def test_a_schedule_sent_again_under_its_key_makes_one_meeting_and_answers_the_first(
        container_factory, rpc_client, keyed_client, database_url):
    container_factory(MeetingsService, database_url=database_url).start()
    rpc = rpc_client()
    org_id, ids = build_org(rpc.meetings, 5)
    sec = actor(ids[0], org_id, "secretary")
    body = {"org_id": org_id, "kind": "regular", "title": "第一次党组会", "scheduled_at": soon()}
    first = keyed_client("schedule-1").meetings.schedule_meeting(sec, body)
    # the answer was lost on the way: the client (or the gateway) sends the same request again
    again = keyed_client("schedule-1").meetings.schedule_meeting(sec, body)
    assert again == first
    assert meeting_count(rpc, sec, org_id) == 1
    # a new key is a new command
    other = keyed_client("schedule-2").meetings.schedule_meeting(sec, body)
    assert other["meeting_id"] != first["meeting_id"]
    assert meeting_count(rpc, sec, org_id) == 2


def test_a_close_committed_before_a_kill_answers_its_decision_after_the_restart(
        container_factory, rpc_client, keyed_client, database_url):
    first_run = container_factory(MeetingsService, database_url=database_url)
    first_run.start()
    VotingStandIn.open, VotingStandIn.asked = {}, []
    container_factory(VotingStandIn).start()          # V1: asked before the close; no ballot is open
    rpc = rpc_client()
    org_id, ids = build_org(rpc.meetings, 5)
    sec = actor(ids[0], org_id, "secretary")
    meeting = rpc.meetings.schedule_meeting(sec, {"org_id": org_id, "kind": "emergency", "title": "会",
                                                  "emergency_reason": "防汛险情", "scheduled_at": soon(5)})
    mid = meeting["meeting_id"]
    rpc.meetings.add_topic(sec, mid, {"title": "议题", "category": "work_plan"})
    rpc.meetings.open_meeting(sec, mid, {"present": ids})
    closed = keyed_client("close-1").meetings.close_meeting(sec, mid)
    assert closed["status"] == "closed"
    # the service is killed before its answer reached the client, and started again
    first_run.kill()
    container_factory(MeetingsService, database_url=database_url).start()
    retried = keyed_client("close-1").meetings.close_meeting(sec, mid)
    assert retried == closed                  # the decision, not "already closed" (409)
    history = rpc.meetings.meeting_history(sec, mid)["events"]
    assert len([h for h in history if h["action"] == "closed"]) == 1
    # without the key the same close is refused, as it always was (M1 lifecycle)
    with pytest.raises(Conflict):
        rpc.meetings.close_meeting(sec, mid)


def test_a_key_used_again_for_another_request_is_refused_and_writes_nothing(
        container_factory, rpc_client, keyed_client, database_url):
    container_factory(MeetingsService, database_url=database_url).start()
    rpc = rpc_client()
    org_id, ids = build_org(rpc.meetings, 5)
    sec = actor(ids[0], org_id, "secretary")
    keyed = keyed_client("reused")
    keyed.meetings.schedule_meeting(sec, {"org_id": org_id, "kind": "regular", "title": "一",
                                          "scheduled_at": soon()})
    with pytest.raises(Conflict) as err:
        keyed.meetings.schedule_meeting(sec, {"org_id": org_id, "kind": "regular", "title": "二",
                                              "scheduled_at": soon()})
    assert err.value.field == "Idempotency-Key" and "different request" in err.value.message
    assert [m["title"] for m in rpc.meetings.list_meetings(sec, org_id)["items"]] == ["一"]


def test_the_same_key_from_another_caller_is_another_command(container_factory, rpc_client, keyed_client,
                                                             database_url):
    container_factory(MeetingsService, database_url=database_url).start()
    rpc = rpc_client()
    org_id, ids = build_org(rpc.meetings, 5)
    sec = actor(ids[0], org_id, "secretary")
    deputy, member = actor(ids[1], org_id, "deputy_secretary"), actor(ids[2], org_id, "member")
    mid = rpc.meetings.schedule_meeting(sec, {"org_id": org_id, "kind": "regular", "title": "会",
                                              "scheduled_at": soon()})["meeting_id"]
    keyed = keyed_client("shared-key")
    topic = {"title": "议题", "category": "work_plan"}
    one = keyed.meetings.suggest_topic(deputy, mid, topic)       # M3: members suggest topics
    two = keyed.meetings.suggest_topic(member, mid, topic)
    assert one["topic_id"] != two["topic_id"]
    assert {one["proposed_by"], two["proposed_by"]} == {ids[1], ids[2]}
    suggested = rpc.meetings.list_topics(sec, org_id, "suggested")["topics"]
    assert sorted(t["topic_id"] for t in suggested) == sorted([one["topic_id"], two["topic_id"]])


def test_a_keyed_command_whose_reply_was_lost_in_an_outage_is_answered_its_result(
        container_factory, keyed_client, rpc_client, amqp_uri, database_url, caplog):
    # committed, then the broker goes away before the reply: the request comes back and is
    # answered the first result (before: "carried out once already", a 409 with no answer)
    gate, gated_uri = gated(amqp_uri)
    container = container_factory(ProbeService, database_url=database_url, AMQP_URI=gated_uri)
    container.start()
    caplog.set_level(logging.WARNING, logger="shared.nameko_ext")
    client = keyed_client("outage-1", timeout=60)
    plain = rpc_client(timeout=4)
    engine = make_engine(database_url)
    try:
        reply = client.probe.make_thing_then_wait.call_async("once", 1.0)
        eventlet.sleep(0.5)                       # the worker runs
        gate.close()
        assert wait_for(lambda: "not sent, the broker is unreachable" in caplog.text, timeout=30), caplog.text
        gate.open()
        assert reply.result() == "once"
        assert [e for e in plain.probe.effects() if e[1] == "once"] == [["local", "once"]]
        with engine.connect() as conn:
            keys = conn.execute(sa.text("SELECT count(*) FROM inbox WHERE handler = 'rpc.idempotency'")).scalar_one()
        assert keys == 1
    finally:
        engine.dispose()
        stop_through(gate, container)


def test_a_keyed_command_killed_before_its_answer_leaves_nothing_and_runs_once_when_sent_again(
        container_factory, keyed_client, rpc_client, database_url):
    # the effect and the key commit together once the answer is known: a kill while the
    # command runs leaves nothing half-done, and the repeat carries it out exactly once
    first_run = container_factory(ProbeService, database_url=database_url)
    first_run.start()
    plain = rpc_client(timeout=10)
    client = keyed_client("killed-1", timeout=3)
    client.probe.make_thing_then_wait.call_async("killed", 2.0)
    eventlet.sleep(0.7)
    first_run.kill()
    second_run = container_factory(ProbeService, database_url=database_url)
    second_run.start()
    # the broker hands the request to the restarted service; the client sends it again too
    assert keyed_client("killed-1", timeout=15).probe.make_thing_then_wait("killed", 2.0) == "killed"
    assert keyed_client("killed-1", timeout=15).probe.make_thing_then_wait("killed", 2.0) == "killed"
    assert [e for e in plain.probe.effects() if e[1] == "killed"] == [["local", "killed"]]
