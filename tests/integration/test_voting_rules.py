"""Voting rules V2, V4–V8 over real RabbitMQ RPC with the real meetings service, on SQLite and PostgreSQL.

Each refusal is checked to change nothing; each new event is read from ``voting.events``
through a queue bound before the action.
"""
import datetime as dt
import json
import logging
import re
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

from services.voting import ballot_key, domain, models, schemas
from shared.errors import Conflict, Forbidden, NotFound, RuleViolation, ValidationFailed
from shared import clock
from tests.integration.test_voting_rpc import controlled_clock, member, suite  # noqa: F401  (fixtures)
from tests.support.asyncapi import channels, validate_event
from tests.support.roster import actor, build_org

pytestmark = pytest.mark.integration

CHOICES = ("yes", "no", "abstain")
EVENT_SCHEMAS = {
    "ballot_opened": schemas.BallotOpenedData, "ballot_closed": schemas.BallotClosedData,
    "result_decided": schemas.ResultDecidedData, "ballot_deferred": schemas.BallotDeferredData,
    "reserved_opinion_recorded": schemas.ReservedOpinionRecordedData,
    "decision_superseded": schemas.DecisionSupersededData, "ballot_lapsed": schemas.BallotLapsedData,
}


# ---------------------------------------------------------------- helpers

def meeting(rpc, n, present, topics, kind="emergency", leave=(), org=None):
    """An opened meeting of an org of ``n`` group members with the given topics
    [(title, category)] -> (org_id, ids, secretary actor, meeting_id, [topic_id...]).

    A regular meeting is scheduled 49 hours ahead and noticed now (M5)."""
    org_id, ids = org or build_org(rpc.meetings, n)
    sec = actor(ids[0], org_id, "secretary")
    if any(category in ("personnel", "major_decision") for _, category in topics):
        kind = "regular"        # M4/M6: never at an emergency meeting; decided only with 48 h notice
    hours = 49 if kind == "regular" else 0
    when = clock.now() + dt.timedelta(hours=hours, minutes=5)
    body = {"org_id": org_id, "kind": kind, "title": "党组会议", "scheduled_at": when.isoformat()}
    if kind == "emergency":
        body["emergency_reason"] = "突发险情"
    mid = rpc.meetings.schedule_meeting(sec, body)["meeting_id"]
    tids = [rpc.meetings.add_topic(sec, mid, {"title": title, "category": category})["topic_id"]
            for title, category in topics]
    if kind == "regular":
        rpc.meetings.notice_meeting(sec, mid)
        clock.advance(when - clock.now())       # M5: held at its noticed time
    rpc.meetings.open_meeting(sec, mid, {
        "present": [ids[i] for i in present],
        "leave": [{"person_id": ids[i], "opinions": {t: "同意" for t in tids}} for i in leave]})
    return org_id, ids, sec, mid, tids


def vote(rpc, ids, org_id, bid, plan):
    """plan: list of choices, cast by ids[0], ids[1], ... in turn."""
    for i, choice in enumerate(plan):
        rpc.voting.cast_vote(member(ids, org_id, i), bid, {"choice": choice})


def rows(engine, sql, **params):
    with engine.connect() as conn:
        return conn.execute(sa.text(sql), params).all()


def check_events(tap):
    """Every event seen matches its marshmallow schema; documented ones match docs/asyncapi.yaml."""
    documented = {key for _, key in channels()}
    for event in tap.events:
        EVENT_SCHEMAS[event["event_type"]]().load(event["data"])
        if event["event_type"] in documented:
            validate_event("voting.events", event["event_type"], event)


# ---------------------------------------------------------------- V2 recording by the chair

def test_v2_chair_and_confidential_secretary_record_show_of_hands_votes_per_person(suite):
    rpc, tap, engine = suite
    org_id, ids, sec, mid, (tid, named_tid) = meeting(
        rpc, 9, present=range(8), leave=[8], topics=[("年度计划", "work_plan"), ("制度修订", "organization")])
    other_org, other_ids = build_org(rpc.meetings, 3)
    bid = rpc.voting.open_ballot(sec, {"meeting_id": mid, "topic_id": tid, "method": "show_of_hands"})["ballot_id"]
    clerk = actor("cs-" + uuid.uuid4().hex, org_id, "confidential_secretary")

    refusals = [   # (who, data, error, rule, field)
        (member(ids, org_id, 2), {"choices": {ids[3]: "yes"}}, RuleViolation, "V2", "actor"),
        (actor("office-1", org_id, "office"), {"choices": {ids[3]: "yes"}}, RuleViolation, "V2", "actor"),
        (sec, {"choices": {ids[3]: "yes", ids[8]: "yes"}}, RuleViolation, "V1", f"choices.{ids[8]}"),   # on leave
        (sec, {"choices": {ids[3]: "yes", "stranger": "no"}}, RuleViolation, "V1", "choices.stranger"),
        (sec, {"choices": {ids[3]: "maybe"}}, ValidationFailed, "V2", f"choices.{ids[3]}.value"),
        (sec, {"choices": {ids[3]: "yes"}, "counts": {"yes": 1, "no": 0, "abstain": 0}},
         ValidationFailed, "V2", "choices"),
        (sec, {}, ValidationFailed, "V2", "choices"),
    ]
    for who, data, error, rule, field in refusals:
        with pytest.raises(error) as err:
            rpc.voting.record_votes(who, bid, data)
        assert (err.value.rule, err.value.field) == (rule, field), data
    with pytest.raises(NotFound):   # a confidential secretary of another organization does not see it
        rpc.voting.record_votes(actor("cs2", other_org, "confidential_secretary"), bid, {"choices": {ids[3]: "yes"}})
    assert rows(engine, "SELECT count(*) FROM open_votes")[0][0] == 0        # nothing written
    assert rows(engine, "SELECT count(*) FROM participations")[0][0] == 0

    ballot = rpc.voting.record_votes(sec, bid, {"choices": {ids[i]: "yes" for i in range(5)}})
    assert ballot["votes_cast"] == 5 and ballot["counts_recorded"] is False
    ballot = rpc.voting.record_votes(clerk, bid, {"choices": {ids[5]: "no"}})
    assert ballot["votes_cast"] == 6
    with pytest.raises(Conflict) as err:   # V1: once per ballot, recorded or cast
        rpc.voting.record_votes(sec, bid, {"choices": {ids[6]: "abstain", ids[2]: "no"}})
    assert (err.value.rule, err.value.field) == ("V1", f"choices.{ids[2]}")
    with pytest.raises(Conflict) as err:
        rpc.voting.cast_vote(member(ids, org_id, 2), bid, {"choice": "no"})
    assert err.value.rule == "V1"
    rpc.voting.cast_vote(member(ids, org_id, 6), bid, {"choice": "abstain"})   # a member may still cast their own
    with pytest.raises(Conflict) as err:                                      # counts on top of votes: refused
        rpc.voting.record_votes(sec, bid, {"counts": {"yes": 1, "no": 0, "abstain": 0}})
    assert (err.value.rule, err.value.field) == ("V2", "counts")

    decision = rpc.voting.close_ballot(sec, bid)
    assert (decision["yes"], decision["no"], decision["abstain"], decision["outcome"]) == (5, 1, 1, "passed")
    assert decision["recorded_by"] == sorted([ids[0], clerk["person_id"]]) and decision["counts_only"] is False
    listed = rpc.voting.list_decisions(sec, org_id)["items"]       # the list names the recorders too
    assert [d["recorded_by"] for d in listed] == [decision["recorded_by"]]
    lines = {m["person_id"]: m for m in decision["members"]}
    assert [lines[ids[i]]["recorded_by"] for i in range(8)] == [ids[0]] * 5 + [clerk["person_id"], None, None]
    assert [lines[ids[i]]["stance"] for i in range(7)] == ["yes"] * 5 + ["no", "abstain"]
    data = tap.wait_for("result_decided")[0]["data"]
    assert data["recorded_by"] == decision["recorded_by"]
    assert {m["person_id"]: m["recorded_by"] for m in data["members"]} == \
        {pid: m["recorded_by"] for pid, m in lines.items()}
    check_events(tap)

    # V2: a named ballot is never recorded by the chair; each member casts their own vote
    named = rpc.voting.open_ballot(sec, {"meeting_id": mid, "topic_id": named_tid, "method": "named"})["ballot_id"]
    with pytest.raises(RuleViolation) as err:
        rpc.voting.record_votes(sec, named, {"choices": {ids[3]: "yes"}})
    assert (err.value.rule, err.value.field) == ("V2", "method")
    assert rpc.voting.get_ballot(sec, named)["votes_cast"] == 0


def test_v2_oral_ballot_counts_only_nine_members_four_yes_five_abstain_fail(suite):
    rpc, tap, engine = suite
    org_id, ids, sec, mid, (tid,) = meeting(rpc, 9, present=range(9), topics=[("值班安排", "work_plan")])
    bid = rpc.voting.open_ballot(sec, {"meeting_id": mid, "topic_id": tid, "method": "oral"})["ballot_id"]

    with pytest.raises(RuleViolation) as err:       # more votes than members present
        rpc.voting.record_votes(sec, bid, {"counts": {"yes": 5, "no": 0, "abstain": 5}})
    assert (err.value.rule, err.value.field) == ("V1", "counts")
    with pytest.raises(ValidationFailed) as err:
        rpc.voting.record_votes(sec, bid, {"counts": {"yes": -1, "no": 0, "abstain": 5}})
    assert err.value.field == "counts.yes"
    with pytest.raises(ValidationFailed) as err:
        rpc.voting.record_votes(sec, bid, {"counts": {"yes": "4", "no": 0, "abstain": 5}})
    assert err.value.field == "counts.yes"
    assert rows(engine, "SELECT count_yes FROM ballots WHERE id = :b", b=bid)[0][0] is None

    ballot = rpc.voting.record_votes(sec, bid, {"counts": {"yes": 4, "no": 0, "abstain": 5}})
    assert (ballot["counts_recorded"], ballot["counts_recorded_by"], ballot["votes_cast"]) == (True, ids[0], 9)
    with pytest.raises(Conflict) as err:
        rpc.voting.record_votes(sec, bid, {"counts": {"yes": 9, "no": 0, "abstain": 0}})
    assert err.value.rule == "V2"
    with pytest.raises(Conflict) as err:
        rpc.voting.cast_vote(member(ids, org_id, 3), bid, {"choice": "yes"})
    assert err.value.rule == "V2"
    with pytest.raises(Conflict) as err:
        rpc.voting.record_votes(sec, bid, {"choices": {ids[3]: "yes"}})
    assert err.value.rule == "V2"

    decision = rpc.voting.close_ballot(sec, bid)
    assert (decision["yes"], decision["no"], decision["abstain"], decision["outcome"]) == (4, 0, 5, "failed")
    assert decision["threshold"] == 5 and decision["counts_only"] is True and decision["recorded_by"] == [ids[0]]
    assert [d["recorded_by"] for d in rpc.voting.list_decisions(sec, org_id)["items"]] == [[ids[0]]]
    # counts only: no per-person roll, so no member shows a vote or a stance
    assert all(m["voted"] is False and m["stance"] is None for m in decision["members"])
    data = tap.wait_for("result_decided")[0]["data"]
    assert (data["counts_only"], data["yes"], data["abstain"], data["outcome"]) == (True, 4, 5, "failed")
    check_events(tap)


# ---------------------------------------------------------------- V4 one candidate per personnel ballot

def test_v4_a_bundled_vote_on_several_candidates_is_refused(suite):
    rpc, tap, engine = suite
    org_id, ids, sec, mid, (pers, plan) = meeting(
        rpc, 7, present=range(7), topics=[("任命处长", "personnel"), ("工作计划", "work_plan")])

    with pytest.raises(RuleViolation) as err:
        rpc.voting.open_ballot(sec, {"meeting_id": mid, "topic_id": pers, "method": "secret",
                                     "candidates": ["cand-a", "cand-b"]})
    assert (err.value.rule, err.value.field) == ("V4", "candidates")
    assert "a bundled vote on several candidates is refused" in err.value.message
    with pytest.raises(ValidationFailed) as err:
        rpc.voting.open_ballot(sec, {"meeting_id": mid, "topic_id": pers, "method": "secret"})
    assert (err.value.rule, err.value.field) == ("V4", "candidates")
    with pytest.raises(ValidationFailed) as err:
        rpc.voting.open_ballot(sec, {"meeting_id": mid, "topic_id": plan, "candidates": ["cand-a"]})
    assert err.value.field == "candidates"
    with pytest.raises(ValidationFailed) as err:
        rpc.voting.open_ballot(sec, {"meeting_id": mid, "topic_id": pers, "candidates": "cand-a"})
    assert err.value.field == "candidates"
    assert rows(engine, "SELECT count(*) FROM ballots")[0][0] == 0

    ballot = rpc.voting.open_ballot(sec, {"meeting_id": mid, "topic_id": pers, "method": "secret",
                                          "candidates": ["cand-a"]})
    assert ballot["candidate_person_id"] == "cand-a"
    vote(rpc, ids, org_id, ballot["ballot_id"], ["yes"] * 6 + ["no"])
    decision = rpc.voting.close_ballot(sec, ballot["ballot_id"])
    assert decision["candidate_person_id"] == "cand-a" and decision["outcome"] == "passed"
    assert tap.wait_for("result_decided")[0]["data"]["candidate_person_id"] == "cand-a"
    check_events(tap)


# ---------------------------------------------------------------- V5 deferral and re-vote

def test_v5_chair_defers_then_the_item_is_voted_again(suite):
    rpc, tap, engine = suite
    org_id, ids, sec, mid, (tid, other) = meeting(
        rpc, 9, present=range(9), topics=[("任命处长", "personnel"), ("计划", "work_plan")])
    bid = rpc.voting.open_ballot(sec, {"meeting_id": mid, "topic_id": tid, "method": "secret",
                                       "candidates": ["cand-1"]})["ballot_id"]
    vote(rpc, ids, org_id, bid, ["yes"] * 5 + ["no"] * 3)

    with pytest.raises(RuleViolation) as err:
        rpc.voting.defer_ballot(member(ids, org_id, 3), bid, {"reason": "x"})
    assert err.value.rule == "M1"
    with pytest.raises(ValidationFailed) as err:
        rpc.voting.defer_ballot(sec, bid, {"reason": "   "})
    assert (err.value.rule, err.value.field) == ("V5", "reason")
    with pytest.raises(ValidationFailed) as err:
        rpc.voting.defer_ballot(sec, bid, {})
    assert err.value.field == "reason"
    assert rpc.voting.get_ballot(sec, bid)["status"] == "open"

    deferred = rpc.voting.defer_ballot(sec, bid, {"reason": "意见分歧较大，会后进一步调研"})
    assert (deferred["outcome"], deferred["deferred_reason"]) == ("deferred", "意见分歧较大，会后进一步调研")
    assert (deferred["yes"], deferred["no"], deferred["abstain"]) == (5, 3, 0)   # the votes as they stood
    # M4/M6: a personnel item is voted at a meeting noticed 48 h ahead, never at an emergency meeting
    assert deferred["serious_disagreement"] is True and deferred["emergency"] is False
    assert rpc.voting.get_ballot(sec, bid)["status"] == "closed"
    with pytest.raises(Conflict) as err:
        rpc.voting.close_ballot(sec, bid)
    assert err.value.rule == "V9"
    with pytest.raises(Conflict):
        rpc.voting.defer_ballot(sec, bid, {"reason": "again"})

    event = tap.wait_for("ballot_deferred")[0]["data"]
    assert event["ballot_id"] == bid and event["decision_id"] == deferred["decision_id"]
    assert event["reason"] == "意见分歧较大，会后进一步调研" and event["deferred_by"] == ids[0]
    assert tap.wait_for("ballot_closed")[0]["data"]["outcome"] == "deferred"
    result = tap.wait_for("result_decided")[0]["data"]
    assert (result["outcome"], result["deferred_reason"]) == ("deferred", "意见分歧较大，会后进一步调研")

    # V6: a deferral decides nothing to keep a reserved opinion on
    with pytest.raises(RuleViolation) as err:
        rpc.voting.record_reserved_opinion(member(ids, org_id, 2), deferred["decision_id"], {"text": "保留"})
    assert err.value.rule == "V6"

    # V5: not at the meeting that deferred it, neither on the item nor on another item of that meeting
    with pytest.raises(RuleViolation) as err:
        rpc.voting.open_ballot(sec, {"meeting_id": mid, "topic_id": tid, "candidates": ["cand-1"]})
    assert (err.value.rule, err.value.field) == ("V5", "topic_id")
    for data in ({"topic_id": tid, "candidates": ["cand-1"]}, {"topic_id": other}):
        with pytest.raises(RuleViolation) as err:
            rpc.voting.open_ballot(sec, dict(data, meeting_id=mid, previous_ballot_id=bid))
        assert (err.value.rule, err.value.field) == ("V5", "previous_ballot_id")
        assert "later meeting" in err.value.message
    assert [b["ballot_id"] for b in rpc.voting.list_ballots(sec, mid)] == [bid]      # nothing written
    assert deferred["status"] == "deferred"                                           # decided nothing

    # 复议表决: a ballot at a later meeting votes the item again, linked to the deferred one
    rpc.meetings.close_meeting(sec, mid)
    _, _, _, mid2, (tid2, other2) = meeting(rpc, 9, present=range(9), org=(org_id, ids),
                                            topics=[("任命处长（复议）", "personnel"), ("计划二", "work_plan")])
    with pytest.raises(NotFound) as err:
        rpc.voting.open_ballot(sec, {"meeting_id": mid2, "topic_id": tid2, "candidates": ["cand-1"],
                                     "previous_ballot_id": str(uuid.uuid4())})
    assert err.value.field == "previous_ballot_id"
    with pytest.raises(RuleViolation) as err:   # the same matter: a work-plan item does not re-vote a personnel one
        rpc.voting.open_ballot(sec, {"meeting_id": mid2, "topic_id": other2, "previous_ballot_id": bid})
    assert (err.value.rule, err.value.field) == ("V5", "previous_ballot_id")
    again = rpc.voting.open_ballot(sec, {"meeting_id": mid2, "topic_id": tid2, "method": "named",
                                         "candidates": ["cand-1"], "previous_ballot_id": bid})
    assert again["previous_ballot_id"] == bid
    with pytest.raises(Conflict) as err:   # a deferred ballot is voted again once
        rpc.voting.open_ballot(sec, {"meeting_id": mid2, "topic_id": other2, "previous_ballot_id": bid})
    assert (err.value.rule, err.value.field) == ("V5", "previous_ballot_id")
    vote(rpc, ids, org_id, again["ballot_id"], ["yes"] * 8 + ["no"])
    decision = rpc.voting.close_ballot(sec, again["ballot_id"])
    assert (decision["outcome"], decision["previous_ballot_id"], decision["status"]) == ("passed", bid, "in_force")
    with pytest.raises(RuleViolation) as err:   # only a deferred ballot is voted again
        rpc.voting.open_ballot(sec, {"meeting_id": mid2, "topic_id": other2,
                                     "previous_ballot_id": again["ballot_id"]})
    assert (err.value.rule, err.value.field) == ("V5", "previous_ballot_id")
    assert [b["ballot_id"] for b in rpc.voting.list_ballots(sec, mid2)] == [again["ballot_id"]]
    tap.wait_for("result_decided", count=2)
    check_events(tap)


def test_v5_serious_disagreement_on_a_major_item_needs_defer_or_a_reason(suite):
    rpc, tap, engine = suite
    org_id, ids, sec, mid, tids = meeting(
        rpc, 9, present=range(9), kind="regular",
        topics=[("任命甲", "personnel"), ("任命乙", "personnel"), ("计划", "work_plan")])
    bid = rpc.voting.open_ballot(sec, {"meeting_id": mid, "topic_id": tids[0], "candidates": ["cand-1"]})["ballot_id"]
    assert rpc.voting.get_ballot(sec, bid)["disagreement_ratio"] == "1/3"
    vote(rpc, ids, org_id, bid, ["yes"] * 6 + ["no", "no", "abstain"])   # 3 of 9 = one third

    with pytest.raises(RuleViolation) as err:
        rpc.voting.close_ballot(sec, bid)
    assert (err.value.rule, err.value.field) == ("V5", "confirm_reason")
    assert "serious disagreement: defer, or confirm with a recorded reason" in err.value.message
    with pytest.raises(RuleViolation):
        rpc.voting.close_ballot(sec, bid, {"confirm_reason": "  "})
    with pytest.raises(ValidationFailed) as err:
        rpc.voting.close_ballot(sec, bid, {"confirm_reason": 5})
    assert err.value.field == "confirm_reason"
    assert rpc.voting.get_ballot(sec, bid)["status"] == "open"                 # nothing written
    assert rows(engine, "SELECT count(*) FROM decisions")[0][0] == 0

    decision = rpc.voting.close_ballot(sec, bid, {"confirm_reason": "岗位空缺影响工作，需即时决定"})
    assert (decision["outcome"], decision["serious_disagreement"], decision["emergency"]) == ("passed", True, False)
    assert decision["confirm_reason"] == "岗位空缺影响工作，需即时决定"
    data = tap.wait_for("result_decided")[0]["data"]
    assert (data["serious_disagreement"], data["confirm_reason"]) == (True, "岗位空缺影响工作，需即时决定")

    # the ratio is the organization's: secretary or admin sets it; a ballot keeps the one it opened with
    with pytest.raises(Forbidden):
        rpc.voting.set_policy(member(ids, org_id, 3), org_id, {"disagreement_ratio": "1/2"})
    with pytest.raises(Forbidden):
        rpc.voting.set_policy(actor("other-sec", "other-org", "secretary"), org_id, {"disagreement_ratio": "1/2"})
    with pytest.raises(ValidationFailed) as err:
        rpc.voting.set_policy(sec, org_id, {"disagreement_ratio": "3/2"})
    assert (err.value.rule, err.value.field) == ("V5", "disagreement_ratio")
    assert rpc.voting.get_policy(sec, org_id)["disagreement_ratio"] == "1/3"       # default, nothing written
    open_before = rpc.voting.open_ballot(sec, {"meeting_id": mid, "topic_id": tids[2]})["ballot_id"]
    policy = rpc.voting.set_policy(actor("admin", None, "admin"), org_id, {"disagreement_ratio": " 1/2 "})
    assert (policy["disagreement_ratio"], policy["updated_by"]) == ("1/2", "admin")
    assert rpc.voting.set_policy(sec, org_id, {"disagreement_ratio": "1/2"})["updated_by"] == ids[0]
    assert rpc.voting.get_ballot(sec, open_before)["disagreement_ratio"] == "1/3"
    rpc.voting.close_ballot(sec, open_before)

    bid2 = rpc.voting.open_ballot(sec, {"meeting_id": mid, "topic_id": tids[1], "candidates": ["cand-2"]})["ballot_id"]
    assert rpc.voting.get_ballot(sec, bid2)["disagreement_ratio"] == "1/2"
    vote(rpc, ids, org_id, bid2, ["yes"] * 6 + ["no", "no", "abstain"])  # 3 of 9 < one half: no reason needed
    decision2 = rpc.voting.close_ballot(sec, bid2)
    assert (decision2["outcome"], decision2["serious_disagreement"], decision2["confirm_reason"]) == \
        ("passed", False, None)
    check_events(tap)


def test_v5_an_emergency_meeting_never_carries_a_major_item(suite):
    """M4/M6 (issue 16): personnel and major matters are never decided without a 48 h notice, so the
    V5 emergency exception has no major item to apply to: the emergency meeting refuses the topic."""
    rpc, tap, engine = suite
    org_id, ids, sec, mid, _ = meeting(rpc, 9, present=range(9), topics=[("抢险", "work_plan")])
    for category in ("personnel", "major_decision"):
        with pytest.raises(RuleViolation) as err:
            rpc.meetings.add_topic(sec, mid, {"title": "抢险指挥部负责人", "category": category})
        assert err.value.rule == "M4"


# ---------------------------------------------------------------- V6 reserved opinion after the decision

@pytest.mark.parametrize("method", ["named", "secret"])
def test_v6_reserved_opinion_recorded_after_the_decision(suite, method):
    rpc, tap, engine = suite
    org_id, ids, sec, mid, (tid,) = meeting(rpc, 7, present=range(6), leave=[6], topics=[("计划", "work_plan")])
    bid = rpc.voting.open_ballot(sec, {"meeting_id": mid, "topic_id": tid, "method": method})["ballot_id"]
    rpc.voting.cast_vote(member(ids, org_id, 4), bid, {"choice": "no", "reserved_opinion": "投票时保留"})
    vote(rpc, ids, org_id, bid, ["yes"] * 4)
    did = rpc.voting.close_ballot(sec, bid)["decision_id"]

    text = "保留意见：预算依据不足，但坚决执行"
    refused = [
        (member(ids, org_id, 6), {"text": text}, RuleViolation, "V6", "actor"),            # on leave
        (actor(str(uuid.uuid4()), org_id, "member"), {"text": text}, RuleViolation, "V6", "actor"),
        (member(ids, org_id, 4), {"text": text}, Conflict, "V6", "text"),                   # gave one at the vote
        (member(ids, org_id, 5), {"text": "   "}, ValidationFailed, "V6", "text"),
        (member(ids, org_id, 5), {}, ValidationFailed, "V6", "text"),
        (member(ids, org_id, 5), {"text": "x" * 5001}, ValidationFailed, "V6", "text"),
    ]
    for who, data, error, rule, field in refused:
        with pytest.raises(error) as err:
            rpc.voting.record_reserved_opinion(who, did, data)
        assert (err.value.rule, err.value.field) == (rule, field), who
    with pytest.raises(NotFound):
        rpc.voting.record_reserved_opinion(actor(ids[5], "other-org", "member"), did, {"text": text})
    assert rows(engine, "SELECT count(*) FROM reserved_opinions")[0][0] == 0

    # ids[5] was present but did not vote: taking part in the meeting is enough
    for i in (1, 5):
        saved = rpc.voting.record_reserved_opinion(member(ids, org_id, i), did, {"text": f" {text} "})
        assert (saved["decision_id"], saved["person_id"], saved["reserved_opinion"]) == (did, ids[i], text)
    with pytest.raises(Conflict):
        rpc.voting.record_reserved_opinion(member(ids, org_id, 1), did, {"text": "改口"})

    lines = {m["person_id"]: m for m in rpc.voting.get_decision(member(ids, org_id, 2), did)["members"]}
    assert [lines[ids[i]]["reserved_opinion"] for i in range(7)] == \
        [None, text, None, None, "投票时保留", text, None]
    events = tap.wait_for("reserved_opinion_recorded", count=2)
    for event, i in zip(events, (1, 5)):
        assert event["data"] == {"decision_id": did, "ballot_id": bid, "person_id": ids[i],
                                 "reserved_opinion": text, "recorded_at": event["data"]["recorded_at"]}
        assert not set(CHOICES) & set(map(str, event["data"].values()))   # V8: never a choice
    check_events(tap)


# ---------------------------------------------------------------- V7 reconsideration

def test_v7_reconsideration_supersedes_only_when_it_passes(suite):
    rpc, tap, engine = suite
    org_id, ids, sec, mid, (tid,) = meeting(rpc, 7, present=range(7), topics=[("采购办法", "organization")])
    bid = rpc.voting.open_ballot(sec, {"meeting_id": mid, "topic_id": tid})["ballot_id"]
    vote(rpc, ids, org_id, bid, ["yes"] * 5 + ["no"] * 2)
    old = rpc.voting.close_ballot(sec, bid)
    assert (old["outcome"], old["status"]) == ("passed", "in_force")

    _, _, _, mid2, (t1, t2, t3) = meeting(rpc, 7, present=range(7), org=(org_id, ids),
                                          topics=[("复议一", "organization"), ("复议二", "organization"),
                                                  ("复议三", "organization")])
    ask = {"decision_id": old["decision_id"], "meeting_id": mid2, "topic_id": t1,
           "approved_by_secretary": True, "reason": "上级政策调整"}
    deputy = member(ids, org_id, 1)
    for who, data, error, rule, field in [
        (deputy, ask, RuleViolation, "V7", "actor"),
        (sec, dict(ask, approved_by_secretary=False), RuleViolation, "V7", "approved_by_secretary"),
        (sec, dict(ask, reason="  "), ValidationFailed, "V7", "reason"),
        (sec, {k: v for k, v in ask.items() if k != "approved_by_secretary"}, ValidationFailed, "V7",
         "approved_by_secretary"),
    ]:
        with pytest.raises(error) as err:
            rpc.voting.open_reconsideration(who, data)
        assert (err.value.rule, err.value.field) == (rule, field)
    with pytest.raises(NotFound):
        rpc.voting.open_reconsideration(sec, dict(ask, decision_id=str(uuid.uuid4())))
    assert rows(engine, "SELECT count(*) FROM ballots")[0][0] == 1

    # a failed reconsideration leaves the old decision in force
    first = rpc.voting.open_reconsideration(sec, ask)
    assert (first["reconsiders_decision_id"], first["reconsideration_reason"]) == (old["decision_id"], "上级政策调整")
    with pytest.raises(Conflict) as err:   # one reconsideration at a time
        rpc.voting.open_reconsideration(sec, dict(ask, topic_id=t2))
    assert (err.value.rule, err.value.field) == ("V7", "decision_id")
    assert rpc.voting.get_decision(sec, old["decision_id"])["status"] == "in_force"   # in force meanwhile
    vote(rpc, ids, org_id, first["ballot_id"], ["yes"] * 3 + ["no"] * 4)
    failed = rpc.voting.close_ballot(sec, first["ballot_id"])
    assert (failed["outcome"], failed["superseded_decision_id"], failed["reconsidered_decision_id"]) == \
        ("failed", None, old["decision_id"])
    assert rpc.voting.get_decision(sec, old["decision_id"])["status"] == "in_force"
    with pytest.raises(RuleViolation) as err:   # only a decision in force is reconsidered
        rpc.voting.open_reconsideration(sec, dict(ask, decision_id=failed["decision_id"], topic_id=t2))
    assert err.value.rule == "V7"

    second = rpc.voting.open_reconsideration(sec, dict(ask, topic_id=t2, method="secret"))
    vote(rpc, ids, org_id, second["ballot_id"], ["yes"] * 6 + ["abstain"])
    new = rpc.voting.close_ballot(sec, second["ballot_id"])
    assert (new["outcome"], new["superseded_decision_id"], new["status"]) == ("passed", old["decision_id"], "in_force")
    after = rpc.voting.get_decision(member(ids, org_id, 3), old["decision_id"])
    assert (after["status"], after["superseded_by"]) == ("superseded", new["decision_id"])
    assert {k: after[k] for k in ("yes", "no", "outcome")} == {"yes": 5, "no": 2, "outcome": "passed"}   # kept
    with pytest.raises(RuleViolation) as err:
        rpc.voting.open_reconsideration(sec, dict(ask, topic_id=t3))
    assert (err.value.rule, err.value.field) == ("V7", "decision_id")

    superseded = tap.wait_for("decision_superseded")
    assert len(superseded) == 1
    assert superseded[0]["data"]["decision_id"] == old["decision_id"]
    assert superseded[0]["data"]["superseded_by"] == new["decision_id"]
    results = {e["data"]["decision_id"]: e["data"] for e in tap.wait_for("result_decided", count=3)}
    assert results[new["decision_id"]]["superseded_decision_id"] == old["decision_id"]
    assert results[failed["decision_id"]]["superseded_decision_id"] is None
    listed = rpc.voting.list_decisions(sec, org_id)
    assert {d["decision_id"]: d["status"] for d in listed["items"]} == {
        old["decision_id"]: "superseded", failed["decision_id"]: "not_adopted", new["decision_id"]: "in_force"}
    check_events(tap)


# ---------------------------------------------------------------- queries

def test_list_ballots_and_decisions_for_the_frontend(suite):
    rpc, tap, engine = suite
    org_id, ids, sec, mid, tids = meeting(rpc, 5, present=range(5),
                                          topics=[(f"议题{i}", "work_plan") for i in range(3)])
    other_org, other_ids = build_org(rpc.meetings, 3)
    bids = []
    for tid in tids:
        bid = rpc.voting.open_ballot(sec, {"meeting_id": mid, "topic_id": tid})["ballot_id"]
        vote(rpc, ids, org_id, bid, ["yes"] * 3)
        rpc.voting.close_ballot(sec, bid)
        bids.append(bid)
    listed = rpc.voting.list_ballots(member(ids, org_id, 4), mid)
    assert [b["ballot_id"] for b in listed] == bids
    assert all(b["status"] == "closed" and b["votes_cast"] == 3 for b in listed)
    one = rpc.voting.get_ballot(sec, bids[0])
    assert one.pop("you_voted") is True          # the reader's own participation (V1): get_ballot only
    one.pop("voted")                             # the roll of an open ballot (V2): get_ballot only
    assert listed[0] == one
    assert rpc.voting.list_ballots(actor(other_ids[0], other_org, "secretary"), mid) == []
    assert rpc.voting.list_ballots(sec, str(uuid.uuid4())) == []

    page = rpc.voting.list_decisions(sec, org_id, 2, 0)
    assert (page["limit"], page["offset"], len(page["items"])) == (2, 0, 2) and page["next_cursor"]
    rest = rpc.voting.list_decisions(sec, org_id, 2, 0, page["next_cursor"])     # keyset paging
    assert len(rest["items"]) == 1 and rest["next_cursor"] is None
    assert rpc.voting.list_decisions(sec, org_id, 2, 2)["items"] == rest["items"]  # offset, for old callers
    ballots = [d["ballot_id"] for d in page["items"] + rest["items"]]
    assert sorted(ballots) == sorted(bids) and len(set(ballots)) == 3
    assert "members" not in page["items"][0] and page["items"][0]["status"] == "in_force"
    for item in page["items"] + rest["items"]:      # the list's one statement gives what the view gives
        whole = rpc.voting.get_decision(sec, item["decision_id"])
        assert {k: v for k, v in whole.items() if k != "members"} == item
    assert len(rpc.voting.list_decisions(actor("od", None, "org_department"), org_id)["items"]) == 3
    with pytest.raises(Forbidden):
        rpc.voting.list_decisions(actor(other_ids[0], other_org, "secretary"), org_id)
    for limit, offset, field in ((0, 0, "limit"), (501, 0, "limit"), (10, -1, "offset"), ("5", 0, "limit")):
        with pytest.raises(ValidationFailed) as err:
            rpc.voting.list_decisions(sec, org_id, limit, offset)
        assert err.value.field == field
    with pytest.raises(ValidationFailed) as err:        # a cursor with an offset: which one is meant?
        rpc.voting.list_decisions(sec, org_id, 2, 1, page["next_cursor"])
    assert err.value.field == "offset"


# ---------------------------------------------------------------- V8 secrecy

def test_v8_unanimous_secret_ballot_closes_with_a_warning(suite):
    rpc, tap, engine = suite
    org_id, ids, sec, mid, (t1, t2) = meeting(rpc, 5, present=range(5),
                                              topics=[("甲", "work_plan"), ("乙", "work_plan")])
    bid = rpc.voting.open_ballot(sec, {"meeting_id": mid, "topic_id": t1, "method": "secret"})["ballot_id"]
    vote(rpc, ids, org_id, bid, ["yes"] * 5)
    decision = rpc.voting.close_ballot(sec, bid)
    assert decision["warnings"] == ["V8: unanimous secret ballot reveals every vote"]
    assert rpc.voting.get_decision(sec, decision["decision_id"])["warnings"] == decision["warnings"]
    assert "warnings" not in tap.wait_for("result_decided")[0]["data"]

    bid = rpc.voting.open_ballot(sec, {"meeting_id": mid, "topic_id": t2, "method": "secret"})["ballot_id"]
    vote(rpc, ids, org_id, bid, ["yes"] * 4 + ["abstain"])
    assert rpc.voting.close_ballot(sec, bid)["warnings"] == []


# a choice as a value (not a key such as the tally's "no": 2)
CHOICE_VALUE = re.compile(r"(?<![A-Za-z_])(yes|no|abstain)(?![A-Za-z_])(?!['\"]?\s*:)")
NEAR = 120   # characters either side of a voter id


def _links_in_json(node, voters):
    """Objects in a JSON document that name a voter next to a choice (as a sibling value, or a
    voter key mapping to a choice)."""
    found = []
    if isinstance(node, dict):
        scalars = [v for v in node.values() if not isinstance(v, (dict, list))]
        names_voter = any(isinstance(v, str) and any(p in v for p in voters) for v in scalars)
        has_choice = any(isinstance(v, str) and v in CHOICES for v in scalars)
        if names_voter and has_choice:
            found.append(node)
        found += [{k: v} for k, v in node.items() if k in voters and v in CHOICES]
        for value in node.values():
            found += _links_in_json(value, voters)
    elif isinstance(node, list):
        for value in node:
            found += _links_in_json(value, voters)
    return found


def _links_in_text(text, voters):
    """Text where a choice value stands within NEAR characters of a voter id, with no other
    voter id in between (a log line, a repr, a free-text cell)."""
    spots = sorted((m.start(), m.end()) for p in voters for m in re.finditer(re.escape(p), text))
    found = []
    for k, (start, end) in enumerate(spots):
        left = max(start - NEAR, spots[k - 1][1] if k else 0)
        right = min(end + NEAR, spots[k + 1][0] if k + 1 < len(spots) else len(text))
        for piece in (text[left:start], text[end:right]):
            if CHOICE_VALUE.search(piece):
                found.append(text[left:right])
    return found


def scan_tables(engine, voters):
    found = []
    with engine.connect() as conn:
        for table in sa.inspect(engine).get_table_names():
            for row in conn.execute(sa.text(f'SELECT * FROM "{table}"')).mappings():
                cells = [str(v) for v in row.values() if v is not None]
                if any(p in c for c in cells for p in voters) and any(c in CHOICES for c in cells):
                    found.append((table, dict(row)))
                for cell in cells:
                    if cell[:1] in "{[":
                        try:
                            found += [(table, link) for link in _links_in_json(json.loads(cell), voters)]
                        except ValueError:
                            pass
                    found += [(table, t) for t in _links_in_text(cell, voters)]
    return found


def scan_events(events, voters):
    return [link for e in events
            for link in _links_in_json(e, voters) + _links_in_text(json.dumps(e, ensure_ascii=False), voters)]


def scan_logs(records, voters):
    return [line for r in records for line in _links_in_text(r.getMessage(), voters)]


def test_v8_canary_no_table_log_or_event_links_a_secret_voter_to_a_choice(suite, caplog, tmp_path):
    """Canary: unique person ids vote in secret; afterwards every table of the voting database,
    every log record (DEBUG, every logger, this process hosts the services) and every event on
    ``voting.events`` (a queue bound before the vote) is searched for a voter next to a choice.

    The same scanner run over a named ballot of another organization must find the links,
    so the search itself is shown to work."""
    rpc, tap, engine = suite
    caplog.set_level(logging.DEBUG)
    org_id, ids, sec, mid, (tid,) = meeting(rpc, 7, present=range(6), leave=[6], topics=[("人事制度", "work_plan")])
    bid = rpc.voting.open_ballot(sec, {"meeting_id": mid, "topic_id": tid, "method": "secret"})["ballot_id"]
    plan = ["yes", "no", "yes", "abstain", "yes", "no"]
    for i, choice in enumerate(plan):
        data = {"choice": choice}
        if i == 1:
            data["reserved_opinion"] = "保留：程序需完善"
        rpc.voting.cast_vote(member(ids, org_id, i), bid, data)
    decision = rpc.voting.close_ballot(sec, bid)
    assert (decision["yes"], decision["no"], decision["abstain"], decision["warnings"]) == (3, 2, 1, [])
    rpc.voting.record_reserved_opinion(member(ids, org_id, 3), decision["decision_id"], {"text": "保留：请再调研"})
    rpc.voting.get_decision(member(ids, org_id, 2), decision["decision_id"])
    rpc.voting.list_decisions(sec, org_id)
    rpc.voting.list_ballots(sec, mid)
    for event_type in ("ballot_opened", "ballot_closed", "result_decided", "reserved_opinion_recorded"):
        tap.wait_for(event_type)

    voters = set(ids[:6])
    assert rows(engine, "SELECT count(*) FROM participations WHERE ballot_id = :b", b=bid)[0][0] == 6
    box = rows(engine, "SELECT choice, sealed FROM ballot_box WHERE ballot_id = :b", b=bid)
    assert all(c is None for c, _ in box)                     # V8: sealed, never in clear
    key = ballot_key.key_from_file(tmp_path / "data" / "voting-ballot.key")   # the service's key file
    assert key.count(s for _, s in box) == domain.tally(plan)
    assert len(caplog.records) > 0 and len(tap.events) >= 4
    assert scan_tables(engine, voters) == []
    assert scan_events(tap.events, voters) == []
    assert scan_logs(caplog.records, voters) == []
    # the secret ballot's voters are present in events and tables — only never next to a choice
    assert any(ids[0] in json.dumps(e) for e in tap.events)

    # positive control: the same scanners find the links of a named ballot
    c_org, c_ids, c_sec, c_mid, (c_tid,) = meeting(rpc, 3, present=range(3), topics=[("对照", "work_plan")])
    c_bid = rpc.voting.open_ballot(c_sec, {"meeting_id": c_mid, "topic_id": c_tid, "method": "named"})["ballot_id"]
    vote(rpc, c_ids, c_org, c_bid, ["yes", "no", "yes"])
    rpc.voting.close_ballot(c_sec, c_bid)
    tap.wait_for("result_decided", count=2)
    control = set(c_ids)
    assert len(scan_tables(engine, control)) >= 3                  # open_votes rows, the outbox body
    assert len(scan_events(tap.events, control)) >= 3              # the three member lines
    assert scan_logs(caplog.records, control)                      # the close reply, logged at DEBUG
    assert scan_logs([logging.makeLogRecord({"msg": f"vote {c_ids[0]} -> no"})], control)
    assert not scan_logs([logging.makeLogRecord({"msg": f"tally no: 2, members {c_ids[0]}"})], control)
    # and it still finds nothing for the secret voters
    assert scan_tables(engine, voters) == [] and scan_events(tap.events, voters) == []


# ---------------------------------------------------------------- schema

def test_migrations_build_exactly_the_models(database_url):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from shared.db import make_engine, migrate, script_head

    engine = make_engine(database_url)
    try:
        migrate(engine, Path(models.__file__).parent / "migrations", "alembic_version_voting")
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={
                "compare_type": True,
                "include_name": lambda name, kind, _parent: not (kind == "table" and name.startswith("alembic_")),
            })
            assert compare_metadata(context, models.Base.metadata) == []
            assert conn.execute(sa.text("SELECT version_num FROM alembic_version_voting")).scalar() == \
                script_head(Path(models.__file__).parent / "migrations")
    finally:
        engine.dispose()
