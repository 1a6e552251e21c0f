"""Meeting rules M1–M11 over real RabbitMQ RPC, on SQLite and PostgreSQL.

Each refused action is checked to have changed nothing (state read back after it).
"""
import base64
import datetime as dt
import hashlib
import json

import eventlet
import pytest
import sqlalchemy as sa

from services.meetings.service import MeetingsService
from shared import clock
from shared.db import normalize_url
from shared.errors import Conflict, Forbidden, NotFound, RuleViolation, ValidationFailed
from tests.support.meetings import VotingStandIn, control_clock
from tests.support.roster import ADMIN, actor, build_org

pytestmark = pytest.mark.integration
UTC = dt.timezone.utc
SYSTEM = {"person_id": "system", "org_id": None, "roles": ["system"]}


def now():
    return clock.now()       # the service's clock: tests move it forward (M5: a meeting opens at its time)


def at(**delta):
    return (now() + dt.timedelta(**delta)).isoformat()


@pytest.fixture(autouse=True)
def controlled_clock(monkeypatch, tmp_path):
    control_clock(monkeypatch, tmp_path)
    VotingStandIn.open, VotingStandIn.asked = {}, []


@pytest.fixture
def env(container_factory, rpc_client, database_url):
    container = container_factory(MeetingsService, database_url=database_url)
    container.start()
    container_factory(VotingStandIn).start()      # V1: meetings asks voting before closing
    engine = sa.create_engine(normalize_url(database_url), poolclass=sa.pool.NullPool)
    yield rpc_client().meetings, engine
    engine.dispose()


@pytest.fixture
def svc(container_factory, rpc_client):
    """The service on its default embedded database (tests that read no table)."""
    container_factory(MeetingsService).start()
    container_factory(VotingStandIn).start()
    return rpc_client().meetings


def events(engine, event_type):
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT body FROM outbox WHERE event_type = :t ORDER BY id"),
                            {"t": event_type}).scalars().all()
    return [json.loads(body)["data"] for body in rows]


def roles_of(i):
    return "secretary" if i == 0 else "deputy_secretary" if i == 1 else "member"


def team(meetings, n=5, **kw):
    org_id, ids = build_org(meetings, n, **kw)
    people = {i: actor(pid, org_id, roles_of(i)) for i, pid in enumerate(ids)}
    return org_id, ids, people


def staff(meetings, org_id, role, start=dt.date(2020, 1, 1)):
    person = meetings.register_person(ADMIN, {"name": role})
    meetings.appoint(ADMIN, {"org_id": org_id, "person_id": person["person_id"], "role": role,
                             "start_date": start.isoformat()})
    return actor(person["person_id"], org_id, role)


def meeting(meetings, sec, org_id, kind="regular", hours=72, **extra):
    body = {"org_id": org_id, "kind": kind, "title": "党组会议", "scheduled_at": at(hours=hours)}
    if kind == "emergency":
        body["emergency_reason"] = "防汛险情，来不及提前通知"      # M6
    body.update(extra)
    return meetings.schedule_meeting(sec, body)["meeting_id"]


def until_meeting(meetings, who, mid):
    """Move the clock to the meeting's noticed time (M5: it opens then, not before)."""
    when = dt.datetime.fromisoformat(meetings.get_meeting(who, mid)["scheduled_at"].replace("Z", "+00:00"))
    if when > now():
        clock.advance(when - now())


def opened(meetings, people, ids, org_id, kind="emergency", present=None, topics=("work_plan",)):
    sec = people[0]
    mid = meeting(meetings, sec, org_id, kind=kind, hours=1 if kind == "emergency" else 72)
    tids = [meetings.add_topic(sec, mid, {"title": f"议题{i}", "category": c})["topic_id"]
            for i, c in enumerate(topics)]
    if kind != "emergency":
        meetings.notice_meeting(sec, mid)
        until_meeting(meetings, sec, mid)           # M5: held at its noticed time
    meetings.open_meeting(sec, mid, {"present": list(present if present is not None else ids)})
    return mid, tids


# ---------------------------------------------------------------- M3 topics

def test_m3_member_suggests_secretary_accepts_or_rejects_with_reason(env):
    meetings, engine = env
    org_id, ids, p = team(meetings)
    mid = meeting(meetings, p[0], org_id)
    suggested = meetings.suggest_topic(p[3], mid, {"title": "老旧小区改造", "category": "work_plan"})
    assert suggested["status"] == "suggested" and suggested["prepared_by"] == "office"
    # a suggestion is not on the agenda until accepted
    assert meetings.get_meeting(p[0], mid)["topics"] == []
    # only the secretary decides; a deputy is refused and nothing changes
    with pytest.raises(Forbidden) as err:
        meetings.decide_topic(p[1], suggested["topic_id"], {"accept": True})
    assert err.value.rule == "M3"
    # a rejection needs its reason
    with pytest.raises(ValidationFailed) as err:
        meetings.decide_topic(p[0], suggested["topic_id"], {"accept": False})
    assert err.value.rule == "M3" and err.value.field == "reason"
    assert meetings.get_topic(p[0], suggested["topic_id"])["status"] == "suggested"
    accepted = meetings.decide_topic(p[0], suggested["topic_id"], {"accept": True})
    assert accepted["status"] == "accepted" and accepted["meeting_id"] == mid and accepted["position"] == 1
    assert [t["topic_id"] for t in meetings.get_meeting(p[0], mid)["topics"]] == [suggested["topic_id"]]

    other = meetings.suggest_topic(p[4], None, {"title": "团建", "category": "other"})
    rejected = meetings.decide_topic(p[0], other["topic_id"], {"accept": False, "reason": "不属于党组议事范围"})
    assert rejected["status"] == "rejected" and rejected["decision_reason"] == "不属于党组议事范围"
    with pytest.raises(Conflict):
        meetings.decide_topic(p[0], other["topic_id"], {"accept": True})
    # staff may not suggest
    office = staff(meetings, org_id, "office")
    with pytest.raises(Forbidden) as err:
        meetings.suggest_topic(office, None, {"title": "x", "category": "other"})
    assert err.value.rule == "M3"
    assert [t["topic_id"] for t in meetings.list_topics(p[0], org_id, "suggested")["topics"]] == []

    assert [e["topic_id"] for e in events(engine, "topic_submitted")] == [suggested["topic_id"], other["topic_id"]]
    assert events(engine, "topic_rejected") == [{
        "topic_id": other["topic_id"], "title": "团建", "category": "other", "rejected_by": p[0]["person_id"],
        "reason": "不属于党组议事范围"}]
    assert events(engine, "topic_accepted")[-1]["meeting_id"] == mid


def test_m3_major_topic_needs_precoordination_before_scheduling_and_preparation_before_notice(env):
    meetings, engine = env
    org_id, ids, p = team(meetings)
    office = staff(meetings, org_id, "office")
    mid = meeting(meetings, p[0], org_id)
    topic = meetings.propose_topic(p[0], None, {"title": "安置房项目", "category": "major_decision",
                                                "subordinate_org": "房产服务中心"})
    assert topic["status"] == "accepted" and topic["meeting_id"] is None
    with pytest.raises(RuleViolation) as err:
        meetings.schedule_topic(p[0], topic["topic_id"], mid)
    assert err.value.rule == "M3" and "pre-coordination" in err.value.message
    assert meetings.get_meeting(p[0], mid)["topics"] == []
    with pytest.raises(RuleViolation) as err:   # the leader in charge is a group member
        meetings.record_precoordination(office, topic["topic_id"], {
            "leader_person_id": office["person_id"], "with_whom": ["财务处"], "outcome": "一致"})
    assert err.value.rule == "M3"
    meetings.record_precoordination(p[2], topic["topic_id"], {
        "leader_person_id": ids[2], "with_whom": ["财务处", "法规处"], "outcome": "意见一致"})
    meetings.schedule_topic(p[0], topic["topic_id"], mid)
    # M3: no preparation record yet -> notice refused, meeting stays a draft
    with pytest.raises(RuleViolation) as err:
        meetings.notice_meeting(p[0], mid)
    assert err.value.rule == "M3" and "preparation" in err.value.message
    prep = {"research": "调研报告", "opinions_from": ["住建委", "街道"], "risk_assessment": "中等",
            "legal_review": "合法合规"}
    meetings.record_preparation(office, topic["topic_id"], prep)
    # it touches a subordinate organization: that organization's opinion is required too
    with pytest.raises(RuleViolation) as err:
        meetings.notice_meeting(p[0], mid)
    assert err.value.rule == "M3" and err.value.field == "preparation.subordinate_opinion"
    assert meetings.get_meeting(p[0], mid)["status"] == "draft"
    meetings.record_preparation(office, topic["topic_id"], dict(prep, subordinate_opinion="同意"))
    assert meetings.notice_meeting(p[0], mid)["status"] == "noticed"
    # after notice the records are frozen (M5)
    with pytest.raises(RuleViolation) as err:
        meetings.record_preparation(office, topic["topic_id"], prep)
    assert err.value.rule == "M5"
    assert meetings.get_topic(p[0], topic["topic_id"])["preparation"]["subordinate_opinion"] == "同意"
    # A1: each record written reached the archive's feed once, in order; the refused ones did not
    told = events(engine, "topic_preparation_recorded")
    assert [(e["topic_id"], e["part"], e["category"], e["recorded_by"]) for e in told] == [
        (topic["topic_id"], "precoordination", "major_decision", p[2]["person_id"]),
        (topic["topic_id"], "preparation", "major_decision", office["person_id"]),
        (topic["topic_id"], "preparation", "major_decision", office["person_id"])]
    assert (told[0]["leader_person_id"], told[0]["with_whom"], told[0]["outcome"]) == (
        ids[2], ["财务处", "法规处"], "意见一致")
    assert {k: told[1][k] for k in prep} == prep and told[1]["subordinate_opinion"] is None
    assert told[2]["subordinate_opinion"] == "同意" and told[2]["title"] == "安置房项目"


def test_v4_personnel_topic_one_item_per_candidate_prepared_by_hr_with_materials(env):
    meetings, engine = env
    org_id, ids, p = team(meetings)
    office, hr = staff(meetings, org_id, "office"), staff(meetings, org_id, "hr")
    c1 = meetings.register_person(ADMIN, {"name": "候选人甲"})["person_id"]
    c2 = meetings.register_person(ADMIN, {"name": "候选人乙"})["person_id"]
    mid = meeting(meetings, p[0], org_id)
    with pytest.raises(RuleViolation) as err:
        meetings.add_topic(p[0], mid, {"title": "干部任免", "category": "personnel", "prepared_by": "office",
                                       "candidate_person_ids": [c1, c2]})
    assert err.value.rule == "M3"
    assert meetings.get_meeting(p[0], mid)["topics"] == []
    made = meetings.add_topic(p[0], mid, {"title": "干部任免", "category": "personnel",
                                          "candidate_person_ids": [c1, c2]})
    assert [(t["candidate_person_id"], t["position"], t["prepared_by"]) for t in made["topics"]] == [
        (c1, 1, "hr"), (c2, 2, "hr")]
    tid = made["topics"][0]["topic_id"]
    pdf = b"%PDF-1.4\n" + b"x" * 100
    body = {"filename": "考察材料.pdf", "content_type": "application/pdf",
            "content_base64": base64.b64encode(pdf).decode()}
    with pytest.raises(Forbidden) as err:   # personnel material is prepared by HR, not the office
        meetings.attach_material(office, tid, body)
    assert err.value.rule == "M3"
    with pytest.raises(ValidationFailed) as err:
        meetings.attach_material(hr, tid, dict(body, content_type="application/x-msdownload"))
    assert err.value.field == "content_type"
    with pytest.raises(ValidationFailed) as err:
        meetings.attach_material(hr, tid, dict(body, content_base64=base64.b64encode(b"not a pdf").decode()))
    assert err.value.field == "content_base64"
    big = b"%PDF" + b"\0" * (10 * 1024 * 1024)
    with pytest.raises(ValidationFailed) as err:
        meetings.attach_material(hr, tid, dict(body, content_base64=base64.b64encode(big).decode()))
    assert "10 MiB" in err.value.message
    assert meetings.get_topic(p[0], tid)["materials"] == []
    stored = meetings.attach_material(hr, tid, body)
    assert stored["sha256"] == hashlib.sha256(pdf).hexdigest() and stored["size"] == len(pdf)
    assert stored["prepared_as"] == "hr"
    back = meetings.get_material(p[3], stored["material_id"])
    assert base64.b64decode(back["content_base64"]) == pdf
    assert [m["material_id"] for m in meetings.get_topic(p[0], tid)["materials"]] == [stored["material_id"]]
    # A1: the archive is told the material's name, size and SHA-256 (not its content), once;
    # the refused attempts told it nothing
    (told,) = events(engine, "material_attached")
    assert (told["material_id"], told["topic_id"], told["category"], told["sha256"], told["size"]) == (
        stored["material_id"], tid, "personnel", hashlib.sha256(pdf).hexdigest(), len(pdf))
    assert told["filename"] == "考察材料.pdf" and "content_base64" not in told
    # §二: the staff who prepared it hold terms too, kept apart from the group's
    assert {e["role"] for e in events(engine, "staff_appointment_changed")} >= {"office", "hr"}
    assert not {e["role"] for e in events(engine, "membership_changed")} & {"office", "hr"}
    # only a personnel topic names candidates
    with pytest.raises(ValidationFailed) as err:
        meetings.add_topic(p[0], mid, {"title": "x", "category": "work_plan", "candidate_person_ids": [c1]})
    assert err.value.rule == "V4"


# ---------------------------------------------------------------- M4 ad-hoc topics, M5 notice and objections

def test_m4_emergency_meeting_takes_ad_hoc_topics_but_never_personnel_regular_never(svc):
    meetings = svc
    org_id, ids, p = team(meetings)
    mid, _ = opened(meetings, p, ids, org_id, kind="emergency")
    meetings.add_topic(p[0], mid, {"title": "抢险", "category": "work_plan"})
    for category in ("personnel", "major_decision"):
        with pytest.raises(RuleViolation) as err:
            meetings.add_topic(p[0], mid, {"title": "任免", "category": category})
        assert err.value.rule == "M4"
    assert [t["title"] for t in meetings.get_meeting(p[0], mid)["topics"]] == ["议题0", "抢险"]
    rid, _ = opened(meetings, p, ids, org_id, kind="regular")
    with pytest.raises(RuleViolation) as err:
        meetings.add_topic(p[0], rid, {"title": "临时动议", "category": "other"})
    assert err.value.rule == "M4"
    with pytest.raises(RuleViolation) as err:   # a suggestion for a noticed meeting is refused too
        meetings.suggest_topic(p[3], rid, {"title": "临时动议", "category": "other"})
    assert err.value.rule == "M4"
    assert [t["title"] for t in meetings.get_meeting(p[0], rid)["topics"]] == ["议题0"]


def test_m5_notice_refused_at_47h59m_and_given_at_48h_after_reschedule(env):
    meetings, engine = env
    org_id, ids, p = team(meetings)
    mid = meetings.schedule_meeting(p[0], {"org_id": org_id, "kind": "regular", "title": "例会",
                                           "scheduled_at": at(hours=47, minutes=59)})["meeting_id"]
    meetings.add_topic(p[0], mid, {"title": "议题", "category": "work_plan"})
    with pytest.raises(RuleViolation) as err:
        meetings.notice_meeting(p[0], mid)
    assert err.value.rule == "M5" and "48 hours" in err.value.message
    assert meetings.get_meeting(p[0], mid)["status"] == "draft" and events(engine, "meeting_noticed") == []
    moved = meetings.reschedule_meeting(p[0], mid, {"scheduled_at": at(hours=48, minutes=1), "reason": "补足通知期"})
    assert moved["status"] == "draft"
    assert meetings.notice_meeting(p[0], mid)["status"] == "noticed"
    # a noticed regular meeting moved to a new time needs a new notice
    moved = meetings.reschedule_meeting(p[0], mid, {"scheduled_at": at(hours=49), "reason": "时间冲突"})
    assert moved["status"] == "draft" and moved["noticed_at"] is None
    assert events(engine, "meeting_rescheduled")[-1]["needs_new_notice"] is True
    with pytest.raises(RuleViolation) as err:   # M5: cannot open without the new notice
        meetings.open_meeting(p[0], mid, {"present": ids})
    assert err.value.rule == "M5"


def test_m5_objection_refused_at_23h59m_and_accepted_at_24h(env):
    meetings, engine = env
    org_id, ids, p = team(meetings)
    late = meetings.schedule_meeting(p[0], {"org_id": org_id, "kind": "emergency", "title": "紧急",
                                            "scheduled_at": at(hours=23, minutes=59),
                                            "emergency_reason": "险情"})["meeting_id"]
    with pytest.raises(RuleViolation) as err:
        meetings.raise_objection(p[3], late, {"text": "资料不全"})
    assert err.value.rule == "M5" and "at least 24 hours" in err.value.message
    assert events(engine, "objection_raised") == []
    ok = meetings.schedule_meeting(p[0], {"org_id": org_id, "kind": "emergency", "title": "紧急",
                                          "scheduled_at": at(hours=24, minutes=1),
                                          "emergency_reason": "险情"})["meeting_id"]
    tid = meetings.add_topic(p[0], ok, {"title": "议题", "category": "work_plan"})["topic_id"]
    objection = meetings.raise_objection(p[3], ok, {"text": "建议推迟", "topic_id": tid})
    assert objection["person_id"] == ids[3] and objection["raised_at_local"].endswith("+08:00")
    office = staff(meetings, org_id, "office")
    with pytest.raises(Forbidden) as err:   # only group members object
        meetings.raise_objection(office, ok, {"text": "x"})
    assert err.value.rule == "M5"
    [event] = events(engine, "objection_raised")
    assert event["objection_id"] == objection["objection_id"] and event["topic_id"] == tid
    assert event["chair_person_id"] == ids[0]


def test_m5_the_chair_answers_an_objection_once_and_the_meeting_lists_it(env):
    """M5 §三(四): objections are raised with the meeting's chair; the chair (only) answers each
    once, accepted or not, with a reply, before the meeting is over; the meeting lists them."""
    meetings, engine = env
    org_id, ids, p = team(meetings)
    mid = meetings.schedule_meeting(p[0], {"org_id": org_id, "kind": "emergency", "title": "紧急",
                                           "scheduled_at": at(hours=30), "emergency_reason": "险情"})["meeting_id"]
    tid = meetings.add_topic(p[0], mid, {"title": "议题", "category": "work_plan"})["topic_id"]
    objection = meetings.raise_objection(p[3], mid, {"text": "建议推迟", "topic_id": tid})
    oid = objection["objection_id"]
    answer = {"disposition": "not_accepted", "reply": "情况紧急，按期研究"}
    for who in (p[1], p[3]):                 # the deputy and the objector are not the chair
        with pytest.raises(Forbidden) as err:
            meetings.dispose_objection(who, oid, answer)
        assert err.value.rule == "M5"
    with pytest.raises(ValidationFailed) as err:
        meetings.dispose_objection(p[0], oid, {"disposition": "maybe", "reply": "x"})
    assert err.value.field == "disposition"
    with pytest.raises(ValidationFailed) as err:
        meetings.dispose_objection(p[0], oid, {"disposition": "accepted", "reply": ""})
    assert err.value.field == "reply"
    other_org, _, q = team(meetings)
    with pytest.raises(NotFound) as err:       # another organization's chair: not found
        meetings.dispose_objection(q[0], oid, answer)
    assert err.value.field == "objection_id"
    assert events(engine, "objection_disposed") == []            # nothing written by the refusals
    done = meetings.dispose_objection(p[0], oid, answer)
    assert (done["disposition"], done["reply"], done["disposed_by"]) == ("not_accepted", "情况紧急，按期研究", ids[0])
    with pytest.raises(Conflict) as err:       # once
        meetings.dispose_objection(p[0], oid, {"disposition": "accepted", "reply": "改为采纳"})
    assert err.value.rule == "M5"
    listed = meetings.list_objections(p[4], mid)["objections"]
    assert [(o["objection_id"], o["text"], o["disposition"]) for o in listed] == [(oid, "建议推迟", "not_accepted")]
    [event] = events(engine, "objection_disposed")
    assert (event["objection_id"], event["person_id"], event["disposition"]) == (oid, ids[3], "not_accepted")
    assert [h["action"] for h in meetings.meeting_history(p[0], mid)["events"]].count("objection_disposed") == 1


# ---------------------------------------------------------------- M9 leave, M1 chair

def test_m9_leave_asked_in_advance_decided_by_chair_used_at_opening(env):
    meetings, engine = env
    org_id, ids, p = team(meetings, 6)
    mid = meeting(meetings, p[0], org_id, kind="emergency", hours=2)
    tid = meetings.add_topic(p[0], mid, {"title": "议题", "category": "work_plan"})["topic_id"]
    leave = meetings.request_leave(p[5], mid, {"reason": "出差", "opinions": {tid: "同意"}})
    assert leave["status"] == "requested"
    with pytest.raises(Conflict):
        meetings.request_leave(p[5], mid, {"reason": "出差"})
    with pytest.raises(ValidationFailed) as err:
        meetings.request_leave(p[4], mid, {"reason": "病假", "opinions": {"no-such-topic": "同意"}})
    assert err.value.rule == "M9"
    with pytest.raises(Forbidden) as err:   # not the chair
        meetings.decide_leave(p[1], leave["leave_id"], {"approve": True})
    assert err.value.rule == "M9"
    assert meetings.list_leave(p[0], mid)["leave"][0]["status"] == "requested"
    decided = meetings.decide_leave(p[0], leave["leave_id"], {"approve": True})
    assert decided["status"] == "approved" and decided["decided_by"] == ids[0]
    refused = meetings.request_leave(p[4], mid, {"reason": "私事"})
    meetings.decide_leave(p[0], refused["leave_id"], {"approve": False, "reason": "会议重要"})
    view = meetings.open_meeting(p[0], mid, {"present": ids[:4]})
    statuses = {a["person_id"]: (a["status"], a["written_opinions"]) for a in view["attendance"]}
    assert statuses[ids[5]] == ("leave", {tid: "同意"}) and statuses[ids[4]] == ("absent", None)
    snap = meetings.attendance_snapshot(p[0], mid, tid)
    assert {m["person_id"]: m["written_opinion"] for m in snap["members"]}[ids[5]] == "同意"
    with pytest.raises(RuleViolation):   # no longer in advance
        meetings.request_leave(p[3], mid, {"reason": "x"})
    assert [(e["person_id"], e["approved"]) for e in events(engine, "leave_decided")] == [
        (ids[5], True), (ids[4], False)]
    assert len(events(engine, "leave_requested")) == 2


def test_m1_secretary_absent_deputy_chairs_only_with_a_delegation(svc):
    meetings = svc
    org_id, ids, p = team(meetings, 6)
    # without a delegation the secretary chairs: the deputy cannot open the meeting in the secretary's absence
    plain = meeting(meetings, p[0], org_id, kind="emergency", hours=1)
    meetings.add_topic(p[0], plain, {"title": "议题", "category": "work_plan"})
    with pytest.raises(RuleViolation) as err:
        meetings.open_meeting(p[1], plain, {"present": ids[1:]})
    assert err.value.rule == "M1"
    assert meetings.get_meeting(p[1], plain)["status"] == "draft"
    # with a recorded delegation the deputy chairs and opens without the secretary
    delegated = meetings.schedule_meeting(p[0], {"org_id": org_id, "kind": "emergency", "title": "受托主持",
                                                 "scheduled_at": at(hours=1), "delegate_to": ids[1],
                                                 "emergency_reason": "险情"})
    assert delegated["chair_person_id"] == ids[1] and delegated["delegated_by"] == ids[0]
    meetings.add_topic(p[1], delegated["meeting_id"], {"title": "议题", "category": "work_plan"})
    view = meetings.open_meeting(p[1], delegated["meeting_id"], {"present": ids[1:]})
    assert view["status"] == "opened"
    assert {a["person_id"]: a["status"] for a in view["attendance"]}[ids[0]] == "absent"


# ---------------------------------------------------------------- M6 provisional handling

def test_m6_provisional_handling_becomes_a_mandatory_report_at_the_next_meeting(env):
    meetings, engine = env
    org_id, ids, p = team(meetings)
    first = meeting(meetings, p[0], org_id, hours=96)      # a draft meeting exists already
    handling = meetings.record_provisional_handling(p[3], {
        "org_id": org_id, "title": "暴雨抢险", "description": "调拨物资"})
    # M6: recorded, not yet approved: not on any agenda, no event
    assert handling["status"] == "awaiting_approval" and handling["approved_by"] is None
    assert handling["report_meeting_id"] is None and meetings.get_meeting(p[0], first)["topics"] == []
    assert events(engine, "provisional_handling_recorded") == []
    # M6: an approver typed into the request is refused (the secretary approves by acting)
    with pytest.raises(ValidationFailed) as err:
        meetings.record_provisional_handling(p[3], {"org_id": org_id, "title": "x", "description": "y",
                                                    "approved_by": ids[0]})
    assert err.value.field == "approved_by"
    for who in (p[1], p[3]):      # neither a deputy nor the member approves
        with pytest.raises(Forbidden) as err:
            meetings.approve_provisional_handling(who, handling["handling_id"])
        assert err.value.rule == "M6"
    queue = meetings.list_provisional_handlings(p[0], org_id, "awaiting_approval")["items"]
    assert [h["handling_id"] for h in queue] == [handling["handling_id"]]
    handling = meetings.approve_provisional_handling(p[0], handling["handling_id"])
    assert handling["status"] == "approved" and handling["approved_by"] == ids[0]
    assert handling["report_meeting_id"] == first
    with pytest.raises(Conflict):
        meetings.approve_provisional_handling(p[0], handling["handling_id"])
    agenda = meetings.get_meeting(p[0], first)["topics"]
    assert [(t["category"], t["mandatory"]) for t in agenda] == [("report", True)]
    # an earlier meeting scheduled afterwards hears it first: the report moves there
    earlier = meeting(meetings, p[0], org_id, hours=72)
    assert [t["mandatory"] for t in meetings.get_meeting(p[0], earlier)["topics"]] == [True]
    assert meetings.get_meeting(p[0], first)["topics"] == []
    meetings.add_topic(p[0], first, {"title": "其他", "category": "other"})
    # cancelling the earlier meeting returns the report to the queue; the later one cannot be noticed without it
    meetings.cancel_meeting(p[0], earlier, {"reason": "改期"})
    with pytest.raises(RuleViolation) as err:
        meetings.notice_meeting(p[0], first)
    assert err.value.rule == "M6" and "暴雨抢险" in err.value.message
    assert meetings.get_meeting(p[0], first)["status"] == "draft"
    nxt = meeting(meetings, p[0], org_id, hours=80)
    assert [t["mandatory"] for t in meetings.get_meeting(p[0], nxt)["topics"]] == [True]
    assert meetings.notice_meeting(p[0], nxt)["status"] == "noticed"
    [event] = events(engine, "provisional_handling_recorded")
    assert event["handling_id"] == handling["handling_id"] and event["approved_by"] == ids[0]
    # the secretary's own provisional handling is approved by recording it
    own = meetings.record_provisional_handling(p[0], {"org_id": org_id, "title": "停电", "description": "启用备用电源"})
    assert own["status"] == "approved" and own["approved_by"] == ids[0]


# ---------------------------------------------------------------- M7 observers, M8 attendance

def test_m7_observers_get_the_notice_never_count_and_expanded_meetings_widen_the_list(env):
    meetings, engine = env
    org_id, ids, p = team(meetings)
    hr = staff(meetings, org_id, "hr")
    outsider = meetings.register_person(ADMIN, {"name": "下属单位负责人"})["person_id"]
    mid = meeting(meetings, p[0], org_id)
    meetings.add_topic(p[0], mid, {"title": "议题", "category": "work_plan"})
    with pytest.raises(RuleViolation) as err:   # a regular meeting invites bureau staff only
        meetings.invite_observer(p[0], mid, {"person_id": outsider, "reason": "相关"})
    assert err.value.rule == "M7"
    with pytest.raises(RuleViolation) as err:
        meetings.invite_observer(p[0], mid, {"person_id": ids[2], "reason": "x"})
    assert err.value.rule == "M7"
    with pytest.raises(Forbidden):
        meetings.invite_observer(p[1], mid, {"person_id": hr["person_id"], "reason": "人事议题"})
    assert meetings.get_meeting(p[0], mid)["observers"] == []
    meetings.invite_observer(p[0], mid, {"person_id": hr["person_id"], "reason": "人事议题"})
    meetings.notice_meeting(p[0], mid)
    [notice] = events(engine, "meeting_noticed")
    assert notice["observers"] == [hr["person_id"]]
    assert set(notice["recipients"]) == set(ids) | {hr["person_id"]}
    until_meeting(meetings, p[0], mid)
    with pytest.raises(RuleViolation) as err:   # observers never count towards the quorum
        meetings.open_meeting(p[0], mid, {"present": ids[:3] + [hr["person_id"]]})
    assert err.value.rule == "M8"
    expanded = meeting(meetings, p[0], org_id, kind="expanded")
    meetings.invite_observer(p[0], expanded, {"person_id": outsider, "reason": "扩大会议"})
    assert [o["person_id"] for o in meetings.get_meeting(p[0], expanded)["observers"]] == [outsider]
    # someone the bureau never registered is named by the secretary, for an expanded meeting only
    regular = meeting(meetings, p[0], org_id)
    with pytest.raises(RuleViolation) as err:
        meetings.invite_observer(p[0], regular, {"name": "街道办王主任", "reason": "征求意见"})
    assert (err.value.rule, err.value.field) == ("M7", "name")
    assert meetings.get_meeting(p[0], regular)["observers"] == []
    for both_or_none in ({"reason": "x"}, {"name": "王主任", "person_id": outsider, "reason": "x"}):
        with pytest.raises(ValidationFailed) as err:
            meetings.invite_observer(p[0], expanded, both_or_none)
        assert err.value.field == "person_id"
    persons_before = len(meetings.list_persons(ADMIN)["items"])
    with pytest.raises(Forbidden):                 # only the secretary, and nobody is registered
        meetings.invite_observer(p[1], expanded, {"name": "街道办王主任", "reason": "征求意见"})
    assert len(meetings.list_persons(ADMIN)["items"]) == persons_before
    view = meetings.invite_observer(p[0], expanded, {"name": "街道办王主任", "reason": "征求意见"})
    (named,) = [o for o in view["observers"] if o["person_id"] != outsider]
    assert (named["name"], named["reason"], named["invited_by"]) == ("街道办王主任", "征求意见", ids[0])
    meetings.add_topic(p[0], expanded, {"title": "议题", "category": "work_plan"})
    meetings.notice_meeting(p[0], expanded)
    assert named["person_id"] in events(engine, "meeting_noticed")[-1]["recipients"]   # the notice reaches them


def test_m8_arrivals_and_departures_change_the_quorum_seen_by_ballots(env):
    meetings, engine = env
    org_id, ids, p = team(meetings, 6)      # N=6 -> quorum 4
    conf = staff(meetings, org_id, "confidential_secretary")
    mid, (tid,) = opened(meetings, p, ids, org_id, present=ids[:4])
    assert meetings.quorum_now(p[0], mid) == {"meeting_id": mid, "n": 6, "present": 4, "quorum": 4, "met": True}
    with pytest.raises(Forbidden):
        meetings.record_departure(p[3], mid, ids[2])
    state = meetings.record_departure(conf, mid, ids[3])
    assert state["present"] == 3 and state["met"] is False
    snap = meetings.attendance_snapshot(p[0], mid, tid)
    assert snap["present"] == 3 and {m["person_id"]: m["presence"] for m in snap["members"]}[ids[3]] == "absent"
    with pytest.raises(Conflict):
        meetings.record_departure(p[0], mid, ids[3])
    with pytest.raises(RuleViolation) as err:
        meetings.record_arrival(p[0], mid, "observer-x")
    assert err.value.rule == "M8"
    state = meetings.record_arrival(p[0], mid, ids[5])
    assert state["present"] == 4 and state["met"] is True
    history = [e["action"] for e in meetings.meeting_history(p[0], mid)["events"]]
    assert history[-2:] == ["departure", "arrival"]


# ---------------------------------------------------------------- lifecycle, M10

def test_lifecycle_close_cancel_history_and_minutes_and_documents_m10(env):
    meetings, engine = env
    org_id, ids, p = team(meetings, 5)
    conf = staff(meetings, org_id, "confidential_secretary")
    office = staff(meetings, org_id, "office")
    mid, (tid,) = opened(meetings, p, ids, org_id, present=ids[:4])
    with pytest.raises(Forbidden) as err:   # minutes only by the confidential secretary
        meetings.record_minutes(office, mid, {"text": "纪要"})
    assert err.value.rule == "M10"
    with pytest.raises(RuleViolation) as err:
        meetings.close_meeting(p[1], mid)
    assert err.value.rule == "M1" and meetings.get_meeting(p[0], mid)["status"] == "opened"
    meetings.record_minutes(conf, mid, {"text": "会议记录第一稿"})
    closed = meetings.close_meeting(p[0], mid)
    assert closed["status"] == "closed" and closed["closed_at_local"].endswith("+08:00")
    minutes = meetings.record_minutes(conf, mid, {"text": "会议记录定稿"})
    assert minutes["version"] == 2
    with pytest.raises(Forbidden):
        meetings.approve_minutes(p[1], mid)
    assert meetings.approve_minutes(p[0], mid)["status"] == "minutes_approved"
    with pytest.raises(Conflict):
        meetings.record_minutes(conf, mid, {"text": "改"})
    assert meetings.get_minutes(p[2], mid)["text"] == "会议记录定稿"

    with pytest.raises(Forbidden):
        meetings.issue_document(p[0], mid, {"kind": "summary", "title": "纪要", "body": "正文", "scope": [ids[2]]})
    doc = meetings.issue_document(office, mid, {"kind": "summary", "title": "会议纪要", "body": "正文",
                                                "scope": [ids[2], "办公室"]})
    assert doc["status"] == "awaiting_sign_off"
    with pytest.raises(Forbidden) as err:   # M10: not issued before the secretary signs it off
        meetings.get_document(p[2], doc["document_id"])
    assert err.value.rule == "M10"
    with pytest.raises(Forbidden) as err:
        meetings.sign_off(p[1], doc["document_id"])
    assert err.value.rule == "M10" and events(engine, "document_issued") == []
    issued = meetings.sign_off(p[0], doc["document_id"])
    assert issued["status"] == "issued" and issued["signed_off_by"] == ids[0]
    assert meetings.get_document(p[2], doc["document_id"])["title"] == "会议纪要"
    with pytest.raises(Forbidden):   # outside the scope
        meetings.get_document(p[3], doc["document_id"])
    [event] = events(engine, "document_issued")
    assert event["scope"] == [ids[2], "办公室"] and event["signed_off_by"] == ids[0]
    assert events(engine, "minutes_recorded")[-1]["version"] == 2

    draft = meeting(meetings, p[0], org_id)
    with pytest.raises(ValidationFailed):
        meetings.cancel_meeting(p[0], draft, {})
    cancelled = meetings.cancel_meeting(p[0], draft, {"reason": "议题已撤回"})
    assert cancelled["status"] == "cancelled" and cancelled["cancel_reason"] == "议题已撤回"
    with pytest.raises(Conflict):
        meetings.notice_meeting(p[0], draft)
    actions = [(e["action"], e["to_status"], e["actor_person_id"]) for e in meetings.meeting_history(p[0], mid)["events"]]
    assert [a for a, _, _ in actions if a in ("scheduled", "opened", "closed", "minutes_approved")] == [
        "scheduled", "opened", "closed", "minutes_approved"]
    assert events(engine, "meeting_closed")[0]["closed_by"] == ids[0]
    assert events(engine, "meeting_cancelled")[0]["reason"] == "议题已撤回"


# ---------------------------------------------------------------- M2, M11 compliance

def test_m2_missing_month_raised_once_across_replicas(container_factory, rpc_client, pg_url):
    for _ in range(2):    # two replicas on one database
        container_factory(MeetingsService, database_url=pg_url).start()
    meetings = rpc_client().meetings
    org_id, ids, p = team(meetings, 3)
    discipline = staff(meetings, org_id, "discipline")
    today = now().astimezone(dt.timezone(dt.timedelta(hours=8))).date()
    month = today.strftime("%Y-%m")
    findings = meetings.compliance_check(discipline, org_id, month)
    assert [(f["rule"], f["severity"]) for f in findings if f["rule"] == "M2"] == [("M2", "due")]
    with pytest.raises(Forbidden):
        meetings.compliance_check(actor("x", org_id, "observer"), org_id, month)
    # next January had no meeting: every replica scans at once on 2 February; the alert is raised once
    year = today.year + 1
    clients = [rpc_client().meetings for _ in range(6)]     # one connection per concurrent caller
    pool = eventlet.GreenPool()

    def scan_everywhere(as_of):
        results = list(pool.imap(lambda client: client.scan_compliance(SYSTEM, as_of), clients))
        return sorted(((f["rule"], f["period"], f["severity"]) for r in results for f in r if f["org_id"] == org_id))

    as_of = f"{year}-02-02T12:00:00+00:00"
    assert scan_everywhere(as_of) == [("M2", f"{year}-01", "breach")]
    assert scan_everywhere(as_of) == []
    # after December: the month and the year without a democratic life meeting (M11)
    assert scan_everywhere(f"{year + 1}-01-02T12:00:00+00:00") == [
        ("M11", str(year), "breach"), ("M2", f"{year}-12", "breach")]
    engine = sa.create_engine(normalize_url(pg_url), poolclass=sa.pool.NullPool)
    try:
        assert events(engine, "meeting_missing_detected") == [
            {"org_id": org_id, "month": f"{year}-01"}, {"org_id": org_id, "month": f"{year}-12"}]
        assert events(engine, "democratic_life_missing_detected") == [{"org_id": org_id, "year": year}]
    finally:
        engine.dispose()
    with pytest.raises(Forbidden):
        meetings.scan_compliance(p[0], as_of)


def test_m2_a_held_meeting_clears_the_month(svc):
    meetings = svc
    org_id, ids, p = team(meetings, 3)
    opened(meetings, p, ids, org_id)
    month = now().astimezone(dt.timezone(dt.timedelta(hours=8))).strftime("%Y-%m")
    assert [f for f in meetings.compliance_check(p[0], org_id, month) if f["rule"] == "M2"] == []
    with pytest.raises(ValidationFailed) as err:
        meetings.compliance_check(p[0], org_id, "2026-13")
    assert err.value.field == "month"


def test_m11_democratic_life_meeting_steps(env):
    meetings, engine = env
    org_id, ids, p = team(meetings, 3)
    office = staff(meetings, org_id, "office")
    with pytest.raises(ValidationFailed) as err:
        meetings.schedule_meeting(p[0], {"org_id": org_id, "kind": "democratic_life", "title": "民主生活会",
                                         "scheduled_at": at(hours=72)})
    assert err.value.rule == "M11"
    with pytest.raises(RuleViolation) as err:
        meetings.schedule_meeting(p[0], {"org_id": org_id, "kind": "democratic_life", "title": "民主生活会",
                                         "scheduled_at": at(hours=72), "theme": "主题", "delegate_to": ids[1]})
    assert err.value.rule == "M11"
    mid = meeting(meetings, p[0], org_id, kind="democratic_life", theme="强化理论武装")
    meetings.add_topic(p[0], mid, {"title": "对照检查", "category": "party_building"})
    meetings.notice_meeting(p[0], mid)
    step = meetings.record_democratic_life_step
    step(office, mid, {"step": "opinions_solicited", "text": "征求意见12条"})
    with pytest.raises(ValidationFailed):
        step(office, mid, {"step": "reported_before", "text": "已报告", "data": {"reported_to": ["org_department"]}})
    step(office, mid, {"step": "reported_before", "text": "已报告",
                       "data": {"reported_to": ["org_department", "discipline_commission"]}})
    for i in (0, 1):
        step(p[i], mid, {"step": "outline", "text": f"发言提纲{i}"})
    with pytest.raises(Forbidden):   # nobody files another's outline
        step(p[0], mid, {"step": "outline", "text": "代写", "person_id": ids[2]})
    until_meeting(meetings, p[0], mid)
    with pytest.raises(RuleViolation) as err:   # one outline missing
        meetings.open_meeting(p[0], mid, {"present": ids})
    assert err.value.rule == "M11" and ids[2] in err.value.message
    assert meetings.get_meeting(p[0], mid)["status"] == "noticed"
    step(p[2], mid, {"step": "outline", "text": "发言提纲2"})
    meetings.open_meeting(p[0], mid, {"present": ids})
    with pytest.raises(RuleViolation) as err:
        step(p[0], mid, {"step": "speech", "text": "发言", "person_id": ids[1]})
    assert "secretary speaks first" in err.value.message
    step(p[0], mid, {"step": "speech", "text": "带头发言", "person_id": ids[0]})
    step(p[0], mid, {"step": "criticism", "text": "批评意见", "person_id": ids[1], "data": {"to": ids[2]}})
    with pytest.raises(Forbidden):
        step(p[1], mid, {"step": "summary", "text": "小结"})
    step(p[0], mid, {"step": "summary", "text": "小结"})
    meetings.close_meeting(p[0], mid)
    step(office, mid, {"step": "summary_reported", "text": "已报",
                       "data": {"reported_to": ["org_department", "discipline_commission"]}})
    with pytest.raises(RuleViolation):
        step(office, mid, {"step": "evaluation", "text": "满意率95%"})
    measure = step(office, mid, {"step": "rectification", "text": "整改措施1"})
    step(office, mid, {"step": "evaluation", "text": "满意率95%"})
    done = meetings.complete_rectification(office, measure["step_id"], {"text": "已完成"})
    assert done["completed_at"] is not None
    view = meetings.get_democratic_life(p[0], mid)
    assert view["theme"] == "强化理论武装" and view["rectification_completed"] == 1 and view["rectification_open"] == 0
    # A1: every recorded step and the completion are told to the archive, in order; refused ones are not
    told = events(engine, "democratic_life_step_recorded")
    assert [e["step"] for e in told] == [st["step"] for st in view["steps"]]
    assert all(e["meeting_id"] == mid and e["theme"] == "强化理论武装" for e in told)
    (completed,) = events(engine, "rectification_completed")
    assert (completed["step_id"], completed["measure"], completed["completion"]) == (
        measure["step_id"], "整改措施1", "已完成")


# ---------------------------------------------------------------- roster and time zone

def test_membership_ending_or_starting_on_the_meeting_day_in_the_org_time_zone_counts(svc):
    meetings = svc
    org_id, ids, p = team(meetings, 3)
    # 16:30 UTC is already the next calendar day in Asia/Shanghai (UTC+8)
    when = (now() + dt.timedelta(days=4)).replace(hour=16, minute=30, second=0, microsecond=0)
    local_day = (when + dt.timedelta(hours=8)).date()
    assert local_day != when.date()
    extra = {}
    for name, start, end in [("ends-today", dt.date(2020, 1, 1), local_day),
                             ("starts-today", local_day, None),
                             ("ended-yesterday", dt.date(2020, 1, 1), local_day - dt.timedelta(days=1)),
                             ("starts-tomorrow", local_day + dt.timedelta(days=1), None)]:
        pid = meetings.register_person(ADMIN, {"name": name})["person_id"]
        body = {"org_id": org_id, "person_id": pid, "role": "member", "start_date": start.isoformat()}
        if end:
            body["end_date"] = end.isoformat()
        meetings.appoint(ADMIN, body)
        extra[name] = pid
    mid = meetings.schedule_meeting(p[0], {"org_id": org_id, "kind": "regular", "title": "例会",
                                           "scheduled_at": when.isoformat()})
    assert mid["scheduled_at_local"].startswith(local_day.isoformat()) and mid["scheduled_at_local"].endswith("+08:00")
    assert mid["objection_deadline_local"].endswith("+08:00")
    mid = mid["meeting_id"]
    meetings.add_topic(p[0], mid, {"title": "议题", "category": "work_plan"})
    meetings.notice_meeting(p[0], mid)
    until_meeting(meetings, p[0], mid)
    present = ids + [extra["ends-today"], extra["starts-today"]]
    with pytest.raises(RuleViolation) as err:   # not in office that day
        meetings.open_meeting(p[0], mid, {"present": present + [extra["starts-tomorrow"]]})
    assert err.value.rule == "M8"
    view = meetings.open_meeting(p[0], mid, {"present": present})
    assert view["n"] == 5 and view["opened_at_local"].endswith("+08:00")


def test_m8_n_is_taken_on_the_day_the_meeting_is_held_not_the_day_it_was_set_for(svc):
    """I6/M8: an emergency meeting set for 00:30 (the organization's zone) and opened at 23:40 the
    evening before: a member whose term ends that evening is in office when it is held, so N and
    the quorum count them.  Found by the sequences test over the running services."""
    meetings = svc
    org_id, ids, p = team(meetings, 3)
    # the suite's clock to 23:40 in Asia/Shanghai (15:40 UTC), a day or two ahead
    target = (now() + dt.timedelta(days=1)).replace(hour=15, minute=40, second=0, microsecond=0)
    clock.advance(target - now())
    today = (target + dt.timedelta(hours=8)).date()
    pid = meetings.register_person(ADMIN, {"name": "今日任满"})["person_id"]
    meetings.appoint(ADMIN, {"org_id": org_id, "person_id": pid, "role": "member",
                             "start_date": "2020-01-01", "end_date": today.isoformat()})
    when = target + dt.timedelta(minutes=50)              # 00:30 the next day, local
    mid = meetings.schedule_meeting(p[0], {"org_id": org_id, "kind": "emergency", "emergency_reason": "突发险情",
                                           "title": "紧急会议", "scheduled_at": when.isoformat()})["meeting_id"]
    meetings.add_topic(p[0], mid, {"title": "防汛", "category": "work_plan"})
    meetings.notice_meeting(p[0], mid)
    view = meetings.open_meeting(p[0], mid, {"present": ids + [pid]})
    assert view["opened_at_local"].startswith(today.isoformat())
    assert view["n"] == 4 and {a["person_id"] for a in view["attendance"]} == set(ids) | {pid}
