"""C3/C4 cases, C5 implementation and C6 duties: the rules in plain Python."""
import datetime as dt

import pytest

from services.accountability import domain
from shared.actor import Actor
from shared.errors import Forbidden, RuleViolation, ValidationFailed


def link(pid, presence="present", stance=None, reserved=None, method="named"):
    return {"person_id": pid, "presence": presence, "stance": None if method == "secret" else stance,
            "voted": presence == "present", "reserved_opinion": reserved, "written_opinion": None,
            "participant": presence == "present"}


# the worked example: 4 yes (one with a reserved opinion), 1 no, 1 abstain, 1 on leave
def worked(method="named"):
    return [link("y1", stance="yes", method=method), link("y2", stance="yes", method=method),
            link("y3", stance="yes", method=method), link("y4", stance="yes", reserved="建议分期实施", method=method),
            link("n1", stance="no", method=method), link("a1", stance="abstain", method=method),
            link("l1", presence="leave", method=method)]


def proposals_of(result):
    return {pid: p["proposal"] for pid, p in result.items()}


def test_c3_worked_named_ballot_major_error_case():
    result = domain.case_proposals(worked(), "named", major_error=True)
    assert proposals_of(result) == {
        "y1": "responsible", "y2": "responsible", "y3": "responsible",
        "y4": "may_be_exempted",          # yes, but a reserved opinion was recorded
        "n1": "may_be_exempted",          # explicit opposition
        "a1": "responsible",              # abstention is not explicit opposition
        "l1": "not_participant",          # on leave: not a participant
    }
    assert result["a1"]["rule"] == "C3" and result["l1"]["rule"] == "C1"


def test_c3_worked_secret_ballot_only_a_reserved_opinion_counts():
    result = domain.case_proposals(worked("secret"), "secret", major_error=True)
    assert proposals_of(result) == {
        "y1": "responsible", "y2": "responsible", "y3": "responsible", "y4": "may_be_exempted",
        "n1": "responsible",              # the no vote is not known in a secret ballot
        "a1": "responsible", "l1": "not_participant",
    }


def test_c3_group_broke_rules_makes_the_secretary_responsible_whatever_their_vote():
    result = domain.case_proposals(worked(), "named", major_error=True, group_broke_rules=True,
                                   secretary_person_id="n1")
    assert result["n1"]["proposal"] == "responsible" and "secretary" in result["n1"]["note"]
    # a secretary who was not linked (e.g. joined later) is added
    result = domain.case_proposals(worked(), "named", major_error=True, group_broke_rules=True,
                                   secretary_person_id="sec")
    assert result["sec"]["proposal"] == "responsible" and len(result) == 8


def test_c4_decision_not_judged_a_major_error_proposes_no_one_and_a_person_case_has_its_subject():
    assert domain.case_proposals(worked(), "named", major_error=False) == {}
    assert proposals_of(domain.case_proposals([], None, False, person_id="p9")) == {"p9": "subject"}


def test_c4_trigger_must_be_one_of_the_eight():
    assert domain.check_trigger(2) == 2
    assert domain.trigger_view(7)["name"] == "confidentiality_breach"
    for bad in (0, 9, "2", True, None):
        with pytest.raises(ValidationFailed) as err:
            domain.check_trigger(bad)
        assert (err.value.field, err.value.rule) == ("trigger", "C4")


def test_c4_case_is_on_one_decision_or_one_member():
    with pytest.raises(ValidationFailed) as err:
        domain.check_case_subject({"decision_id": "d", "person_id": "p"})
    assert err.value.rule == "C4"
    with pytest.raises(ValidationFailed):
        domain.check_case_subject({})
    with pytest.raises(ValidationFailed) as err:
        domain.check_case_subject({"person_id": "p", "major_error": True})
    assert (err.value.field, err.value.rule) == ("major_error", "C3")
    with pytest.raises(ValidationFailed) as err:
        domain.check_case_subject({"decision_id": "d", "group_broke_rules": True})
    assert err.value.field == "secretary_person_id"


def test_c4_outcomes_come_from_the_ladder_of_wu_san():
    proposals = domain.case_proposals(worked(), "named", major_error=True)
    result = domain.normalize_outcomes({"y1": "admonishment_talk", "y2": ["removal", "party_discipline"],
                                        "n1": "exempted", "l1": "no_action"}, proposals)
    assert result == {"y1": ["admonishment_talk"], "y2": ["removal", "party_discipline"], "n1": ["exempted"],
                      "l1": ["no_action"]}
    assert domain.LADDER[0] == "criticism_education" and domain.LADDER[-1] == "referral" and len(domain.LADDER) == 11


@pytest.mark.parametrize("outcomes, field, rule, error", [
    ({"y1": "flogging"}, "outcomes.y1", "C4", ValidationFailed),
    ({"zz": "transfer"}, "outcomes.zz", "C4", ValidationFailed),
    ({"y1": ["exempted", "transfer"]}, "outcomes.y1", "C4", ValidationFailed),
    ({"y1": "exempted"}, "outcomes.y1", "C3", RuleViolation),       # a yes voter has no C3 ground
    ({"l1": "criticism_education"}, "outcomes.l1", "C1", RuleViolation),
    ({}, "outcomes", "C4", ValidationFailed),
])
def test_c4_bad_outcomes_are_refused_naming_person_and_rule(outcomes, field, rule, error):
    proposals = domain.case_proposals(worked(), "named", major_error=True)
    with pytest.raises(error) as err:
        domain.normalize_outcomes(outcomes, proposals)
    assert (err.value.field, err.value.rule) == (field, rule)


# ------------------------------------------------------------------ C5

TODAY = dt.date(2026, 6, 10)


@pytest.mark.parametrize("state, deadline, percent, status", [
    ("open", dt.date(2026, 6, 9), 90, "red"),          # overdue
    ("open", dt.date(2026, 6, 17), 50, "yellow"),      # 7 days left, not done
    ("open", dt.date(2026, 6, 10), 99, "yellow"),      # due today
    ("open", dt.date(2026, 6, 18), 0, "green"),        # 8 days left
    ("open", dt.date(2026, 6, 12), 100, "green"),      # done, not yet closed
    ("completed", dt.date(2026, 6, 1), 100, "closed"),
    ("not_executable", dt.date(2026, 6, 1), 10, "closed"),
])
def test_c5_traffic_light(state, deadline, percent, status):
    assert domain.task_status(state, deadline, percent, TODAY) == status


def task(**kw):
    base = {"org_id": "org-a", "leader_person_id": "lead", "state": "open", "percent": 40, "important": True,
            "special_report_filed": False, "deadline": dt.date(2026, 7, 1)}
    base.update(kw)
    return base


def test_c5_important_item_needs_a_special_report_before_completion():
    with pytest.raises(RuleViolation) as err:
        domain.check_report(task(), 100, None)
    assert (err.value.field, err.value.rule) == ("special_report", "C5")
    domain.check_report(task(), 100, "专题报告：已完成全部建设任务")
    domain.check_report(task(special_report_filed=True), 100, None)
    domain.check_report(task(important=False), 100, None)
    domain.check_report(task(), 60, None)


def test_c5_progress_cannot_go_back_and_a_closed_task_takes_no_report():
    with pytest.raises(RuleViolation) as err:
        domain.check_report(task(), 30, None)
    assert err.value.field == "percent"
    with pytest.raises(RuleViolation) as err:
        domain.check_report(task(state="completed"), 100, None)
    assert err.value.field == "task_id"


def test_c5_postponement_and_non_execution_need_an_explanation():
    for empty in (None, "", "   "):
        with pytest.raises(RuleViolation) as err:
            domain.check_explanation(empty)
        assert (err.value.field, err.value.rule) == ("explanation", "C5")
    domain.check_explanation("资金未到位，需顺延")
    with pytest.raises(RuleViolation) as err:
        domain.check_postpone(task(), dt.date(2026, 7, 1), TODAY)
    assert err.value.field == "new_deadline"
    domain.check_postpone(task(), dt.date(2026, 8, 1), TODAY)


def test_c5_assignment_only_for_a_passed_decision_with_a_deadline_ahead():
    with pytest.raises(RuleViolation) as err:
        domain.check_assignment("failed", dt.date(2026, 7, 1), TODAY)
    assert err.value.field == "decision_id"
    with pytest.raises(RuleViolation) as err:
        domain.check_assignment("passed", dt.date(2026, 6, 9), TODAY)
    assert err.value.field == "deadline"
    domain.check_assignment("passed", TODAY, TODAY)


def test_c5_who_reports_and_who_explains():
    leader = Actor("lead", "org-a", ("member",))
    office = Actor("off", "org-a", ("office",))
    domain.require_task_actor(leader, task())
    with pytest.raises(Forbidden) as err:
        domain.require_task_actor(office, task())
    assert err.value.rule == "C5"
    domain.require_task_actor(office, task(), explain=True)
    with pytest.raises(Forbidden):
        domain.require_task_actor(Actor("off", "org-b", ("office",)), task(), explain=True)
    with pytest.raises(Forbidden):
        domain.require_task_actor(Actor("m2", "org-a", ("member",)), task(), explain=True)


# ------------------------------------------------------------------ C6

def test_c6_duty_status_and_personal_duties():
    assert domain.duty_status(False, dt.date(2026, 1, 31), dt.date(2026, 2, 1)) == "overdue"
    assert domain.duty_status(False, dt.date(2026, 1, 31), dt.date(2026, 1, 31)) == "due"
    assert domain.duty_status(True, dt.date(2026, 1, 31), dt.date(2026, 3, 1)) == "filed"
    with pytest.raises(ValidationFailed) as err:
        domain.check_duty({"kind": "member_assessment", "person_id": None})
    assert (err.value.field, err.value.rule) == ("person_id", "C6")
    with pytest.raises(ValidationFailed):
        domain.check_duty({"kind": "annual_comprehensive_report", "person_id": "p1"})
    domain.check_duty({"kind": "annual_comprehensive_report", "person_id": None})


def test_local_date_is_the_shanghai_calendar_day():
    assert domain.local_date(dt.datetime(2026, 1, 31, 17, 0, tzinfo=dt.timezone.utc)) == dt.date(2026, 2, 1)
