"""Issue 16, meetings side, over real RabbitMQ RPC on SQLite and PostgreSQL: legitimate calls in an
order nobody tested never reach a state the rules forbid.  Each refusal is checked to change nothing."""
import datetime as dt

import eventlet
import pytest

from services.accountability.service import AccountabilityService
from services.meetings.service import MeetingsService
from shared import clock
from shared.errors import Conflict, Forbidden, NotFound, RuleViolation, ServiceUnavailable, ValidationFailed
from tests.integration.test_meetings_rules_rpc import events, meeting, staff, team, until_meeting
from tests.support.asyncapi import validate_event
from tests.support.meetings import VotingStandIn, control_clock
from tests.support.roster import ADMIN, actor

pytestmark = pytest.mark.integration
DISCIPLINE = "discipline"


@pytest.fixture(autouse=True)
def controlled_clock(monkeypatch, tmp_path):
    control_clock(monkeypatch, tmp_path)
    VotingStandIn.open, VotingStandIn.asked = {}, []


@pytest.fixture
def env(container_factory, rpc_client, database_url):
    import sqlalchemy as sa

    from shared.db import normalize_url
    container_factory(MeetingsService, database_url=database_url).start()
    container_factory(VotingStandIn).start()
    engine = sa.create_engine(normalize_url(database_url), poolclass=sa.pool.NullPool)
    yield rpc_client().meetings, engine
    engine.dispose()


def documented(engine, event_type):
    """Every stored event of a type, checked against docs/asyncapi.yaml -> their data."""
    import json

    import sqlalchemy as sa
    with engine.connect() as conn:
        bodies = conn.execute(sa.text("SELECT body FROM outbox WHERE event_type = :t ORDER BY id"),
                              {"t": event_type}).scalars().all()
    for body in bodies:
        validate_event("meetings.events", event_type, json.loads(body))
    return [json.loads(body)["data"] for body in bodies]


def noticed_meeting(meetings, p, org_id, topics=(("议题", "work_plan"),), hours=72):
    mid = meeting(meetings, p[0], org_id, hours=hours)
    tids = [meetings.add_topic(p[0], mid, {"title": t, "category": c})["topic_id"] for t, c in topics]
    meetings.notice_meeting(p[0], mid)
    return mid, tids


# ---------------------------------------------------------------- defect 1 (M5)

def test_m5_a_regular_meeting_noticed_now_for_72_hours_ahead_does_not_open_now(env):
    meetings, engine = env
    org_id, ids, p = team(meetings)
    mid, _ = noticed_meeting(meetings, p, org_id)
    with pytest.raises(RuleViolation) as err:
        meetings.open_meeting(p[0], mid, {"present": ids})
    assert (err.value.rule, err.value.field) == ("M5", "meeting_id")
    view = meetings.get_meeting(p[0], mid)
    assert view["status"] == "noticed" and view["attendance"] == [] and events(engine, "meeting_opened") == []
    # the objection window is still open, as the notice promised
    meetings.raise_objection(p[3], mid, {"text": "请补充材料"})
    clock.advance(dt.timedelta(hours=72) - dt.timedelta(minutes=31))
    with pytest.raises(RuleViolation):
        meetings.open_meeting(p[0], mid, {"present": ids})
    clock.advance(dt.timedelta(minutes=1, seconds=1))          # 30 min before: the default tolerance
    assert meetings.open_meeting(p[0], mid, {"present": ids})["status"] == "opened"


def test_m5_moving_a_noticed_meeting_earlier_needs_a_new_48_hour_notice(env):
    meetings, _ = env
    org_id, ids, p = team(meetings)
    mid, _ = noticed_meeting(meetings, p, org_id, hours=72)
    soon = (clock.now() + dt.timedelta(hours=2)).isoformat()
    moved = meetings.reschedule_meeting(p[0], mid, {"scheduled_at": soon, "reason": "提前"})
    assert moved["status"] == "draft" and moved["noticed_at"] is None
    with pytest.raises(RuleViolation) as err:
        meetings.notice_meeting(p[0], mid)
    assert err.value.rule == "M5"
    clock.advance(dt.timedelta(hours=2))
    with pytest.raises(RuleViolation) as err:
        meetings.open_meeting(p[0], mid, {"present": ids})
    assert err.value.rule == "M5" and meetings.get_meeting(p[0], mid)["status"] == "draft"


# ---------------------------------------------------------------- defect 9 (M9, data loss)

def test_m9_approved_leave_opinions_survive_an_empty_leave_entry_at_opening(env):
    meetings, _ = env
    org_id, ids, p = team(meetings, 6)
    mid = meeting(meetings, p[0], org_id)
    t1 = meetings.add_topic(p[0], mid, {"title": "议题一", "category": "work_plan"})["topic_id"]
    t2 = meetings.add_topic(p[0], mid, {"title": "议题二", "category": "other"})["topic_id"]
    leave = meetings.request_leave(p[5], mid, {"reason": "出差", "opinions": {t1: "同意", t2: "反对"}})
    meetings.decide_leave(p[0], leave["leave_id"], {"approve": True})
    meetings.notice_meeting(p[0], mid)
    until_meeting(meetings, p[0], mid)
    view = meetings.open_meeting(p[0], mid, {"present": ids[:5], "leave": [{"person_id": ids[5]}]})
    row = {a["person_id"]: a for a in view["attendance"]}[ids[5]]
    assert (row["status"], row["written_opinions"]) == ("leave", {t1: "同意", t2: "反对"})
    snap = meetings.attendance_snapshot(p[0], mid, t2)
    assert {m["person_id"]: m["written_opinion"] for m in snap["members"]}[ids[5]] == "反对"


# ---------------------------------------------------------------- defect 7 (M3)

def test_m3_a_deputy_suggests_unless_chairing_that_meeting_by_delegation(env):
    meetings, engine = env
    org_id, ids, p = team(meetings)
    mid = meeting(meetings, p[0], org_id)                      # the secretary chairs
    for call in (lambda: meetings.add_topic(p[1], mid, {"title": "副书记议题", "category": "work_plan"}),
                 lambda: meetings.propose_topic(p[1], None, {"title": "副书记议题", "category": "work_plan"}),
                 lambda: meetings.propose_topic(p[3], mid, {"title": "委员议题", "category": "work_plan"})):
        with pytest.raises(Forbidden) as err:
            call()
        assert err.value.rule == "M3"
    pooled = meetings.propose_topic(p[0], None, {"title": "书记议题", "category": "work_plan"})
    with pytest.raises(Forbidden):
        meetings.schedule_topic(p[1], pooled["topic_id"], mid)
    suggested = meetings.suggest_topic(p[1], mid, {"title": "副书记建议", "category": "work_plan"})
    with pytest.raises(Forbidden):
        meetings.decide_topic(p[1], suggested["topic_id"], {"accept": True})
    assert meetings.get_meeting(p[0], mid)["topics"] == []
    assert [e["topic_id"] for e in events(engine, "topic_accepted")] == [pooled["topic_id"]]
    # the deputy chairing by recorded delegation decides that meeting's agenda
    delegated = meeting(meetings, p[0], org_id, delegate_to=ids[1])
    meetings.add_topic(p[1], delegated, {"title": "受托议题", "category": "work_plan"})
    meetings.decide_topic(p[1], suggested["topic_id"], {"accept": True, "meeting_id": delegated})
    meetings.schedule_topic(p[1], pooled["topic_id"], delegated)
    assert [t["title"] for t in meetings.get_meeting(p[1], delegated)["topics"]] == ["受托议题", "副书记建议", "书记议题"]


# ---------------------------------------------------------------- defect 4 (§二, M1, M8)

def test_terms_end_a_successor_secretary_follows_and_n_counts_the_terms_covering_the_day(env):
    meetings, engine = env
    org_id, ids, p = team(meetings, 7)                         # N = 7
    terms = {a["person_id"]: a for a in meetings.list_appointments(ADMIN, org_id)["items"]}
    today = dt.date.fromisoformat(meetings.list_members(p[0], org_id)["on"])
    successor = meetings.register_person(ADMIN, {"name": "新书记"})["person_id"]
    with pytest.raises(Conflict):                              # the current secretary is still in office
        meetings.appoint(ADMIN, {"org_id": org_id, "person_id": successor, "role": "secretary",
                                 "start_date": (today + dt.timedelta(days=1)).isoformat()})
    with pytest.raises(Forbidden):
        meetings.end_term(p[0], terms[ids[6]]["appointment_id"], {"end_date": today.isoformat(), "reason": "removal"})
    ended = meetings.end_term(ADMIN, terms[ids[6]]["appointment_id"],
                              {"end_date": today.isoformat(), "reason": "transfer"})
    assert (ended["end_date"], ended["end_reason"]) == (today.isoformat(), "transfer")
    with pytest.raises(Conflict):
        meetings.end_term(ADMIN, terms[ids[6]]["appointment_id"], {"end_date": today.isoformat(), "reason": "removal"})
    meetings.end_term(ADMIN, terms[ids[0]]["appointment_id"], {"end_date": today.isoformat(), "reason": "retirement"})
    meetings.appoint(ADMIN, {"org_id": org_id, "person_id": successor, "role": "secretary",
                             "start_date": (today + dt.timedelta(days=1)).isoformat()})
    tomorrow = (today + dt.timedelta(days=1)).isoformat()
    assert meetings.list_members(p[0], org_id, today.isoformat())["n"] == 7
    after = meetings.list_members(p[0], org_id, tomorrow)
    assert after["n"] == 6 and after["quorum"] == 4 and ids[6] not in {m["person_id"] for m in after["members"]}
    assert {m["person_id"]: m["role"] for m in after["members"]}[successor] == "secretary"
    # terms are kept for life
    kept = meetings.list_appointments(ADMIN, org_id, ids[6])["items"]
    assert [(a["role"], a["end_reason"]) for a in kept] == [("member", "transfer")]
    changes = documented(engine, "membership_changed")
    assert {(e["person_id"], e.get("end_reason")) for e in changes} >= {(ids[6], "transfer"), (ids[0], "retirement")}
    # a meeting after the transfer counts N = 6: the removed member neither counts nor attends
    new_sec = actor(successor, org_id, "secretary")
    mid = meeting(meetings, new_sec, org_id, hours=72)
    meetings.add_topic(new_sec, mid, {"title": "议题", "category": "work_plan"})
    meetings.notice_meeting(new_sec, mid)
    until_meeting(meetings, new_sec, mid)
    with pytest.raises(RuleViolation) as err:
        meetings.open_meeting(new_sec, mid, {"present": [successor] + ids[1:4] + [ids[6]]})
    assert err.value.field == "present"
    view = meetings.open_meeting(new_sec, mid, {"present": [successor] + ids[1:4]})
    assert (view["n"], view["quorum"]) == (6, 4)


# ---------------------------------------------------------------- defect 3 (M4, M6) and the C7 alert

def test_m6_the_emergency_route_is_no_loophole(env):
    meetings, engine = env
    org_id, ids, p = team(meetings)
    body = {"org_id": org_id, "kind": "emergency", "title": "紧急会议",
            "scheduled_at": (clock.now() + dt.timedelta(hours=1)).isoformat()}
    with pytest.raises(ValidationFailed) as err:
        meetings.schedule_meeting(p[0], body)
    assert (err.value.field, err.value.rule) == ("emergency_reason", "M6")
    assert events(engine, "meeting_scheduled") == []
    mid = meetings.schedule_meeting(p[0], dict(body, emergency_reason="防汛险情"))["meeting_id"]
    assert meetings.get_meeting(p[0], mid)["emergency_reason"] == "防汛险情"
    for category in ("personnel", "major_decision"):
        with pytest.raises(RuleViolation) as err:              # not even on a draft emergency meeting
            meetings.add_topic(p[0], mid, {"title": "任免", "category": category,
                                           "candidate_person_ids": [ids[4]] if category == "personnel" else []})
        assert err.value.rule == "M4"
    personnel = meetings.propose_topic(p[0], None, {"title": "任免", "category": "personnel",
                                                    "candidate_person_ids": [ids[4]]})
    with pytest.raises(RuleViolation):
        meetings.schedule_topic(p[0], personnel["topic_id"], mid)
    meetings.add_topic(p[0], mid, {"title": "抢险", "category": "work_plan"})
    assert [t["category"] for t in meetings.get_meeting(p[0], mid)["topics"]] == ["work_plan"]
    meetings.open_meeting(p[0], mid, {"present": ids})
    [opened] = documented(engine, "meeting_opened")
    assert (opened["kind"], opened["emergency_reason"]) == ("emergency", "防汛险情")


def test_c7_each_emergency_meeting_opened_reaches_the_discipline_inspector(container_factory, rpc_client):
    container_factory(MeetingsService).start()
    container_factory(AccountabilityService).start()
    rpc = rpc_client()
    org_id, ids, p = team(rpc.meetings)
    inspector = staff(rpc.meetings, org_id, DISCIPLINE)
    mid = meeting(rpc.meetings, p[0], org_id, kind="emergency", hours=1)
    rpc.meetings.add_topic(p[0], mid, {"title": "抢险", "category": "work_plan"})
    rpc.meetings.open_meeting(p[0], mid, {"present": ids})
    deadline = eventlet.Timeout(20)
    try:
        while True:
            items = rpc.accountability.list_alerts(inspector, org_id)["items"]
            if items:
                break
            eventlet.sleep(0.2)
    finally:
        deadline.cancel()
    [alert] = items
    assert (alert["rule"], alert["subject_type"], alert["subject_id"]) == ("M6", "meeting", mid)
    assert "防汛险情" in alert["message"]


# ---------------------------------------------------------------- contracts with voting (V1, V4, V5)

def test_v1_presence_now_and_v4_the_items_candidate(env):
    meetings, _ = env
    org_id, ids, p = team(meetings, 6)
    mid = meeting(meetings, p[0], org_id)
    tid = meetings.add_topic(p[0], mid, {"title": "议题", "category": "work_plan"})["topic_id"]
    person_tid = meetings.add_topic(p[0], mid, {"title": "任命", "category": "personnel",
                                                "candidate_person_ids": [ids[5]]})["topic_id"]
    leave = meetings.request_leave(p[4], mid, {"reason": "病假", "opinions": {tid: "同意"}})
    meetings.decide_leave(p[0], leave["leave_id"], {"approve": True})
    assert meetings.presence_now(p[0], mid, ids[2]) == {"meeting_id": mid, "meeting_status": "draft",
                                                         "presence": None}
    meetings.notice_meeting(p[0], mid)
    until_meeting(meetings, p[0], mid)
    meetings.open_meeting(p[0], mid, {"present": ids[:4] + [ids[5]]})
    meetings.record_departure(p[0], mid, ids[3])
    now = {pid: meetings.presence_now(p[0], mid, pid)["presence"] for pid in ids + ["stranger"]}
    assert now == {ids[0]: "present", ids[1]: "present", ids[2]: "present", ids[3]: "absent", ids[4]: "leave",
                   ids[5]: "present", "stranger": None}
    assert meetings.presence_now(p[0], mid, ids[0])["meeting_status"] == "opened"
    assert meetings.attendance_snapshot(p[0], mid, person_tid)["topic"]["candidate_person_id"] == ids[5]
    assert meetings.attendance_snapshot(p[0], mid, tid)["topic"]["candidate_person_id"] is None
    _, _, q = team(meetings, 3)
    with pytest.raises(NotFound):                               # another organization's meeting is not revealed
        meetings.presence_now(q[0], mid, ids[0])


def test_v1_a_meeting_with_open_ballots_does_not_close(env):
    meetings, engine = env
    org_id, ids, p = team(meetings)
    mid = meeting(meetings, p[0], org_id, kind="emergency", hours=1)
    meetings.add_topic(p[0], mid, {"title": "抢险", "category": "work_plan"})
    meetings.open_meeting(p[0], mid, {"present": ids})
    VotingStandIn.open = {mid: ["b1", "b2"]}
    with pytest.raises(RuleViolation) as err:
        meetings.close_meeting(p[0], mid)
    assert (err.value.rule, err.value.field) == ("V1", "meeting_id") and "2 ballots" in err.value.message
    assert meetings.get_meeting(p[0], mid)["status"] == "opened" and events(engine, "meeting_closed") == []
    assert VotingStandIn.asked == [(ids[0], mid)]
    VotingStandIn.open = {}
    assert meetings.close_meeting(p[0], mid)["status"] == "closed"


def test_v1_voting_unreachable_the_meeting_stays_open(container_factory, rpc_client):
    container_factory(MeetingsService).start()                  # no voting service at all
    meetings = rpc_client().meetings
    org_id, ids, p = team(meetings)
    mid = meeting(meetings, p[0], org_id, kind="emergency", hours=1)
    meetings.add_topic(p[0], mid, {"title": "抢险", "category": "work_plan"})
    meetings.open_meeting(p[0], mid, {"present": ids})
    with pytest.raises(ServiceUnavailable) as err:
        meetings.close_meeting(p[0], mid)
    assert err.value.rule == "V1"
    assert meetings.get_meeting(p[0], mid)["status"] == "opened"


def test_v5_a_topic_left_undecided_is_deferred_to_a_later_meeting(env):
    meetings, engine = env
    org_id, ids, p = team(meetings)
    first = meeting(meetings, p[0], org_id, kind="emergency", hours=1)
    tid = meetings.add_topic(p[0], first, {"title": "待议", "category": "work_plan"})["topic_id"]
    later = meeting(meetings, p[0], org_id, hours=96)
    with pytest.raises(Conflict):                               # still on the first meeting's agenda
        meetings.schedule_topic(p[0], tid, later)
    meetings.open_meeting(p[0], first, {"present": ids})
    with pytest.raises(Conflict):
        meetings.schedule_topic(p[0], tid, later)
    meetings.close_meeting(p[0], first)
    moved = meetings.schedule_topic(p[0], tid, later)
    assert moved["meeting_id"] == later
    history = meetings.meeting_history(p[0], first)["events"]
    assert history[-1]["action"] == "topic_deferred" and history[-1]["data"] == {"topic_id": tid,
                                                                                 "to_meeting_id": later}
