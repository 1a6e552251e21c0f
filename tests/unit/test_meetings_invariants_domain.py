"""Issue 16, meetings side: rules that hold whatever the order of calls (pure domain, no broker)."""
import datetime as dt
from types import SimpleNamespace

import pytest

from services.meetings import domain
from shared import clock
from shared.errors import Conflict, Forbidden, RuleViolation, ValidationFailed

UTC = dt.timezone.utc
MEETING = dt.datetime(2026, 12, 10, 2, 0, tzinfo=UTC)
NOTICED = MEETING - dt.timedelta(hours=72)


# ---------------------------------------------------------------- defect 1: M5, held at its noticed time

@pytest.mark.parametrize("before,ok", [(dt.timedelta(hours=71), False), (dt.timedelta(minutes=30, seconds=1), False),
                                       (dt.timedelta(minutes=30), True), (dt.timedelta(0), True),
                                       (-dt.timedelta(hours=2), True)])
def test_m5_a_noticed_meeting_opens_from_its_noticed_time_less_the_tolerance(before, ok):
    now = MEETING - before
    if ok:
        domain.check_open("regular", "noticed", MEETING, NOTICED, 3, ["a", "b"], now=now)
        return
    with pytest.raises(RuleViolation) as err:
        domain.check_open("regular", "noticed", MEETING, NOTICED, 3, ["a", "b"], now=now)
    assert err.value.rule == "M5" and err.value.field == "meeting_id"
    assert "2026-12-10T01:30:00+00:00" in err.value.message       # the earliest opening, named


def test_m5_the_tolerance_is_a_setting():
    now = MEETING - dt.timedelta(minutes=50)
    with pytest.raises(RuleViolation):
        domain.check_open("expanded", "noticed", MEETING, NOTICED, 3, ["a", "b"], now=now)
    domain.check_open("expanded", "noticed", MEETING, NOTICED, 3, ["a", "b"], now=now,
                      tolerance=dt.timedelta(hours=1))


def test_m5_moving_a_noticed_meeting_earlier_needs_a_new_notice_of_48_hours():
    now = NOTICED + dt.timedelta(hours=1)
    earlier = now + dt.timedelta(hours=2)
    status, needs_notice = domain.reschedule("regular", "noticed", earlier, now)
    assert (status, needs_notice) == ("draft", True)
    with pytest.raises(RuleViolation) as err:
        domain.check_notice("regular", status, earlier, now, topic_count=1)
    assert err.value.rule == "M5"


# ---------------------------------------------------------------- defect 9: M9, leave opinions are never lost

def test_m9_an_empty_entry_of_the_chair_never_erases_approved_leave_opinions():
    approved = {"b": {"t1": "同意", "t2": "反对"}}
    assert domain.merge_leave({"b": {}}, approved, set()) == {"b": {"t1": "同意", "t2": "反对"}}
    # the chair's list may add an opinion the request left out, never replace one
    assert domain.merge_leave({"b": {"t1": "弃权", "t3": "同意"}}, approved, set()) == {
        "b": {"t1": "同意", "t2": "反对", "t3": "同意"}}
    assert approved == {"b": {"t1": "同意", "t2": "反对"}}          # the request itself untouched


# ---------------------------------------------------------------- defect 7: M3, who decides the agenda

def meeting(chair="sec", delegated_by=None):
    return SimpleNamespace(chair_person_id=chair, delegated_by=delegated_by)


def test_m3_the_secretary_or_the_delegated_chair_decides_the_agenda_others_suggest():
    domain.check_agenda_authority("sec", ("secretary",), None)
    domain.check_agenda_authority("sec", ("secretary",), meeting())
    domain.check_agenda_authority("dep", ("deputy_secretary",), meeting(chair="dep", delegated_by="sec"))
    for who, roles, m in (("dep", ("deputy_secretary",), None),                      # the topic pool
                          ("dep", ("deputy_secretary",), meeting()),                 # the secretary chairs
                          ("dep2", ("deputy_secretary",), meeting(chair="dep", delegated_by="sec")),
                          ("dep", ("deputy_secretary",), meeting(chair="dep", delegated_by=None)),
                          ("m", ("member",), meeting(chair="m", delegated_by="sec")),
                          ("o", ("office",), meeting())):
        with pytest.raises(Forbidden) as err:
            domain.check_agenda_authority(who, roles, m)
        assert err.value.rule == "M3"


def test_m3_the_delegated_chair_accepts_suggestions_for_their_meeting_only():
    domain.check_decide_topic(("deputy_secretary",), "suggested", True, None, "dep", meeting("dep", "sec"))
    with pytest.raises(Forbidden):
        domain.check_decide_topic(("deputy_secretary",), "suggested", True, None, "dep", meeting())
    with pytest.raises(Forbidden):
        domain.check_decide_topic(("deputy_secretary",), "suggested", True, None, "dep", None)


# ---------------------------------------------------------------- defect 4: §二, M1, M8, terms end

def test_terms_end_and_n_counts_the_terms_covering_the_day():
    terms = [domain.Term("a", "secretary", dt.date(2020, 1, 1), None),
             domain.Term("b", "member", dt.date(2020, 1, 1), None),
             domain.Term("c", "member", dt.date(2020, 1, 1), None)]
    domain.check_end_term(terms[2], dt.date(2026, 6, 30), "transfer", already_ended=False)
    terms[2] = domain.Term("c", "member", dt.date(2020, 1, 1), dt.date(2026, 6, 30))
    assert len(domain.group_members_on(terms, dt.date(2026, 6, 30))) == 3       # the last day counts
    assert len(domain.group_members_on(terms, dt.date(2026, 7, 1))) == 2
    assert domain.quorum_required(len(domain.group_members_on(terms, dt.date(2026, 7, 1)))) == 2


def test_ending_a_term_is_checked():
    term = domain.Term("a", "member", dt.date(2024, 1, 1), None)
    with pytest.raises(ValidationFailed) as err:
        domain.check_end_term(term, dt.date(2023, 12, 31), "removal", False)
    assert err.value.field == "end_date"
    with pytest.raises(ValidationFailed) as err:
        domain.check_end_term(term, dt.date(2024, 5, 1), "fired for fun", False)
    assert err.value.field == "reason"
    with pytest.raises(Conflict):
        domain.check_end_term(domain.Term("a", "member", dt.date(2024, 1, 1), dt.date(2024, 3, 1)),
                              dt.date(2024, 2, 1), "removal", True)
    with pytest.raises(RuleViolation):     # ending later than planned would extend the term
        domain.check_end_term(domain.Term("a", "member", dt.date(2024, 1, 1), dt.date(2024, 3, 1)),
                              dt.date(2024, 4, 1), "removal", False)


def test_m1_a_successor_secretary_starts_the_day_after_the_current_one_ends():
    current = domain.Term("a", "secretary", dt.date(2020, 1, 1), None)
    with pytest.raises(Conflict):
        domain.check_appointment("secretary", dt.date(2026, 7, 1), None, [current])
    ended = domain.Term("a", "secretary", dt.date(2020, 1, 1), dt.date(2026, 6, 30))
    domain.check_appointment("secretary", dt.date(2026, 7, 1), None, [ended])
    with pytest.raises(Conflict):
        domain.check_appointment("secretary", dt.date(2026, 6, 30), None, [ended])


# ---------------------------------------------------------------- defect 3: M4, M6, the emergency route

def test_m6_an_emergency_meeting_records_why_it_is_one():
    for reason in (None, "", "   "):
        with pytest.raises(ValidationFailed) as err:
            domain.check_emergency_reason("emergency", reason)
        assert err.value.field == "emergency_reason" and err.value.rule == "M6"
    domain.check_emergency_reason("emergency", "防汛险情")
    domain.check_emergency_reason("regular", None)
    with pytest.raises(ValidationFailed):
        domain.check_emergency_reason("regular", "no reason to have one")


@pytest.mark.parametrize("status", ["draft", "noticed", "opened"])
@pytest.mark.parametrize("category", ["personnel", "major_decision"])
def test_m4_m6_personnel_and_major_matters_never_go_on_an_emergency_meeting(status, category):
    with pytest.raises(RuleViolation) as err:
        domain.check_add_topic(status, "emergency", category)
    assert err.value.field == "category" and err.value.rule == "M4"


@pytest.mark.parametrize("category", ["personnel", "major_decision"])
def test_m4_m6_personnel_and_major_matters_are_decided_only_with_48_hours_notice(category):
    domain.check_votable("regular", MEETING, MEETING - dt.timedelta(hours=48), category)
    for kind, noticed in (("emergency", None), ("regular", None), ("regular", MEETING - dt.timedelta(hours=47))):
        with pytest.raises(RuleViolation) as err:
            domain.check_votable(kind, MEETING, noticed, category)
        assert err.value.rule == "M6"
    domain.check_votable("emergency", MEETING, None, "work_plan")


# ---------------------------------------------------------------- V1/M8: ballots live inside an open meeting

def test_v1_a_meeting_with_open_ballots_does_not_close():
    domain.check_no_open_ballots([])
    with pytest.raises(RuleViolation) as err:
        domain.check_no_open_ballots(["b1", "b2"])
    assert err.value.rule == "V1" and err.value.field == "meeting_id" and "2 ballots" in err.value.message


def test_v5_a_topic_is_deferred_only_from_a_meeting_closed_or_cancelled():
    for status in ("closed", "minutes_approved", "cancelled"):
        domain.check_deferrable(status)
    for status in ("draft", "noticed", "opened"):
        with pytest.raises(Conflict):
            domain.check_deferrable(status)


# ---------------------------------------------------------------- the controllable clock

def test_the_clock_moves_only_when_the_setting_asks_for_it(tmp_path, monkeypatch):
    monkeypatch.delenv(clock.CONTROLLED_CLOCK_SETTING, raising=False)
    with pytest.raises(RuntimeError):
        clock.advance(dt.timedelta(hours=1))
    assert abs((clock.now() - clock.utcnow()).total_seconds()) < 1
    monkeypatch.setenv(clock.CONTROLLED_CLOCK_SETTING, str(tmp_path / "clock"))
    assert abs((clock.now() - clock.utcnow()).total_seconds()) < 1        # no file yet: the wall clock
    moved = clock.advance(dt.timedelta(hours=72))
    assert dt.timedelta(hours=71, minutes=59) < moved - clock.utcnow() <= dt.timedelta(hours=72)
    clock.advance(dt.timedelta(hours=1))
    assert clock.offset() == 73 * 3600
    with pytest.raises(ValueError):
        clock.advance(-dt.timedelta(seconds=1))


def test_deploy_never_sets_the_controlled_clock():
    from pathlib import Path
    root = Path(__file__).resolve().parents[2] / "deploy"
    for path in root.rglob("*"):
        if path.is_file():
            assert clock.CONTROLLED_CLOCK_SETTING not in path.read_text(encoding="utf-8", errors="ignore"), path


# ---------------------------------------------------------------- C7/M6: each emergency meeting, for the inspector

def test_c7_each_emergency_meeting_opened_raises_an_m6_alert_with_its_reason():
    from services.accountability import compliance

    data = {"meeting_id": "m1", "opened_at": MEETING, "n": 9, "present": 9, "quorum": 6, "kind": "emergency",
            "emergency_reason": "防汛险情", "title": "紧急会议"}
    [alert] = compliance.evaluate("meeting_opened", compliance.fact_meeting_opened(data))
    assert (alert.rule, alert.subject_type, alert.subject_id) == ("M6", "meeting", "m1")
    assert "防汛险情" in alert.message
    assert compliance.evaluate("meeting_opened", compliance.fact_meeting_opened(dict(data, kind="regular"))) == []
    # an event from before the field existed raises nothing new
    old = {k: v for k, v in data.items() if k not in ("kind", "emergency_reason", "title")}
    assert compliance.evaluate("meeting_opened", compliance.fact_meeting_opened(old)) == []
