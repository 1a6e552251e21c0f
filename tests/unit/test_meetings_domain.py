"""Meeting rules, unit-tested at their boundaries (no broker, no database)."""
import datetime as dt

import pytest

from services.meetings import domain
from shared.errors import Conflict, Forbidden, RuleViolation, ValidationFailed

UTC = dt.timezone.utc
MEETING = dt.datetime(2026, 12, 10, 2, 0, tzinfo=UTC)


@pytest.mark.parametrize("n,needed", [(3, 2), (4, 3), (5, 4), (6, 4), (7, 5), (8, 6), (9, 6), (10, 7),
                                      (11, 8), (12, 8), (13, 9), (14, 10), (15, 10)])
def test_m8_quorum_is_ceil_two_thirds(n, needed):
    assert domain.quorum_required(n) == needed
    # the definition itself: the smallest count with 3·present ≥ 2·N
    assert 3 * needed >= 2 * n and 3 * (needed - 1) < 2 * n


def test_m8_open_refuses_below_quorum_and_names_the_rule():
    group = {f"p{i}": "member" for i in range(9)}
    with pytest.raises(RuleViolation) as err:
        domain.check_open("emergency", "draft", MEETING, None, len(group), ["p1", "p2", "p3", "p4", "p5"],
                          now=MEETING)
    assert err.value.rule == "M8" and "at least 6" in err.value.message
    domain.check_open("emergency", "draft", MEETING, None, 9, ["p1", "p2", "p3", "p4", "p5", "p6"], now=MEETING)


def test_m8_observers_never_count():
    group = {"a": "secretary", "b": "member", "c": "member"}
    with pytest.raises(RuleViolation) as err:
        domain.split_attendance(group, ["a", "observer-1"], {})
    assert err.value.rule == "M8" and err.value.field == "present"


def test_m9_leave_and_absence_are_classified():
    group = {"a": "secretary", "b": "member", "c": "member"}
    assert domain.split_attendance(group, ["a"], {"b": {"t1": "同意"}}) == {"a": "present", "b": "leave", "c": "absent"}


@pytest.mark.parametrize("lead,ok", [(dt.timedelta(hours=47, minutes=59), False), (dt.timedelta(hours=48), True)])
def test_m5_notice_boundary_48_hours(lead, ok):
    now = MEETING - lead
    if ok:
        domain.check_notice("regular", "draft", MEETING, now, topic_count=1)
    else:
        with pytest.raises(RuleViolation) as err:
            domain.check_notice("regular", "draft", MEETING, now, topic_count=1)
        assert err.value.rule == "M5"
        assert "at least 48 hours" in err.value.message


def test_m5_emergency_meeting_skips_notice_lead():
    domain.check_notice("emergency", "draft", MEETING, MEETING - dt.timedelta(minutes=10), topic_count=1)


def test_m5_late_notice_blocks_opening_a_regular_meeting():
    noticed = MEETING - dt.timedelta(hours=47, minutes=59)
    with pytest.raises(RuleViolation) as err:
        domain.check_open("regular", "noticed", MEETING, noticed, 3, ["a", "b", "c"], now=MEETING)
    assert err.value.rule == "M5"
    domain.check_open("regular", "noticed", MEETING, MEETING - dt.timedelta(hours=48), 3, ["a", "b"], now=MEETING)


def test_m5_regular_meeting_without_notice_cannot_open():
    with pytest.raises(RuleViolation) as err:
        domain.check_open("regular", "draft", MEETING, None, 3, ["a", "b", "c"], now=MEETING)
    assert err.value.rule == "M5"


def test_m4_agenda_frozen_after_notice_and_personnel_never_ad_hoc():
    domain.check_add_topic("draft", "regular", "personnel")
    with pytest.raises(RuleViolation) as err:
        domain.check_add_topic("noticed", "regular", "work_plan")
    assert err.value.rule == "M4"
    with pytest.raises(RuleViolation) as err:
        domain.check_add_topic("opened", "regular", "work_plan")
    assert err.value.rule == "M4"
    # emergency meeting: raised at the meeting, but never personnel or major matters
    domain.check_add_topic("opened", "emergency", "work_plan")
    for category in ("personnel", "major_decision"):
        with pytest.raises(RuleViolation) as err:
            domain.check_add_topic("opened", "emergency", category)
        assert err.value.rule == "M4"
    with pytest.raises(ValidationFailed):
        domain.check_add_topic("draft", "regular", "gossip")


def test_membership_that_ends_or_starts_on_the_meeting_day_counts():
    day = dt.date(2026, 12, 10)
    terms = [
        domain.Term("ends-today", "member", dt.date(2020, 1, 1), day),
        domain.Term("starts-today", "member", day, None),
        domain.Term("ended-yesterday", "member", dt.date(2020, 1, 1), day - dt.timedelta(days=1)),
        domain.Term("starts-tomorrow", "member", day + dt.timedelta(days=1), None),
        domain.Term("office-staff", "office", dt.date(2020, 1, 1), None),
    ]
    assert set(domain.group_members_on(terms, day)) == {"ends-today", "starts-today"}


def test_staff_in_office_are_listed_by_role_and_never_as_group_members():
    day = dt.date(2026, 12, 10)
    terms = [
        domain.Term("p-office", "office", dt.date(2020, 1, 1), None),
        domain.Term("p-hr", "hr", dt.date(2020, 1, 1), day),                      # ends today: still in office
        domain.Term("p-gone", "confidential_secretary", dt.date(2020, 1, 1), day - dt.timedelta(days=1)),
        domain.Term("p-member", "member", dt.date(2020, 1, 1), None),
        domain.Term("p-member", "discipline", day, None),                         # two hats, listed as staff once
    ]
    assert domain.staff_on(terms, day) == [("p-office", "office"), ("p-hr", "hr"), ("p-member", "discipline")]
    assert domain.group_members_on(terms, day) == {"p-member": "member"}


def test_m1_secretary_chairs_or_delegates_to_a_deputy():
    group = {"sec": "secretary", "dep": "deputy_secretary", "mem": "member"}
    assert domain.chair_for("sec", ("secretary",), None, group) == ("sec", None)
    assert domain.chair_for("sec", ("secretary",), "dep", group) == ("dep", "sec")
    with pytest.raises(RuleViolation) as err:
        domain.chair_for("sec", ("secretary",), "mem", group)
    assert err.value.rule == "M1"
    with pytest.raises(Forbidden) as err:
        domain.chair_for("dep", ("deputy_secretary",), None, group)
    assert err.value.rule == "M1"


def test_one_secretary_in_office_at_a_time():
    current = [domain.Term("old", "secretary", dt.date(2020, 1, 1), None)]
    with pytest.raises(Conflict):
        domain.check_appointment("secretary", dt.date(2024, 1, 1), None, current)
    ended = [domain.Term("old", "secretary", dt.date(2020, 1, 1), dt.date(2023, 12, 31))]
    domain.check_appointment("secretary", dt.date(2024, 1, 1), None, ended)
    with pytest.raises(ValidationFailed):
        domain.check_appointment("member", dt.date(2024, 1, 2), dt.date(2024, 1, 1), [])
