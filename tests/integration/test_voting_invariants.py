"""Issue 16, voting side, over real RabbitMQ RPC on SQLite and PostgreSQL: rules that hold
whatever the order of calls — one decision in force per item (V5, V7, I2); votes only inside
an open meeting, from members present at that moment (V1, M8, I3).

Every refusal is checked to write nothing.
"""
import datetime as dt
import time

import pytest

from shared import clock
from shared.errors import Conflict, RuleViolation, ValidationFailed
from tests.integration.test_voting_rpc import MeetingsWithPresence, controlled_clock, member, suite  # noqa: F401
from tests.integration.test_voting_rules import check_events, meeting, rows, vote
from tests.support.roster import actor, build_org

pytestmark = pytest.mark.integration


# ---------------------------------------------------------------- defect 2: a decided item is not voted again

@pytest.mark.parametrize("plan, outcome", [(["yes"] * 5 + ["no"] * 2, "passed"), (["yes"] * 3 + ["no"] * 4, "failed")])
def test_v7_a_decided_item_cannot_be_voted_again_at_will(suite, plan, outcome):
    rpc, tap, engine = suite
    org_id, ids, sec, mid, (tid,) = meeting(rpc, 7, present=range(7), topics=[("采购办法", "organization")])
    bid = rpc.voting.open_ballot(sec, {"meeting_id": mid, "topic_id": tid})["ballot_id"]
    vote(rpc, ids, org_id, bid, plan)
    first = rpc.voting.close_ballot(sec, bid)
    assert (first["outcome"], first["status"]) == (outcome, "in_force")

    for method in ("named", "secret", "show_of_hands"):
        with pytest.raises(RuleViolation) as err:
            rpc.voting.open_ballot(sec, {"meeting_id": mid, "topic_id": tid, "method": method})
        assert (err.value.rule, err.value.field) == ("V7", "topic_id")
        assert first["decision_id"] in err.value.message
    assert rows(engine, "SELECT count(*) FROM ballots")[0][0] == 1          # nothing written
    assert rows(engine, "SELECT count(*) FROM electorate WHERE ballot_id <> :b", b=bid)[0][0] == 0
    in_force = [d for d in rpc.voting.list_decisions(sec, org_id)["items"] if d["status"] == "in_force"]
    assert [d["decision_id"] for d in in_force] == [first["decision_id"]]
    assert len(tap.wait_for("ballot_opened")) == 1


def test_v7_after_a_passing_reconsideration_the_superseded_decision_names_its_successor(suite):
    rpc, tap, engine = suite
    org_id, ids, sec, mid, (tid, tid_b) = meeting(rpc, 7, present=range(7),
                                                  topics=[("采购办法", "organization"), ("复议", "organization")])
    bid = rpc.voting.open_ballot(sec, {"meeting_id": mid, "topic_id": tid})["ballot_id"]
    vote(rpc, ids, org_id, bid, ["yes"] * 5 + ["no"] * 2)
    old = rpc.voting.close_ballot(sec, bid)
    # V7: the secretary's approved reconsideration reopens the decided item itself
    again = rpc.voting.open_reconsideration(sec, {"decision_id": old["decision_id"], "meeting_id": mid,
                                                  "topic_id": tid, "approved_by_secretary": True,
                                                  "reason": "上级政策调整"})
    vote(rpc, ids, org_id, again["ballot_id"], ["yes"] * 6 + ["no"])
    new = rpc.voting.close_ballot(sec, again["ballot_id"])
    old_now = rpc.voting.get_decision(sec, old["decision_id"])
    assert (old_now["status"], old_now["superseded_by"]) == ("superseded", new["decision_id"])     # I2
    assert (new["status"], new["superseded_decision_id"]) == ("in_force", old["decision_id"])
    with pytest.raises(RuleViolation) as err:          # the item is decided again: only V7 reopens it
        rpc.voting.open_ballot(sec, {"meeting_id": mid, "topic_id": tid})
    assert err.value.rule == "V7" and new["decision_id"] in err.value.message
    with pytest.raises(RuleViolation) as err:          # a reconsideration of the superseded one: refused
        rpc.voting.open_reconsideration(sec, {"decision_id": old["decision_id"], "meeting_id": mid,
                                              "topic_id": tid_b, "approved_by_secretary": True, "reason": "再议"})
    assert err.value.rule == "V7"
    items = {d["decision_id"]: d["status"] for d in rpc.voting.list_decisions(sec, org_id)["items"]}
    assert items == {old["decision_id"]: "superseded", new["decision_id"]: "in_force"}


# ---------------------------------------------------------------- defect 5: votes only inside an open meeting (V1, M8, I3)

def wait_status(rpc, who, ballot_id, status, timeout=10):
    deadline = time.monotonic() + timeout
    while (ballot := rpc.voting.get_ballot(who, ballot_id))["status"] != status:
        assert time.monotonic() < deadline, f"ballot {ballot_id} still {ballot['status']}"
        time.sleep(0.1)
    return ballot


def test_v1_no_vote_record_or_close_once_the_meeting_closed_and_the_open_ballot_lapses(suite, monkeypatch):
    rpc, tap, engine = suite
    org_id, ids, sec, mid, (tid, tid_b) = meeting(rpc, 7, present=range(7),
                                                  topics=[("采购办法", "organization"), ("计划", "work_plan")])
    bid = rpc.voting.open_ballot(sec, {"meeting_id": mid, "topic_id": tid})["ballot_id"]
    hands = rpc.voting.open_ballot(sec, {"meeting_id": mid, "topic_id": tid_b, "method": "show_of_hands"})["ballot_id"]
    vote(rpc, ids, org_id, bid, ["yes"] * 4)
    assert rpc.voting.open_ballots(sec, mid) == [bid, hands]
    assert rpc.voting.open_ballots(actor("x", "another-org", "secretary"), mid) == []

    with pytest.raises(RuleViolation) as err:     # meetings asks voting first: refused while ballots are open
        rpc.meetings.close_meeting(sec, mid)
    assert (err.value.rule, err.value.field) == ("V1", "meeting_id") and "2 ballots" in err.value.message
    # the race: voting answered "none open" just before these two ballots opened
    monkeypatch.setattr(MeetingsWithPresence, "_open_ballots", lambda self, actor, meeting_id: [])
    rpc.meetings.close_meeting(sec, mid)          # so meetings closes it while ballots are open
    for call in (lambda: rpc.voting.cast_vote(member(ids, org_id, 5), bid, {"choice": "yes"}),
                 lambda: rpc.voting.close_ballot(sec, bid),
                 lambda: rpc.voting.defer_ballot(sec, bid, {"reason": "会后再议"}),
                 lambda: rpc.voting.record_votes(sec, hands, {"choices": {ids[2]: "yes"}}),
                 lambda: rpc.voting.record_votes(sec, hands, {"counts": {"yes": 5, "no": 0, "abstain": 0}})):
        with pytest.raises(RuleViolation) as err:
            call()
        assert (err.value.rule, err.value.field) == ("V1", "meeting_id")
        assert "only while their meeting is open" in err.value.message
    assert rows(engine, "SELECT count(*) FROM decisions")[0][0] == 0
    assert rows(engine, "SELECT count(*) FROM participations")[0][0] == 4

    # the backstop: meetings.meeting_closed lapses every ballot still open, with no decision
    for b in (bid, hands):
        lapsed = wait_status(rpc, sec, b, "lapsed")
        assert lapsed["decision_id"] is None and lapsed["closed_at"] is not None
    events = {e["data"]["ballot_id"]: e["data"] for e in tap.wait_for("ballot_lapsed", count=2)}
    assert events[bid]["votes_cast"] == 4 and events[hands]["votes_cast"] == 0
    assert events[bid]["meeting_id"] == mid and events[bid]["agenda_item_id"] == tid
    assert rpc.voting.open_ballots(sec, mid) == []
    assert rows(engine, "SELECT count(*) FROM decisions")[0][0] == 0
    check_events(tap)


def test_v1_a_member_recorded_as_departed_does_not_vote_until_back(suite):
    rpc, tap, engine = suite
    org_id, ids, sec, mid, (tid, tid_b) = meeting(rpc, 7, present=range(7),
                                                  topics=[("采购办法", "organization"), ("计划", "work_plan")])
    bid = rpc.voting.open_ballot(sec, {"meeting_id": mid, "topic_id": tid})["ballot_id"]
    hands = rpc.voting.open_ballot(sec, {"meeting_id": mid, "topic_id": tid_b, "method": "show_of_hands"})["ballot_id"]
    rpc.meetings.record_departure(sec, mid, ids[3])
    with pytest.raises(RuleViolation) as err:
        rpc.voting.cast_vote(member(ids, org_id, 3), bid, {"choice": "no"})
    assert (err.value.rule, err.value.field) == ("V1", "actor") and "departed" in err.value.message
    with pytest.raises(RuleViolation) as err:     # nor does the chair record them
        rpc.voting.record_votes(sec, hands, {"choices": {ids[2]: "yes", ids[3]: "yes"}})
    assert (err.value.rule, err.value.field) == ("V1", f"choices.{ids[3]}")
    assert rows(engine, "SELECT count(*) FROM participations")[0][0] == 0      # all or nothing

    rpc.meetings.record_arrival(sec, mid, ids[3])  # back in the room: votes again
    assert rpc.voting.cast_vote(member(ids, org_id, 3), bid, {"choice": "no"})["votes_cast"] == 1
    vote(rpc, ids, org_id, bid, ["yes"] * 3)
    decision = rpc.voting.close_ballot(sec, bid)
    assert (decision["yes"], decision["no"], decision["outcome"]) == (3, 1, "failed")


# ---------------------------------------------------------------- defect 6 (part): the candidate comes from the item (V4, I4)

def test_v4_a_personnel_ballot_names_its_items_candidate_and_no_other(suite):
    rpc, tap, engine = suite
    org_id, ids = build_org(rpc.meetings, 7)
    sec = actor(ids[0], org_id, "secretary")
    when = clock.now() + dt.timedelta(hours=49)
    mid = rpc.meetings.schedule_meeting(sec, {"org_id": org_id, "kind": "regular", "title": "党组会议",
                                              "scheduled_at": when.isoformat()})["meeting_id"]
    tid = rpc.meetings.add_topic(sec, mid, {"title": "任命处长", "category": "personnel",
                                            "candidate_person_ids": [ids[6]]})["topic_id"]
    assert rpc.meetings.get_topic(sec, tid)["candidate_person_id"] == ids[6]
    rpc.meetings.notice_meeting(sec, mid)
    clock.advance(when - clock.now())                 # M5: held at its noticed time
    rpc.meetings.open_meeting(sec, mid, {"present": ids, "leave": []})
    for named in (["cand-b"], [ids[5]], [ids[6], ids[5]]):
        with pytest.raises(RuleViolation) as err:
            rpc.voting.open_ballot(sec, {"meeting_id": mid, "topic_id": tid, "candidates": named})
        assert (err.value.rule, err.value.field) == ("V4", "candidates")
    assert rows(engine, "SELECT count(*) FROM ballots")[0][0] == 0
    ballot = rpc.voting.open_ballot(sec, {"meeting_id": mid, "topic_id": tid})      # from the item itself
    assert ballot["candidate_person_id"] == ids[6]
    vote(rpc, ids, org_id, ballot["ballot_id"], ["yes"] * 5)
    decision = rpc.voting.close_ballot(sec, ballot["ballot_id"])
    assert decision["candidate_person_id"] == ids[6]
    assert tap.wait_for("result_decided")[0]["data"]["candidate_person_id"] == ids[6]


# ---------------------------------------------------------------- defect 6: recusal (回避, V4)

def test_v4_the_candidate_and_members_who_declare_a_conflict_are_recused(suite):
    rpc, tap, engine = suite
    org_id, ids = build_org(rpc.meetings, 7)
    sec = actor(ids[0], org_id, "secretary")
    when = clock.now() + dt.timedelta(hours=49)
    mid = rpc.meetings.schedule_meeting(sec, {"org_id": org_id, "kind": "regular", "title": "党组会议",
                                              "scheduled_at": when.isoformat()})["meeting_id"]
    person_tid = rpc.meetings.add_topic(sec, mid, {"title": "任命副局长", "category": "personnel",
                                                   "candidate_person_ids": [ids[6]]})["topic_id"]
    plan_tid = rpc.meetings.add_topic(sec, mid, {"title": "采购合同", "category": "organization"})["topic_id"]
    rpc.meetings.notice_meeting(sec, mid)
    clock.advance(when - clock.now())                 # M5: held at its noticed time
    rpc.meetings.open_meeting(sec, mid, {"present": ids, "leave": []})

    # the candidate, a group member, takes no part in their own appointment: N 7 -> 6, present 7 -> 6
    ballot = rpc.voting.open_ballot(sec, {"meeting_id": mid, "topic_id": person_tid, "method": "secret"})
    assert (ballot["recused"], ballot["n"], ballot["present"]) == ([ids[6]], 6, 6)
    assert ids[6] not in ballot["eligible"]
    with pytest.raises(RuleViolation) as err:
        rpc.voting.cast_vote(member(ids, org_id, 6), ballot["ballot_id"], {"choice": "yes"})
    assert (err.value.rule, err.value.field) == ("V4", "actor")
    vote(rpc, ids, org_id, ballot["ballot_id"], ["yes"] * 4 + ["no"] * 2)     # 4 of N=6: more than half
    decision = rpc.voting.close_ballot(sec, ballot["ballot_id"], {"confirm_reason": "工作急需"})
    assert (decision["outcome"], decision["n"], decision["present"], decision["threshold"]) == ("passed", 6, 6, 4)
    assert decision["recused"] == [ids[6]]
    lines = {m["person_id"]: m for m in decision["members"]}
    assert lines[ids[6]]["recused"] is True and lines[ids[6]]["voted"] is False
    assert all(lines[p]["recused"] is False for p in ids[:6])
    event = tap.wait_for("result_decided")[0]["data"]
    assert event["recused"] == [ids[6]] and event["n"] == 6
    assert tap.wait_for("ballot_opened")[0]["data"]["recused"] == [ids[6]]

    # a member declares a conflict before the item's ballot: recused when it opens
    for who, data, error, field in [
        (member(ids, org_id, 5), {"meeting_id": mid, "topic_id": plan_tid, "reason": "  "}, ValidationFailed, "reason"),
        (actor("obs-1", org_id, "office"), {"meeting_id": mid, "topic_id": plan_tid, "reason": "亲属"},
         RuleViolation, "actor"),
    ]:
        with pytest.raises(error) as err:
            rpc.voting.declare_conflict(who, data)
        assert (err.value.rule, err.value.field) == ("V4", field)
    declared = rpc.voting.declare_conflict(member(ids, org_id, 5),
                                           {"meeting_id": mid, "topic_id": plan_tid, "reason": "配偶任职于合同相对方"})
    assert (declared["person_id"], declared["ballot_id"]) == (ids[5], None)
    with pytest.raises(Conflict) as err:
        rpc.voting.declare_conflict(member(ids, org_id, 5), {"meeting_id": mid, "topic_id": plan_tid, "reason": "再次"})
    assert err.value.rule == "V4"
    plan = rpc.voting.open_ballot(sec, {"meeting_id": mid, "topic_id": plan_tid})
    assert (plan["recused"], plan["n"], plan["present"]) == ([ids[5]], 6, 6)

    # after voting it is too late; before voting, on an open ballot, it applies at once
    rpc.voting.cast_vote(member(ids, org_id, 4), plan["ballot_id"], {"choice": "yes"})
    with pytest.raises(Conflict) as err:
        rpc.voting.declare_conflict(member(ids, org_id, 4), {"meeting_id": mid, "topic_id": plan_tid, "reason": "x"})
    assert (err.value.rule, err.value.field) == ("V4", "topic_id")
    assert rpc.voting.declare_conflict(member(ids, org_id, 3), {"meeting_id": mid, "topic_id": plan_tid,
                                                                "reason": "曾参与投标"})["ballot_id"] == plan["ballot_id"]
    now = rpc.voting.get_ballot(sec, plan["ballot_id"])
    assert (now["recused"], now["n"], now["present"]) == (sorted([ids[3], ids[5]]), 5, 5)
    with pytest.raises(RuleViolation) as err:
        rpc.voting.cast_vote(member(ids, org_id, 3), plan["ballot_id"], {"choice": "no"})
    assert err.value.rule == "V4"
    vote(rpc, ids, org_id, plan["ballot_id"], ["yes"] * 3)                     # ids 0-2; with ids[4]: 4 of N=5
    result = rpc.voting.close_ballot(sec, plan["ballot_id"])
    assert (result["outcome"], result["yes"], result["n"], result["recused"]) == \
        ("passed", 4, 5, sorted([ids[3], ids[5]]))
    listed = {d["decision_id"]: d for d in rpc.voting.list_decisions(sec, org_id)["items"]}
    assert listed[result["decision_id"]]["recused"] == sorted([ids[3], ids[5]])      # V4, in the list too
    check_events(tap)


# ---------------------------------------------------------------- defect 10: the window for reserved opinions (V6)

def test_v6_reserved_opinions_after_the_decision_close_when_the_minutes_are_approved(suite):
    rpc, tap, engine = suite
    org_id, ids, sec, mid, (tid,) = meeting(rpc, 7, present=range(7), topics=[("采购办法", "organization")])
    bid = rpc.voting.open_ballot(sec, {"meeting_id": mid, "topic_id": tid})["ballot_id"]
    vote(rpc, ids, org_id, bid, ["yes"] * 5 + ["no"] * 2)
    decision = rpc.voting.close_ballot(sec, bid)
    did = decision["decision_id"]
    rpc.meetings.close_meeting(sec, mid)
    # after the meeting, before the minutes are approved: still open
    kept = rpc.voting.record_reserved_opinion(member(ids, org_id, 5), did, {"text": "对执行时限保留意见"})
    assert kept["reserved_opinion"] == "对执行时限保留意见"
    clerk = actor("cs-" + ids[0], org_id, "confidential_secretary")
    rpc.meetings.record_minutes(clerk, mid, {"text": "会议纪要：审议通过采购办法。"})
    rpc.meetings.approve_minutes(sec, mid)

    def refused():
        try:
            rpc.voting.record_reserved_opinion(member(ids, org_id, 6), did, {"text": "迟到的保留意见"})
        except RuleViolation as exc:
            return exc
        raise AssertionError("a reserved opinion was accepted after the minutes were approved")
    deadline = time.monotonic() + 10
    err = None
    while err is None:
        # voting learns of the approval from meetings.minutes_approved; until then the window is open
        assert time.monotonic() < deadline, "voting never learnt that the minutes were approved"
        if rows(engine, "SELECT count(*) FROM minutes_approvals WHERE meeting_id = :m", m=mid)[0][0]:
            err = refused()
        else:
            time.sleep(0.1)
    assert (err.rule, err.field) == ("V6", "decision_id") and "minutes" in err.message
    lines = {m["person_id"]: m for m in rpc.voting.get_decision(sec, did)["members"]}
    assert lines[ids[5]]["reserved_opinion"] == "对执行时限保留意见" and lines[ids[6]]["reserved_opinion"] is None
    assert len(tap.wait_for("reserved_opinion_recorded")) == 1
