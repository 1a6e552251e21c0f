"""C7 compliance engine: every rule raised by one fact and not raised by another."""
import datetime as dt

import pytest

from services.accountability import compliance, domain


def at(text):
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def rules(alerts):
    return [(a.rule, a.subject_type, a.subject_id) for a in alerts]


# ------------------------------------------------------------------ M5 late notice

def noticed(kind, scheduled_at, noticed_at):
    return compliance.fact_meeting_noticed({"meeting_id": "m-1", "kind": kind, "scheduled_at": at(scheduled_at),
                                            "noticed_at": at(noticed_at)})


def test_m5_regular_meeting_noticed_47h_ahead_raises_an_alert():
    alerts = compliance.evaluate("meeting_noticed", noticed("regular", "2026-03-10T02:00:00Z", "2026-03-08T03:00:00Z"))
    assert rules(alerts) == [("M5", "meeting", "m-1")]
    assert "47.0 h" in alerts[0].message


def test_m5_regular_meeting_noticed_exactly_48h_ahead_raises_nothing():
    assert compliance.evaluate("meeting_noticed",
                               noticed("regular", "2026-03-10T02:00:00Z", "2026-03-08T02:00:00Z")) == []


def test_m5_emergency_meeting_may_skip_notice_m6():
    assert compliance.evaluate("meeting_noticed",
                               noticed("emergency", "2026-03-10T02:00:00Z", "2026-03-10T01:00:00Z")) == []


# ------------------------------------------------------------------ M8 quorum

def opened(n, present, quorum=None):
    return compliance.fact_meeting_opened({"meeting_id": "m-1", "opened_at": at("2026-03-10T02:00:00Z"),
                                           "n": n, "present": present, "quorum": quorum})


def test_m8_meeting_opened_with_5_of_9_raises_an_alert():
    alerts = compliance.evaluate("meeting_opened", opened(9, 5, 6))
    assert rules(alerts) == [("M8", "meeting", "m-1")]
    assert "6 are required" in alerts[0].message


def test_m8_meeting_opened_with_6_of_9_raises_nothing():
    assert compliance.evaluate("meeting_opened", opened(9, 6, 6)) == []


def test_m8_quorum_is_checked_by_the_rule_even_when_the_event_understates_it():
    # N=7 needs 5 present: an event claiming quorum 4 does not lower the bar
    assert rules(compliance.evaluate("meeting_opened", opened(7, 4, 4))) == [("M8", "meeting", "m-1")]


def test_m8_ballot_opened_without_quorum_raises_an_alert_and_with_quorum_nothing():
    fact = compliance.fact_ballot_opened({"ballot_id": "b-1", "meeting_id": "m-1", "n": 5, "present": 3})
    assert rules(compliance.evaluate("ballot_opened", fact)) == [("M8", "ballot", "b-1")]
    fact = compliance.fact_ballot_opened({"ballot_id": "b-1", "meeting_id": "m-1", "n": 5, "present": 4})
    assert compliance.evaluate("ballot_opened", fact) == []


# ------------------------------------------------------------------ V4 bundled personnel vote

def test_v4_personnel_ballot_reporting_two_candidates_raises_an_alert():
    fact = compliance.fact_ballot_opened({"ballot_id": "b-2", "meeting_id": "m-1", "n": 9, "present": 9,
                                          "category": "personnel", "candidates": ["c1", "c2"]})
    assert rules(compliance.evaluate("ballot_opened", fact)) == [("V4", "ballot", "b-2")]


def test_v4_personnel_ballot_with_one_candidate_raises_nothing():
    fact = compliance.fact_ballot_opened({"ballot_id": "b-2", "meeting_id": "m-1", "n": 9, "present": 9,
                                          "category": "personnel", "candidates": ["c1"]})
    assert compliance.evaluate("ballot_opened", fact) == []


# ------------------------------------------------------------------ M4 ad-hoc topic

def topic(category, raised, kind):
    return compliance.fact_topic_accepted({"topic_id": "t-1", "meeting_id": "m-1", "category": category,
                                           "raised_at_meeting": raised}, kind)


def test_m4_personnel_topic_raised_at_an_emergency_meeting_raises_an_alert():
    assert rules(compliance.evaluate("topic_accepted", topic("personnel", True, "emergency"))) == \
        [("M4", "topic", "t-1")]


def test_m4_topic_raised_at_a_regular_meeting_raises_an_alert():
    assert rules(compliance.evaluate("topic_accepted", topic("work_plan", True, "regular"))) == [("M4", "topic", "t-1")]


def test_m4_ordinary_topic_raised_at_an_emergency_meeting_or_notified_topic_raises_nothing():
    assert compliance.evaluate("topic_accepted", topic("work_plan", True, "emergency")) == []
    assert compliance.evaluate("topic_accepted", topic("personnel", False, "regular")) == []


# ------------------------------------------------------------------ V7 reconsideration

def test_v7_superseding_decision_without_approval_raises_an_alert():
    fact = compliance.fact_decision({"decision_id": "d-2", "superseded_decision_id": "d-1"})
    alerts = compliance.evaluate("result_decided", fact)
    assert rules(alerts) == [("V7", "decision", "d-2")] and "d-1" in alerts[0].message


def test_v7_superseding_decision_with_the_secretarys_approval_raises_nothing():
    assert compliance.evaluate("result_decided", compliance.fact_decision(
        {"decision_id": "d-2", "superseded_decision_id": "d-1", "reconsideration_approved_by": "sec"})) == []
    assert compliance.evaluate("result_decided", compliance.fact_decision(
        {"decision_id": "d-2", "superseded_decision_id": "d-1", "reconsideration_approved": True})) == []
    assert compliance.evaluate("result_decided", compliance.fact_decision(
        {"decision_id": "d-3", "superseded_decision_id": None})) == []


# ------------------------------------------------------------------ M2 month without meeting

def meeting(opened_at, kind="regular"):
    return {"kind": kind, "scheduled_at": at(opened_at), "opened_at": at(opened_at)}


def test_m2_month_without_meeting_raises_an_alert_for_that_month_only():
    meetings = [meeting("2026-01-15T02:00:00Z"), meeting("2026-03-03T02:00:00Z")]
    alerts = compliance.month_without_meeting(meetings, dt.date(2026, 4, 2), domain.local_date)
    assert rules(alerts) == [("M2", "month", "2026-02")]


def test_m2_a_meeting_every_month_raises_nothing_and_the_current_month_is_not_judged():
    meetings = [meeting("2026-01-15T02:00:00Z"), meeting("2026-02-10T02:00:00Z"), meeting("2026-03-03T02:00:00Z")]
    assert compliance.month_without_meeting(meetings, dt.date(2026, 4, 28), domain.local_date) == []


def test_m2_months_are_reckoned_in_local_time_and_a_democratic_life_meeting_does_not_count():
    # 2026-01-31T17:00Z is 1 February in Shanghai: January had no meeting, February had one
    meetings = [meeting("2025-12-20T02:00:00Z"), meeting("2026-01-31T17:00:00Z"),
                meeting("2026-03-05T02:00:00Z", kind="democratic_life")]
    alerts = compliance.month_without_meeting(meetings, dt.date(2026, 4, 1), domain.local_date)
    assert rules(alerts) == [("M2", "month", "2026-01"), ("M2", "month", "2026-03")]


def test_m2_a_scheduled_meeting_that_never_opened_is_not_a_meeting_held():
    meetings = [meeting("2026-01-15T02:00:00Z"),
                {"kind": "regular", "scheduled_at": at("2026-02-15T02:00:00Z"), "opened_at": None}]
    assert rules(compliance.month_without_meeting(meetings, dt.date(2026, 3, 1), domain.local_date)) == \
        [("M2", "month", "2026-02")]


# ------------------------------------------------------------------ M11 democratic life meeting

def test_m11_year_without_democratic_life_meeting_raises_an_alert():
    meetings = [meeting("2025-06-01T02:00:00Z"), meeting("2026-05-01T02:00:00Z")]
    alerts = compliance.year_without_democratic_life(meetings, dt.date(2027, 1, 10), domain.local_date)
    assert rules(alerts) == [("M11", "year", "2026")]      # 2025 began before the suite was used


def test_m11_year_with_democratic_life_meeting_raises_nothing():
    meetings = [meeting("2025-06-01T02:00:00Z"), meeting("2026-12-20T02:00:00Z", kind="democratic_life")]
    assert compliance.year_without_democratic_life(meetings, dt.date(2027, 1, 10), domain.local_date) == []


# ------------------------------------------------------------------ C5 / C6 from the timer

def task(deadline, state="open"):
    return {"task_id": "t-1", "org_id": "org-a", "decision_id": "d-1", "state": state, "deadline": deadline}


def test_c5_open_task_past_its_deadline_raises_an_alert_per_deadline():
    alert = compliance.overdue_implementation(task(dt.date(2026, 3, 31)), dt.date(2026, 4, 1))
    assert (alert.rule, alert.subject_type, alert.subject_id) == ("C5", "implementation_task", "t-1@2026-03-31")


def test_c5_task_due_today_or_closed_raises_nothing():
    assert compliance.overdue_implementation(task(dt.date(2026, 4, 1)), dt.date(2026, 4, 1)) is None
    assert compliance.overdue_implementation(task(dt.date(2026, 3, 1), "not_executable"), dt.date(2026, 4, 1)) is None


def duty(due, filed=False):
    return {"duty_id": "du-1", "org_id": "org-a", "kind": "annual_comprehensive_report", "person_id": None,
            "year": 2025, "due_date": due, "filed": filed}


def test_c6_annual_report_not_filed_by_its_due_date_raises_an_alert():
    alert = compliance.overdue_duty(duty(dt.date(2026, 1, 31)), dt.date(2026, 2, 1))
    assert (alert.rule, alert.subject_type, alert.subject_id) == ("C6", "duty", "du-1")
    assert "annual_comprehensive_report" in alert.message


def test_c6_filed_or_not_yet_due_report_raises_nothing():
    assert compliance.overdue_duty(duty(dt.date(2026, 1, 31), filed=True), dt.date(2026, 2, 1)) is None
    assert compliance.overdue_duty(duty(dt.date(2026, 1, 31)), dt.date(2026, 1, 31)) is None


def test_sweep_tags_each_alert_with_its_organization():
    found = compliance.sweep({"org-a": [meeting("2026-01-15T02:00:00Z")]}, [task(dt.date(2026, 1, 20))],
                             [duty(dt.date(2026, 1, 31))], dt.date(2026, 3, 2), domain.local_date)
    assert sorted((org, a.rule, a.subject_id) for org, a in found) == [
        ("org-a", "C5", "t-1@2026-01-20"), ("org-a", "C6", "du-1"), ("org-a", "M2", "2026-02")]


@pytest.mark.parametrize("category", ["personnel", "major_decision", "work_plan"])
@pytest.mark.parametrize("kind", ["regular", "emergency", None])
def test_m4_a_topic_not_raised_at_the_meeting_can_never_raise_an_alert(category, kind):
    # the accountability service skips such events without a transaction: this is what makes that safe
    data = {"topic_id": "t-1", "meeting_id": "m-1", "category": category, "raised_at_meeting": False}
    assert compliance.topic_may_raise_alert(data) is False
    assert compliance.evaluate("topic_accepted", compliance.fact_topic_accepted(data, kind)) == []
    assert compliance.topic_may_raise_alert({**data, "raised_at_meeting": True}) is True


# ------------------------------------------------------------------ V5 serious disagreement overridden

def v5_fact(**kw):
    data = dict({"decision_id": "d-5", "outcome": "passed", "emergency": False, "serious_disagreement": True,
                 "confirm_reason": "岗位空缺影响工作"}, **kw)
    return compliance.fact_decision(data)


def test_v5_confirming_despite_serious_disagreement_raises_an_alert_with_the_reason():
    alerts = compliance.evaluate("result_decided", v5_fact())
    assert rules(alerts) == [("V5", "decision", "d-5")] and "岗位空缺影响工作" in alerts[0].message


def test_v5_no_alert_when_deferred_in_an_emergency_or_without_disagreement():
    assert compliance.evaluate("result_decided", v5_fact(emergency=True)) == []      # the majority decides at once
    assert compliance.evaluate("result_decided", v5_fact(outcome="deferred", confirm_reason=None)) == []
    assert compliance.evaluate("result_decided", v5_fact(serious_disagreement=False, confirm_reason=None)) == []


# ------------------------------------------------------------------ the inspector's language (issue 19)

def test_c7_every_alert_is_written_in_chinese_too():
    """Each rule's alert carries its text in Chinese for the discipline inspector's Chinese pages;
    the English ``message`` stays for integrators and the record."""
    alerts = [
        *compliance.evaluate("meeting_noticed", noticed("regular", "2026-03-10T02:00:00Z", "2026-03-08T03:00:00Z")),
        *compliance.evaluate("meeting_opened", opened(9, 5, 6)),
        compliance.emergency_meeting({"kind": "emergency", "subject_type": "meeting", "subject_id": "m-2",
                                      "emergency_reason": "防汛险情", "title": "党组紧急会议"}),
        compliance.ad_hoc_topic({"raised_at_meeting": True, "category": "personnel", "meeting_kind": "emergency",
                                 "topic_id": "t-2"}),
        compliance.overdue_implementation(task(dt.date(2026, 3, 31)), dt.date(2026, 4, 1)),
        compliance.overdue_duty(dict(duty(dt.date(2026, 1, 31)), person_id="p-7", kind="secretary_duty_report"),
                                dt.date(2026, 2, 1)),
        *compliance.evaluate("result_decided", v5_fact()),
    ]
    texts = {a.rule: a.message_zh for a in alerts}
    assert set(texts) == {"M5", "M8", "M6", "M4", "C5", "C6", "V5"}
    for rule, text in texts.items():
        assert text.startswith(f"{rule}：") and any("\u4e00" <= ch <= "\u9fff" for ch in text), (rule, text)
    assert texts["M5"] == "M5：会议通知在会前 47.0 小时才发出，应至少提前 48 小时"
    assert texts["M8"] == "M8：会议开始时应到 9 人、实到 5 人，不足法定人数 6 人"
    assert texts["M6"] == "M6：紧急会议「党组紧急会议」未经提前 48 小时通知召开；说明的理由：防汛险情"
    assert texts["C6"] == "C6：p-7的书记履职报告（2025 年度）应于 2026-01-31 前报送，至今未报送"
    assert "岗位空缺影响工作" in texts["V5"]
    assert all(a.to_dict()["message_zh"] == a.message_zh for a in alerts)
