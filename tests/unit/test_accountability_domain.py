"""Accountability rules C1–C3, unit-tested directly (no broker, no database)."""
import pytest

from services.accountability import domain, schemas
from shared.actor import Actor
from shared.errors import Forbidden, ValidationFailed
from shared.validation import load


def member(pid, presence="present", stance=None, reserved=None, written=None, voted=None):
    return {"person_id": pid, "presence": presence,
            "voted": (stance is not None) if voted is None else voted,
            "stance": stance, "reserved_opinion": reserved, "written_opinion": written}


_DEFAULT = object()


def result(method="named", members=_DEFAULT, **extra):
    data = {
        "decision_id": "d-1", "ballot_id": "b-1", "meeting_id": "m-1", "agenda_item_id": "t-1",
        "title": "2027年度工作计划", "category": "work_plan", "method": method, "emergency": False,
        "n": 7, "present": 6, "yes": 4, "no": 1, "abstain": 1, "threshold": 4, "outcome": "passed",
        "superseded_decision_id": None, "decided_at": "2026-12-10T03:00:00Z",
        "members": NAMED_MEMBERS if members is _DEFAULT else members,
    }
    data.update(extra)
    return load(schemas.ResultDecidedIn(), data, rule="C1")


NAMED_MEMBERS = [
    member("y1", stance="yes"),
    member("y2", stance="yes"),
    member("y3", stance="yes"),
    member("y4", stance="yes", reserved="建议分期实施"),
    member("n1", stance="no"),
    member("a1", stance="abstain"),
    member("l1", presence="leave", written="同意，建议加强督办"),
]


def by_person(links):
    return {link["person_id"]: link for link in links}


# ------------------------------------------------------------------ C1 links

def test_c1_named_ballot_links_every_member_with_stance_and_opinions():
    links = by_person(domain.links_from_result(result()))
    assert set(links) == {"y1", "y2", "y3", "y4", "n1", "a1", "l1"}
    assert [links[p]["stance"] for p in ("y1", "y2", "y3", "y4", "n1", "a1")] == \
        ["yes", "yes", "yes", "yes", "no", "abstain"]
    assert links["y4"]["reserved_opinion"] == "建议分期实施"
    assert links["y1"]["reserved_opinion"] is None
    assert all(links[p]["participant"] and links[p]["voted"] for p in ("y1", "y4", "n1", "a1"))


def test_c1_member_on_leave_is_linked_with_written_opinion_but_is_no_participant():
    leave = by_person(domain.links_from_result(result()))["l1"]
    assert leave == {"person_id": "l1", "presence": "leave", "stance": None, "voted": False,
                     "reserved_opinion": None, "written_opinion": "同意，建议加强督办", "participant": False}


def test_c1_secret_ballot_links_participation_but_never_a_stance():
    members = [member("s1", stance="yes"), member("s2", voted=True), member("s3", reserved="反对理由"),
               member("s4", presence="absent")]
    links = by_person(domain.links_from_result(result(method="secret", members=members)))
    # V8: a stance that reached us for a secret ballot is dropped, never stored
    assert all(link["stance"] is None for link in links.values())
    assert links["s1"]["voted"] is True and links["s2"]["voted"] is True
    assert links["s3"]["reserved_opinion"] == "反对理由"
    assert [links[p]["participant"] for p in ("s1", "s2", "s3", "s4")] == [True, True, True, False]
    assert domain.stance_label(links["s1"], "secret") == "unknown"
    assert domain.stance_label(links["s4"], "secret") is None


def test_c1_stance_label_named_ballot_is_the_stance():
    links = by_person(domain.links_from_result(result()))
    assert domain.stance_label(links["n1"], "named") == "no"
    assert domain.stance_label(links["l1"], "named") is None


def test_c1_blank_opinions_do_not_count():
    links = domain.links_from_result(result(members=[member("x", stance="yes", reserved="   ")]))
    assert links[0]["reserved_opinion"] is None


def test_c1_member_listed_twice_is_refused_naming_field_and_rule():
    with pytest.raises(ValidationFailed) as err:
        domain.links_from_result(result(members=[member("x", stance="yes"), member("x", stance="no")]))
    assert err.value.rule == "C1" and err.value.field == "members.1.person_id"
    assert err.value.message.startswith("C1")


def test_c1_a_member_on_leave_cannot_carry_a_vote():
    with pytest.raises(ValidationFailed) as err:
        domain.links_from_result(result(members=[member("x", presence="leave", stance="yes")]))
    assert err.value.rule == "C1" and err.value.field == "members.0.stance"


@pytest.mark.parametrize("field,value", [("method", "telepathy"), ("n", "7"), ("decided_at", "2026-12-10T03:00:00"),
                                         ("members", None)])
def test_c1_malformed_result_names_the_field(field, value):
    with pytest.raises(ValidationFailed) as err:
        result(**{field: value})
    assert err.value.field == field and err.value.rule == "C1"


def test_c1_bad_presence_in_a_member_names_the_nested_field():
    with pytest.raises(ValidationFailed) as err:
        result(members=[member("x", presence="elsewhere")])
    assert err.value.field == "members.0.presence"


# ------------------------------------------------------------------ C3 proposals

@pytest.mark.parametrize("pid,proposal,note", [
    ("y1", "responsible", "voted yes"),
    ("y4", "may_be_exempted", "reserved opinion recorded"),
    ("n1", "may_be_exempted", "explicitly voted no"),
    ("a1", "responsible", "abstention is not explicit opposition"),
    ("l1", "not_participant", "leave: absent with leave bears no responsibility"),
])
def test_c3_named_ballot_proposals(pid, proposal, note):
    link = by_person(domain.links_from_result(result()))[pid]
    got = domain.proposed_responsibility(link, "named")
    assert (got["proposal"], got["note"]) == (proposal, note)


def test_c3_absent_member_is_not_a_participant():
    link = domain.links_from_result(result(members=[member("x", presence="absent")]))[0]
    assert domain.proposed_responsibility(link, "show_of_hands")["proposal"] == "not_participant"


def test_c3_secret_ballot_only_a_reserved_opinion_counts():
    members = [member("s1", voted=True), member("s2", voted=True, reserved="不同意"),
               member("s3", presence="leave", written="弃权")]
    links = by_person(domain.links_from_result(result(method="secret", members=members)))
    plain = domain.proposed_responsibility(links["s1"], "secret")
    assert plain["proposal"] == "responsible" and "only a reserved opinion counts" in plain["note"]
    assert domain.proposed_responsibility(links["s2"], "secret")["proposal"] == "may_be_exempted"
    assert domain.proposed_responsibility(links["s3"], "secret")["proposal"] == "not_participant"


def test_c3_present_without_a_vote_is_not_explicit_opposition():
    link = domain.links_from_result(result(method="oral", members=[member("x", voted=False)]))[0]
    assert domain.proposed_responsibility(link, "oral")["proposal"] == "responsible"


# ------------------------------------------------------------------ C2 who reads a record

def test_c2_record_scope():
    assert domain.record_scope(Actor("p1", "org-a", ("member",)), "p1") is None
    assert domain.record_scope(Actor("x", "org-up", ("org_department",)), "p1") is None
    assert domain.record_scope(Actor("x", None, ("discipline_commission",)), "p1") is None
    assert domain.record_scope(Actor("x", "org-a", ("discipline",)), "p1") == "org-a"
    assert domain.record_scope(Actor("x", "org-a", ("secretary",)), "p1") == "org-a"
    for roles in (("member",), ("deputy_secretary",), ("office",), ("admin",)):
        with pytest.raises(Forbidden) as err:
            domain.record_scope(Actor("x", "org-a", roles), "p1")
        assert err.value.rule == "C2"


@pytest.mark.parametrize("limit,offset,field", [(0, 0, "limit"), (201, 0, "limit"), ("5", 0, "limit"),
                                                (True, 0, "limit"), (10, -1, "offset"), (10, 1.5, "offset"),
                                                (10, 2 ** 31, "offset")])
def test_paging_is_checked(limit, offset, field):
    from shared.validation import check_page
    with pytest.raises(ValidationFailed) as err:
        check_page(limit, offset)
    assert err.value.field == field
