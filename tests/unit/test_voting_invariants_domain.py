"""Issue 16, voting side: the rules that hold whatever the order of calls (V1, V4, V5, V7, M8).

Plain domain functions, no broker, no database.
"""
import datetime as dt

import pytest

from services.voting import domain
from shared.errors import Conflict, NotFound, RuleViolation, ValidationFailed


def dec(decision_id, outcome, meeting_id="m1", superseded_by=None, reconsidered=None):
    return {"decision_id": decision_id, "meeting_id": meeting_id, "outcome": outcome,
            "superseded_by": superseded_by, "reconsidered_decision_id": reconsidered}


# ---------------------------------------------------------------- V5, V7, V9: one decision in force per item (I2)

def test_an_item_never_voted_opens():
    domain.check_item_open("m1", [])


@pytest.mark.parametrize("outcome", ["passed", "failed"])
def test_v7_a_decided_item_is_not_voted_again_without_a_reconsideration(outcome):
    with pytest.raises(RuleViolation) as err:
        domain.check_item_open("m1", [dec("d1", outcome)])
    assert (err.value.rule, err.value.field) == ("V7", "topic_id")
    with pytest.raises(RuleViolation):                       # nor at a later meeting
        domain.check_item_open("m2", [dec("d1", outcome)])


def test_v7_an_approved_reconsideration_of_that_decision_reopens_the_item():
    domain.check_item_open("m2", [dec("d1", "passed")], reconsiders_id="d1")
    with pytest.raises(RuleViolation) as err:                # reconsidering another decision does not
        domain.check_item_open("m2", [dec("d1", "passed")], reconsiders_id="d-other")
    assert err.value.rule == "V7"


def test_v7_after_a_passing_reconsideration_only_the_successor_is_in_force():
    history = [dec("d1", "passed", superseded_by="d2"), dec("d2", "passed", reconsidered="d1")]
    with pytest.raises(RuleViolation) as err:
        domain.check_item_open("m3", history)
    assert "d2" in err.value.message
    domain.check_item_open("m3", history, reconsiders_id="d2")


def test_v7_a_failed_reconsideration_leaves_the_old_decision_in_force():
    history = [dec("d1", "passed"), dec("d2", "failed", reconsidered="d1")]
    assert domain.decision_status(None, "failed", reconsideration=True) == domain.NOT_ADOPTED
    assert domain.decision_status(None, "passed") == domain.IN_FORCE
    domain.check_item_open("m3", history, reconsiders_id="d1")   # d1 may be reconsidered again


def test_v5_a_deferred_item_is_not_voted_again_at_the_same_meeting():
    with pytest.raises(RuleViolation) as err:
        domain.check_item_open("m1", [dec("d1", "deferred", meeting_id="m1")])
    assert (err.value.rule, err.value.field) == ("V5", "topic_id")
    domain.check_item_open("m2", [dec("d1", "deferred", meeting_id="m1")])   # a later meeting: yes


def test_decision_status_names_what_is_not_in_force():
    assert domain.decision_status("d2", "passed") == domain.SUPERSEDED
    assert domain.decision_status(None, "deferred") == domain.DEFERRED
    assert domain.decision_status(None, "failed") == domain.IN_FORCE        # the item was rejected
    assert set(domain.DECISION_STATUSES) == {"in_force", "superseded", "deferred", "not_adopted"}


def previous(**kw):
    return dict({"org_id": "o1", "outcome": "deferred", "followed_by": None, "meeting_id": "m1",
                 "category": "personnel"}, **kw)


def test_v5_revote_at_a_later_meeting_on_the_same_kind_of_item():
    domain.check_revote("o1", previous(), "m2", "personnel")
    with pytest.raises(RuleViolation) as err:
        domain.check_revote("o1", previous(), "m1", "personnel")
    assert (err.value.rule, err.value.field) == ("V5", "previous_ballot_id")
    assert "later meeting" in err.value.message
    with pytest.raises(RuleViolation) as err:
        domain.check_revote("o1", previous(), "m2", "work_plan")
    assert (err.value.rule, err.value.field) == ("V5", "previous_ballot_id")
    with pytest.raises(Conflict):
        domain.check_revote("o1", previous(followed_by="b9"), "m2", "personnel")
    with pytest.raises(NotFound):
        domain.check_revote("o2", previous(), "m2", "personnel")



# ---------------------------------------------------------------- V1, M8: ballots live inside an open meeting (I3)

def test_v1_a_present_member_votes_while_the_meeting_is_open():
    domain.check_in_session("opened", "present")
    domain.check_in_session("opened", None, voter=False)           # the chair closing: only the meeting matters


@pytest.mark.parametrize("status", ["closed", "minutes_approved", "draft", "noticed", "cancelled", None])
def test_v1_nothing_is_voted_or_closed_outside_an_open_meeting(status):
    for voter in (True, False):
        with pytest.raises(RuleViolation) as err:
            domain.check_in_session(status, "present", voter=voter)
        assert (err.value.rule, err.value.field) == ("V1", "meeting_id")


@pytest.mark.parametrize("presence, says", [("absent", "departed"), ("leave", "on leave"), (None, "not attending")])
def test_v1_only_members_present_at_this_moment_vote(presence, says):
    with pytest.raises(RuleViolation) as err:
        domain.check_in_session("opened", presence)
    assert (err.value.rule, err.value.field) == ("V1", "actor") and says in err.value.message
    with pytest.raises(RuleViolation) as err:
        domain.check_in_session("opened", presence, field="choices.p9")
    assert err.value.field == "choices.p9"


# ---------------------------------------------------------------- V4: the candidate comes from the item (I4)

def test_v4_the_ballots_candidate_is_the_items_candidate():
    assert domain.check_candidates("personnel", None, item_candidate="cand-a") == "cand-a"
    assert domain.check_candidates("personnel", ["cand-a"], item_candidate="cand-a") == "cand-a"
    with pytest.raises(RuleViolation) as err:
        domain.check_candidates("personnel", ["cand-b"], item_candidate="cand-a")
    assert (err.value.rule, err.value.field) == ("V4", "candidates") and "cand-a" in err.value.message
    with pytest.raises(RuleViolation) as err:
        domain.check_candidates("personnel", ["cand-a", "cand-b"], item_candidate="cand-a")
    assert (err.value.rule, err.value.field) == ("V4", "candidates")


# ---------------------------------------------------------------- V4 recusal (回避), N and present for the item

def seven(present=7, leave=()):
    ids = [f"p{i}" for i in range(7)]
    return {pid: domain.Elector(pid, "secretary" if pid == "p0" else "member",
                                "leave" if pid in leave else "present" if i < present else "absent")
            for i, pid in enumerate(ids)}


def test_v4_the_candidate_and_declared_members_are_recused_observers_never():
    e = seven()
    e["obs"] = domain.Elector("obs", "observer", "present")
    assert domain.recused_members(e, "p6", {"p2", "obs"}) == ["p2", "p6"]
    assert domain.recused_members(e, "outsider", set()) == []      # a candidate from outside the group


def test_v4_n_and_present_of_an_item_leave_the_recused_out():
    e = domain.with_recusals(seven(present=6), ["p5", "p6"])         # p6 absent and recused, p5 present and recused
    assert domain.item_figures(7, e) == (5, 5)
    assert domain.threshold(5) == 3 and domain.quorum_required(5) == 4
    assert domain.item_figures(7, seven(present=6)) == (7, 6)      # without recusals: the meeting's figures


def test_v4_m8_the_ballots_quorum_counts_the_item():
    e = domain.with_recusals(seven(present=5), ["p0", "p1"])         # 3 present of an item N of 5: below 4
    with pytest.raises(RuleViolation) as err:
        domain.check_open("p0", ("secretary",), "p0", "named", 7, e, None)
    assert err.value.rule == "M8" and "3 of 5" in err.value.message and "2 recused" in err.value.message
    assert domain.check_open("p0", ("secretary",), "p0", "named", 7, domain.with_recusals(seven(), ["p6"]), None) == 6


def test_v4_a_recused_member_neither_votes_nor_is_recorded_nor_keeps_a_reserved_opinion():
    e = domain.with_recusals(seven(), ["p6"])
    with pytest.raises(RuleViolation) as err:
        domain.check_can_vote(e["p6"], domain.OPEN, False, "yes")
    assert (err.value.rule, err.value.field) == ("V4", "actor") and "回避" in err.value.message
    with pytest.raises(RuleViolation) as err:
        domain.check_record_choices(e, set(), {"p1": "yes", "p6": "yes"}, False)
    assert (err.value.rule, err.value.field) == ("V4", "choices.p6")
    with pytest.raises(RuleViolation):
        domain.check_reserved_opinion(e["p6"], "passed", False, "保留")
    lines = {m["person_id"]: m for m in domain.member_lines(e, {"p1"}, {"p6": "x"}, {"p1": "yes"}, False)}
    assert lines["p6"]["recused"] is True and lines["p6"]["reserved_opinion"] is None
    assert lines["p1"]["recused"] is False


def test_v4_a_conflict_is_declared_once_by_a_group_member_before_voting():
    assert domain.check_declaration(True, " 近亲属 ", False, False) == "近亲属"
    for args, error, field in [((False, "x", False, False), RuleViolation, "actor"),
                               ((True, "  ", False, False), ValidationFailed, "reason"),
                               ((True, "x", True, False), Conflict, "topic_id"),
                               ((True, "x", False, True), Conflict, "topic_id")]:
        with pytest.raises(error) as err:
            domain.check_declaration(*args)
        assert (err.value.rule, err.value.field) == ("V4", field)


# ---------------------------------------------------------------- V6: the window for reserved opinions after the decision

def test_v6_by_default_the_window_closes_when_the_minutes_are_approved():
    decided = dt.datetime(2026, 12, 1, 3, tzinfo=dt.timezone.utc)
    domain.check_opinion_window(decided, decided + dt.timedelta(days=400))          # no approval yet: open
    with pytest.raises(RuleViolation) as err:
        domain.check_opinion_window(decided, decided + dt.timedelta(days=1), decided + dt.timedelta(hours=5))
    assert (err.value.rule, err.value.field) == ("V6", "decision_id") and "minutes" in err.value.message


def test_v6_a_configured_window_in_days_replaces_the_default():
    decided = dt.datetime(2026, 12, 1, 3, tzinfo=dt.timezone.utc)
    approved = decided + dt.timedelta(hours=5)
    domain.check_opinion_window(decided, decided + dt.timedelta(days=7), approved, days=7)
    with pytest.raises(RuleViolation) as err:
        domain.check_opinion_window(decided, decided + dt.timedelta(days=7, seconds=1), None, days=7)
    assert err.value.rule == "V6" and "7 day(s)" in err.value.message
    assert domain.opinion_window_days(None) is None and domain.opinion_window_days("") is None
    assert domain.opinion_window_days("10") == 10
    for bad in ("0", "-2", "ten", "1.5"):
        with pytest.raises(ValueError):
            domain.opinion_window_days(bad)
