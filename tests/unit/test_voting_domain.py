"""Voting rules, unit-tested at their boundaries (no broker, no database)."""
import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.voting import domain
from shared.errors import Conflict, RuleViolation, ValidationFailed


def electorate(n, present, leave=()):
    members = []
    for i in range(n):
        pid = f"p{i}"
        presence = "present" if pid in present else "leave" if pid in leave else "absent"
        members.append({"person_id": pid, "role": "secretary" if i == 0 else "member", "presence": presence,
                        "written_opinion": "同意" if presence == "leave" else None})
    return domain.electorate_from_snapshot(members)


# ---------------------------------------------------------------- V3 threshold, worked cases

@pytest.mark.parametrize("n,yes,no,abstain,expected", [
    (9, 5, 3, 0, "passed"),     # 5 yes pass even with 3 no
    (9, 4, 0, 0, "failed"),     # 4 yes fail even with 0 no
    (9, 4, 0, 5, "failed"),     # abstentions never help
    (9, 5, 0, 0, "passed"),
    (8, 4, 0, 0, "failed"),     # exactly half is not more than half
    (8, 5, 3, 0, "passed"),
    (7, 4, 3, 0, "passed"),
    (1, 1, 0, 0, "passed"),
    (1, 0, 0, 1, "failed"),
    (2, 1, 0, 0, "failed"),
    (2, 2, 0, 0, "passed"),
])
def test_v3_worked_cases(n, yes, no, abstain, expected):
    counts = domain.tally(["yes"] * yes + ["no"] * no + ["abstain"] * abstain)
    assert counts == {"yes": yes, "no": no, "abstain": abstain}
    figures = domain.decide(counts, n, present=yes + no + abstain)
    assert figures["outcome"] == expected
    assert figures["threshold"] == n // 2 + 1
    assert figures["explanation"].startswith(f"V3: {yes} yes of N={n}")
    assert expected in figures["explanation"]


def test_v3_denominator_is_n_not_present_nor_votes_cast():
    # N=9, only 6 present, 4 yes 0 no: a majority of those present and of votes cast, yet it fails
    assert domain.outcome(4, 9) == "failed"
    assert domain.decide({"yes": 4, "no": 0, "abstain": 2}, 9, 6)["outcome"] == "failed"


@pytest.mark.parametrize("n,needed", [(1, 1), (2, 2), (3, 2), (4, 3), (5, 3), (9, 5), (10, 6), (20, 11)])
def test_v3_threshold_is_least_count_above_half(n, needed):
    assert domain.threshold(n) == needed
    assert 2 * needed > n and 2 * (needed - 1) <= n


@st.composite
def splits(draw):
    """N in 1..30 and any split of at most N votes into yes / no / abstain."""
    n = draw(st.integers(min_value=1, max_value=30))
    yes = draw(st.integers(0, n))
    no = draw(st.integers(0, n - yes))
    abstain = draw(st.integers(0, n - yes - no))
    return n, yes, no, abstain


@given(splits())
def test_v3_property_outcome_equals_two_yes_greater_than_n(case):
    n, yes, no, abstain = case
    counts = domain.tally(["abstain"] * abstain + ["no"] * no + ["yes"] * yes)
    figures = domain.decide(counts, n, present=yes + no + abstain)
    assert (figures["outcome"] == "passed") == (2 * yes > n)
    assert (figures["outcome"] == "passed") == (yes >= figures["threshold"])
    assert domain.outcome(yes, n) == figures["outcome"]


def test_v3_exhaustive_over_every_split_up_to_30():
    for n in range(1, 31):
        for yes in range(n + 1):
            for no in range(n - yes + 1):
                for abstain in range(n - yes - no + 1):
                    figures = domain.decide({"yes": yes, "no": no, "abstain": abstain}, n, n)
                    assert (figures["outcome"] == "passed") == (2 * yes > n), (n, yes, no, abstain)


def test_v9_tally_refuses_corrupt_choices_and_mismatched_box():
    with pytest.raises(ValueError):
        domain.tally(["yes", "maybe"])
    with pytest.raises(RuleViolation) as err:
        domain.check_tally({"yes": 2, "no": 0, "abstain": 0}, votes_cast=3)
    assert err.value.rule == "V9"
    domain.check_tally({"yes": 2, "no": 1, "abstain": 0}, votes_cast=3)


# ---------------------------------------------------------------- opening (M1, V2, V4, M8)

def test_m1_only_the_chair_opens_a_ballot():
    e = electorate(9, {f"p{i}" for i in range(7)})
    with pytest.raises(RuleViolation) as err:
        domain.check_open("p3", ("member",), "p0", "named", 9, e, None)
    assert err.value.rule == "M1" and err.value.field == "actor"
    assert domain.check_open("p0", ("secretary",), "p0", "named", 9, e, None) == 7


def test_v2_method_must_be_known():
    e = electorate(9, {f"p{i}" for i in range(7)})
    with pytest.raises(ValidationFailed) as err:
        domain.check_open("p0", (), "p0", "acclamation", 9, e, None)
    assert err.value.field == "method" and err.value.rule == "V2"


def test_v4_one_open_ballot_per_item():
    e = electorate(9, {f"p{i}" for i in range(7)})
    with pytest.raises(Conflict) as err:
        domain.check_open("p0", (), "p0", "named", 9, e, "other-ballot")
    assert err.value.rule == "V4" and err.value.field == "topic_id"


@pytest.mark.parametrize("n,present,ok", [(9, 6, True), (9, 5, False), (7, 5, True), (7, 4, False),
                                          (5, 4, True), (5, 3, False), (1, 1, True)])
def test_m8_quorum_is_checked_again_when_a_ballot_opens(n, present, ok):
    e = electorate(n, {f"p{i}" for i in range(present)})
    if ok:
        assert domain.check_open("p0", (), "p0", "secret", n, e, None) == present
    else:
        with pytest.raises(RuleViolation) as err:
            domain.check_open("p0", (), "p0", "secret", n, e, None)
        assert err.value.rule == "M8" and f"at least {domain.quorum_required(n)}" in err.value.message


def test_m8_snapshot_must_list_all_n_members():
    e = electorate(8, {f"p{i}" for i in range(8)})
    with pytest.raises(RuleViolation) as err:
        domain.check_open("p0", (), "p0", "named", 9, e, None)
    assert err.value.rule == "M8"


# ---------------------------------------------------------------- casting (V1, V9)

def test_v1_present_member_votes_once():
    e = electorate(9, {"p0", "p1", "p2", "p3", "p4", "p5"}, leave={"p8"})
    domain.check_can_vote(e["p2"], "open", False, "yes")
    with pytest.raises(Conflict) as err:
        domain.check_can_vote(e["p2"], "open", True, "no")
    assert err.value.rule == "V1" and err.value.field == "actor"


@pytest.mark.parametrize("who", ["p8", "p7", "stranger"])   # on leave, absent, not a group member
def test_v1_leave_absent_and_non_members_cannot_vote(who):
    e = electorate(9, {"p0", "p1", "p2", "p3", "p4", "p5"}, leave={"p8"})
    with pytest.raises(RuleViolation) as err:
        domain.check_can_vote(e.get(who), "open", False, "yes")
    assert err.value.rule == "V1" and err.value.field == "actor"


def test_v1_an_observer_role_in_the_snapshot_cannot_vote():
    e = domain.electorate_from_snapshot([{"person_id": "o", "role": "observer", "presence": "present"}])
    with pytest.raises(RuleViolation) as err:
        domain.check_can_vote(e["o"], "open", False, "yes")
    assert err.value.rule == "V1"


def test_v9_closed_ballot_takes_no_vote_and_closes_once():
    e = electorate(3, {"p0", "p1", "p2"})
    with pytest.raises(Conflict) as err:
        domain.check_can_vote(e["p1"], "closed", False, "yes")
    assert err.value.rule == "V9"
    with pytest.raises(Conflict) as err:
        domain.check_close("p0", (), "p0", "closed")
    assert err.value.rule == "V9"
    with pytest.raises(RuleViolation) as err:
        domain.check_close("p1", ("member",), "p0", "open")
    assert err.value.rule == "M1"
    domain.check_close("p0", ("secretary",), "p0", "open")


def test_v2_choice_must_be_yes_no_or_abstain():
    e = electorate(3, {"p0", "p1", "p2"})
    with pytest.raises(ValidationFailed) as err:
        domain.check_can_vote(e["p1"], "open", False, "maybe")
    assert err.value.field == "choice"


def test_v6_reserved_opinion_is_trimmed_and_bounded():
    assert domain.clean_opinion("  保留意见  ") == "保留意见"
    assert domain.clean_opinion("   ") is None
    with pytest.raises(ValidationFailed) as err:
        domain.clean_opinion("x" * (domain.OPINION_MAX + 1))
    assert err.value.field == "reserved_opinion" and err.value.rule == "V6"


# ---------------------------------------------------------------- members of a result (V6, V8, M9)

def test_member_lines_named_ballot_shows_stances_sorted():
    e = electorate(4, {"p0", "p1", "p2"}, leave={"p3"})
    lines = domain.member_lines(e, {"p0", "p1"}, {"p0": None, "p1": "保留"}, {"p0": "yes", "p1": "no"}, False)
    assert [m["person_id"] for m in lines] == ["p0", "p1", "p2", "p3"]
    assert lines[0] == {"person_id": "p0", "presence": "present", "voted": True, "stance": "yes",
                        "reserved_opinion": None, "written_opinion": None, "recorded_by": None, "recused": False}
    assert lines[1]["stance"] == "no" and lines[1]["reserved_opinion"] == "保留"
    assert lines[2]["voted"] is False and lines[2]["stance"] is None
    assert lines[3] == {"person_id": "p3", "presence": "leave", "voted": False, "stance": None,
                        "reserved_opinion": None, "written_opinion": "同意", "recorded_by": None, "recused": False}


def test_v8_member_lines_of_a_secret_ballot_never_carry_a_stance():
    e = electorate(3, {"p0", "p1", "p2"})
    lines = domain.member_lines(e, {"p0", "p1"}, {"p1": "保留"}, {"p0": "yes", "p1": "no"}, True)
    assert all(m["stance"] is None for m in lines)
    assert [m["voted"] for m in lines] == [True, True, False]
    assert lines[1]["reserved_opinion"] == "保留"   # V6: kept for secret ballots too


def test_written_opinion_only_for_members_on_leave():
    e = domain.electorate_from_snapshot([
        {"person_id": "a", "role": "member", "presence": "present", "written_opinion": "x"},
        {"person_id": "b", "role": "member", "presence": "leave", "written_opinion": "同意"},
    ])
    assert e["a"].written_opinion is None and e["b"].written_opinion == "同意"


def test_snapshot_listing_a_person_twice_is_refused():
    with pytest.raises(ValidationFailed):
        domain.electorate_from_snapshot([{"person_id": "a", "presence": "present"},
                                         {"person_id": "a", "presence": "absent"}])
