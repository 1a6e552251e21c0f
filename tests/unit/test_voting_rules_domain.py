"""Voting rules V2, V4, V5, V6, V7, V8 added to the ballot lifecycle, unit-tested at their boundaries."""
import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.voting import domain
from shared.errors import Conflict, NotFound, RuleViolation, ValidationFailed


def electorate(n, present, leave=()):
    return domain.electorate_from_snapshot([
        {"person_id": f"p{i}", "role": "secretary" if i == 0 else "member",
         "presence": "present" if f"p{i}" in present else "leave" if f"p{i}" in leave else "absent"}
        for i in range(n)])


def counts(yes, no, abstain):
    return {"yes": yes, "no": no, "abstain": abstain}


# ---------------------------------------------------------------- V3 worked case named in the issue

def test_v3_nine_members_four_yes_zero_no_five_abstain_fails():
    figures = domain.decide(domain.tally(["yes"] * 4 + ["abstain"] * 5), n=9, present=9)
    assert (figures["yes"], figures["no"], figures["abstain"], figures["outcome"]) == (4, 0, 5, "failed")
    assert figures["threshold"] == 5


# ---------------------------------------------------------------- V2 recording by the chair

@pytest.mark.parametrize("method", ["oral", "show_of_hands"])
def test_v2_chair_or_confidential_secretary_records_oral_and_show_of_hands(method):
    domain.check_recorder("chair", ("deputy_secretary",), "chair", method, "open")
    domain.check_recorder("cs", ("confidential_secretary",), "chair", method, "open")


@pytest.mark.parametrize("method", ["named", "secret"])
def test_v2_named_and_secret_ballots_are_never_recorded_by_the_chair(method):
    with pytest.raises(RuleViolation) as err:
        domain.check_recorder("chair", ("secretary",), "chair", method, "open")
    assert (err.value.rule, err.value.field) == ("V2", "method")


def test_v2_a_member_or_office_clerk_may_not_record_and_a_closed_ballot_takes_nothing():
    for roles in (("member",), ("office",), ("secretary",)):   # the secretary, when not chairing, neither
        with pytest.raises(RuleViolation) as err:
            domain.check_recorder("someone", roles, "chair", "oral", "open")
        assert (err.value.rule, err.value.field) == ("V2", "actor")
    with pytest.raises(Conflict) as err:
        domain.check_recorder("chair", (), "chair", "oral", "closed")
    assert err.value.rule == "V9"


def test_v2_v1_per_person_recording_obeys_one_person_one_vote():
    e = electorate(5, {"p0", "p1", "p2", "p3"}, leave={"p4"})
    domain.check_record_choices(e, set(), {"p1": "yes", "p2": "no"}, counts_recorded=False)
    cases = [
        ({"p4": "yes"}, set(), RuleViolation, "V1", "choices.p4"),         # on leave
        ({"p9": "yes"}, set(), RuleViolation, "V1", "choices.p9"),         # not a member of the meeting
        ({"p1": "yes", "p2": "no"}, {"p2"}, Conflict, "V1", "choices.p2"),  # already voted
        ({"p1": "maybe"}, set(), ValidationFailed, "V2", "choices.p1"),
        ({}, set(), ValidationFailed, "V2", "choices"),
    ]
    for choices, voted, error, rule, field in cases:
        with pytest.raises(error) as err:
            domain.check_record_choices(e, voted, choices, counts_recorded=False)
        assert (err.value.rule, err.value.field) == (rule, field), choices
    with pytest.raises(Conflict) as err:
        domain.check_record_choices(e, set(), {"p1": "yes"}, counts_recorded=True)
    assert err.value.rule == "V2"


def test_v2_counts_cannot_exceed_members_present_nor_mix_with_cast_votes():
    domain.check_record_counts(counts(4, 1, 1), present=6, votes_cast=0, counts_recorded=False)
    with pytest.raises(RuleViolation) as err:
        domain.check_record_counts(counts(5, 1, 1), present=6, votes_cast=0, counts_recorded=False)
    assert (err.value.rule, err.value.field) == ("V1", "counts")
    with pytest.raises(Conflict) as err:
        domain.check_record_counts(counts(1, 0, 0), present=6, votes_cast=2, counts_recorded=False)
    assert err.value.rule == "V2"
    with pytest.raises(Conflict):
        domain.check_record_counts(counts(1, 0, 0), present=6, votes_cast=0, counts_recorded=True)
    with pytest.raises(ValidationFailed) as err:
        domain.check_record_counts(counts(0, 0, 0), present=6, votes_cast=0, counts_recorded=False)
    assert err.value.field == "counts"
    with pytest.raises(ValidationFailed) as err:
        domain.check_record_counts(counts(-1, 0, 0), present=6, votes_cast=0, counts_recorded=False)
    assert err.value.field == "counts.yes"


def test_v2_after_counts_were_recorded_nobody_casts_a_vote():
    e = electorate(3, {"p0", "p1", "p2"})
    with pytest.raises(Conflict) as err:
        domain.check_can_vote(e["p1"], "open", False, "yes", counts_recorded=True)
    assert err.value.rule == "V2"


def test_v2_counts_only_members_show_no_stance_and_recorder_is_per_member():
    e = electorate(3, {"p0", "p1", "p2"})
    lines = domain.member_lines(e, set(), {}, {}, False)
    assert all(m["voted"] is False and m["stance"] is None and m["recorded_by"] is None for m in lines)
    lines = domain.member_lines(e, {"p1", "p2"}, {}, {"p1": "yes", "p2": "no"}, False, recorded_by={"p2": "p0"})
    assert [m["recorded_by"] for m in lines] == [None, None, "p0"]
    # V8: a secret ballot never shows a recorder either
    lines = domain.member_lines(e, {"p1"}, {}, {"p1": "yes"}, True, recorded_by={"p1": "p0"})
    assert lines[1]["recorded_by"] is None and lines[1]["stance"] is None


# ---------------------------------------------------------------- V4 one candidate per personnel ballot

def test_v4_personnel_ballot_names_exactly_one_candidate():
    assert domain.check_candidates("personnel", ["c1"]) == "c1"
    assert domain.check_candidates("personnel", ["c1", "c1"]) == "c1"   # the same person twice is one
    with pytest.raises(RuleViolation) as err:
        domain.check_candidates("personnel", ["c1", "c2"])
    assert (err.value.rule, err.value.field) == ("V4", "candidates")
    assert "a bundled vote on several candidates is refused" in err.value.message
    for missing in (None, []):
        with pytest.raises(ValidationFailed) as err:
            domain.check_candidates("personnel", missing)
        assert (err.value.rule, err.value.field) == ("V4", "candidates")


def test_v4_other_items_name_no_candidate():
    assert domain.check_candidates("work_plan", None) is None
    with pytest.raises(ValidationFailed) as err:
        domain.check_candidates("major_decision", ["c1"])
    assert err.value.field == "candidates"


# ---------------------------------------------------------------- V5 disagreement

@pytest.mark.parametrize("c,ratio,serious", [
    (counts(6, 3, 0), "1/3", True),     # 3 of 9 = exactly one third
    (counts(7, 2, 0), "1/3", False),
    (counts(6, 1, 2), "1/3", True),     # abstentions count as disagreement
    (counts(4, 0, 5), "1/3", True),
    (counts(6, 3, 0), "1/2", False),
    (counts(5, 4, 0), "1/2", False),
    (counts(4, 4, 0), "1/2", True),
    (counts(0, 0, 0), "1/3", False),    # no votes, nothing to disagree
])
def test_v5_serious_disagreement_is_no_plus_abstain_reaching_the_ratio_of_votes_cast(c, ratio, serious):
    assert domain.serious_disagreement(c, ratio) is serious


@given(st.integers(0, 40), st.integers(0, 40), st.integers(0, 40), st.integers(1, 10), st.integers(1, 10))
def test_v5_property_threshold_matches_exact_fraction(yes, no, abstain, a, b):
    from fractions import Fraction
    num, den = min(a, b), max(a, b)
    cast = yes + no + abstain
    expected = cast > 0 and Fraction(no + abstain, cast) >= Fraction(num, den)
    assert domain.serious_disagreement(counts(yes, no, abstain), f"{num}/{den}") is expected


@pytest.mark.parametrize("category", ["major_decision", "personnel"])
def test_v5_major_item_with_serious_disagreement_needs_defer_or_a_reason(category):
    with pytest.raises(RuleViolation) as err:
        domain.check_disagreement(category, False, counts(6, 3, 0), "1/3", None)
    assert (err.value.rule, err.value.field) == ("V5", "confirm_reason")
    assert "serious disagreement: defer, or confirm with a recorded reason" in err.value.message
    with pytest.raises(RuleViolation):
        domain.check_disagreement(category, False, counts(6, 3, 0), "1/3", "   ")   # blank is no reason
    assert domain.check_disagreement(category, False, counts(6, 3, 0), "1/3", " 时间紧迫 ") == (True, "时间紧迫")


def test_v5_emergency_meeting_decides_at_once_and_records_the_disagreement():
    assert domain.check_disagreement("major_decision", True, counts(6, 3, 0), "1/3", None) == (True, None)


def test_v5_ordinary_items_and_mild_disagreement_close_without_a_reason():
    assert domain.check_disagreement("work_plan", False, counts(5, 4, 0), "1/3", None) == (False, None)
    assert domain.check_disagreement("major_decision", False, counts(7, 2, 0), "1/3", None) == (False, None)


@pytest.mark.parametrize("text", ["0/3", "4/3", "1/0", "a/b", "1/3/4", "", "0.3", "-1/3"])
def test_v5_ratio_must_be_a_fraction_in_0_1(text):
    with pytest.raises(ValidationFailed) as err:
        domain.parse_ratio(text)
    assert (err.value.rule, err.value.field) == ("V5", "disagreement_ratio")


def test_v5_ratio_parses():
    assert domain.parse_ratio(" 1/3 ") == (1, 3) and domain.parse_ratio("1/1") == (1, 1)


def test_v5_chair_defers_an_open_ballot_with_a_reason():
    assert domain.check_defer("c", (), "c", "open", " 需进一步调研 ") == "需进一步调研"
    with pytest.raises(RuleViolation) as err:
        domain.check_defer("m", ("member",), "c", "open", "x")
    assert err.value.rule == "M1"
    with pytest.raises(Conflict) as err:
        domain.check_defer("c", (), "c", "closed", "x")
    assert err.value.rule == "V9"
    with pytest.raises(ValidationFailed) as err:
        domain.check_defer("c", (), "c", "open", "  ")
    assert (err.value.rule, err.value.field) == ("V5", "reason")


def test_v5_revote_follows_a_deferred_ballot_of_the_same_org_once():
    domain.check_revote("org", {"org_id": "org", "outcome": "deferred", "followed_by": None})
    with pytest.raises(NotFound):
        domain.check_revote("org", None)
    with pytest.raises(NotFound):
        domain.check_revote("org", {"org_id": "other", "outcome": "deferred", "followed_by": None})
    for outcome in ("passed", "failed", None):
        with pytest.raises(RuleViolation) as err:
            domain.check_revote("org", {"org_id": "org", "outcome": outcome, "followed_by": None})
        assert (err.value.rule, err.value.field) == ("V5", "previous_ballot_id")
    with pytest.raises(Conflict) as err:
        domain.check_revote("org", {"org_id": "org", "outcome": "deferred", "followed_by": "b2"})
    assert err.value.rule == "V5"


# ---------------------------------------------------------------- V6 reserved opinion after the decision

def test_v6_present_member_keeps_a_reserved_opinion_once():
    e = electorate(4, {"p0", "p1", "p2"}, leave={"p3"})
    assert domain.check_reserved_opinion(e["p1"], "passed", False, " 保留 ") == "保留"
    assert domain.check_reserved_opinion(e["p2"], "failed", False, "保留") == "保留"
    for who in ("p3", "stranger"):
        with pytest.raises(RuleViolation) as err:
            domain.check_reserved_opinion(e.get(who), "passed", False, "保留")
        assert (err.value.rule, err.value.field) == ("V6", "actor")
    with pytest.raises(Conflict) as err:
        domain.check_reserved_opinion(e["p1"], "passed", True, "again")
    assert err.value.rule == "V6"
    with pytest.raises(ValidationFailed) as err:
        domain.check_reserved_opinion(e["p1"], "passed", False, "  ")
    assert err.value.field == "text"
    with pytest.raises(RuleViolation) as err:
        domain.check_reserved_opinion(e["p1"], "deferred", False, "保留")
    assert err.value.field == "decision_id"


def test_v6_reserved_opinion_of_a_present_non_voter_is_shown():
    e = electorate(3, {"p0", "p1", "p2"})
    lines = domain.member_lines(e, set(), {"p2": "保留"}, {}, False)
    assert lines[2]["reserved_opinion"] == "保留" and lines[2]["voted"] is False


# ---------------------------------------------------------------- V7 reconsideration

IN_FORCE = {"outcome": "passed", "superseded_by": None, "open_reconsideration": None}


def test_v7_only_the_secretary_with_approval_reconsiders_a_decision_in_force():
    assert domain.check_reconsideration(("secretary",), True, IN_FORCE, " 情况变化 ") == "情况变化"
    for roles in (("deputy_secretary",), ("member",), ("admin",)):
        with pytest.raises(RuleViolation) as err:
            domain.check_reconsideration(roles, True, IN_FORCE, "r")
        assert (err.value.rule, err.value.field) == ("V7", "actor")
    with pytest.raises(RuleViolation) as err:
        domain.check_reconsideration(("secretary",), False, IN_FORCE, "r")
    assert (err.value.rule, err.value.field) == ("V7", "approved_by_secretary")
    with pytest.raises(ValidationFailed) as err:
        domain.check_reconsideration(("secretary",), True, IN_FORCE, " ")
    assert err.value.field == "reason"


@pytest.mark.parametrize("decision,error", [
    ({"outcome": "passed", "superseded_by": "d2", "open_reconsideration": None}, RuleViolation),
    ({"outcome": "failed", "superseded_by": None, "open_reconsideration": None}, RuleViolation),
    ({"outcome": "deferred", "superseded_by": None, "open_reconsideration": None}, RuleViolation),
    ({"outcome": "passed", "superseded_by": None, "open_reconsideration": "b9"}, Conflict),
])
def test_v7_superseded_failed_deferred_or_already_reconsidered_is_refused(decision, error):
    with pytest.raises(error) as err:
        domain.check_reconsideration(("secretary",), True, decision, "r")
    assert (err.value.rule, err.value.field) == ("V7", "decision_id")


def test_v7_status_in_force_until_superseded():
    assert domain.decision_status(None) == "in_force"
    assert domain.decision_status("d2") == "superseded"


# ---------------------------------------------------------------- V8 unanimous secret ballot

@pytest.mark.parametrize("method,c,warned", [
    ("secret", counts(3, 0, 0), True),
    ("secret", counts(0, 0, 4), True),
    ("secret", counts(3, 1, 0), False),
    ("secret", counts(0, 0, 0), False),
    ("named", counts(3, 0, 0), False),
])
def test_v8_unanimous_secret_ballot_warns(method, c, warned):
    expected = ["V8: unanimous secret ballot reveals every vote"] if warned else []
    assert domain.secrecy_warnings(method, c) == expected
