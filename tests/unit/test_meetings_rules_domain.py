"""Meeting rules M1–M11 beyond the first slice, unit-tested at their boundaries (pure domain)."""
import datetime as dt
from types import SimpleNamespace

import pytest

from services.meetings import domain
from shared.errors import Conflict, Forbidden, RuleViolation, ValidationFailed

UTC = dt.timezone.utc
MEETING = dt.datetime(2026, 12, 10, 2, 0, tzinfo=UTC)


def topic(**kw):
    base = dict(status="accepted", category="work_plan", broad=False, precoordination=None, preparation=None,
                subordinate_org=None, title="议题")
    base.update(kw)
    return SimpleNamespace(**base)


PRE = {"leader_person_id": "m1", "with_whom": ["财务处"], "outcome": "一致"}
PREP = {"research": "r", "opinions_from": ["a"], "risk_assessment": "low", "legal_review": "ok"}


# ---------------------------------------------------------------- M5 objections: 24 h

@pytest.mark.parametrize("lead,ok", [(dt.timedelta(hours=23, minutes=59), False), (dt.timedelta(hours=24), True),
                                     (dt.timedelta(hours=23, minutes=59, seconds=59), False)])
def test_m5_objection_boundary_24_hours(lead, ok):
    now = MEETING - lead
    if ok:
        domain.check_objection(True, "noticed", MEETING, now)
        return
    with pytest.raises(RuleViolation) as err:
        domain.check_objection(True, "noticed", MEETING, now)
    assert err.value.rule == "M5" and err.value.message.startswith("M5: an objection must reach the chair at least 24")
    assert "2026-12-09T02:00:00+00:00" in err.value.message    # the deadline, named


def test_m5_objection_only_by_members_and_before_the_meeting():
    with pytest.raises(Forbidden):
        domain.check_objection(False, "noticed", MEETING, MEETING - dt.timedelta(days=3))
    with pytest.raises(RuleViolation):
        domain.check_objection(True, "opened", MEETING, MEETING - dt.timedelta(days=3))


@pytest.mark.parametrize("kind", ["regular", "expanded", "democratic_life"])
def test_m5_every_kind_but_emergency_needs_48_hours_notice(kind):
    with pytest.raises(RuleViolation) as err:
        domain.check_notice(kind, "draft", MEETING, MEETING - dt.timedelta(hours=47, minutes=59), topic_count=1)
    assert err.value.rule == "M5"
    domain.check_notice(kind, "draft", MEETING, MEETING - dt.timedelta(hours=48), topic_count=1)
    with pytest.raises(RuleViolation) as err:
        domain.check_open(kind, "noticed", MEETING, MEETING - dt.timedelta(hours=47, minutes=59), 3, ["a", "b"],
                          now=MEETING)
    assert err.value.rule == "M5"


def test_m5_rescheduling_a_noticed_regular_meeting_needs_a_new_notice():
    now = MEETING - dt.timedelta(days=5)
    assert domain.reschedule("regular", "noticed", MEETING, now) == ("draft", True)
    assert domain.reschedule("emergency", "noticed", MEETING, now) == ("noticed", False)
    assert domain.reschedule("regular", "draft", MEETING, now) == ("draft", False)
    with pytest.raises(Conflict):
        domain.reschedule("regular", "opened", MEETING, now)
    with pytest.raises(RuleViolation):     # into the past
        domain.reschedule("regular", "draft", now - dt.timedelta(minutes=1), now)


# ---------------------------------------------------------------- M3 topics

def test_m3_suggest_by_group_members_decide_by_the_secretary_with_reason_on_rejection():
    domain.check_suggest(("member",))
    with pytest.raises(Forbidden):
        domain.check_suggest(("office",))
    with pytest.raises(RuleViolation) as err:
        domain.check_suggest(("member",), "noticed")
    assert err.value.rule == "M4"
    domain.check_decide_topic(("secretary",), "suggested", True, None)
    with pytest.raises(ValidationFailed) as err:
        domain.check_decide_topic(("secretary",), "suggested", False, "  ")
    assert err.value.field == "reason" and err.value.rule == "M3"
    with pytest.raises(Forbidden):
        domain.check_decide_topic(("deputy_secretary",), "suggested", True, None)
    with pytest.raises(Conflict):
        domain.check_decide_topic(("secretary",), "accepted", True, None)


def test_m3_personnel_topics_are_prepared_by_hr():
    assert domain.prepared_by_for("personnel") == "hr"
    assert domain.prepared_by_for("work_plan") == "office"
    with pytest.raises(RuleViolation) as err:
        domain.prepared_by_for("personnel", "office")
    assert err.value.rule == "M3"
    domain.check_material_preparer(("hr",), "personnel")
    with pytest.raises(Forbidden):
        domain.check_material_preparer(("office",), "personnel")
    with pytest.raises(Forbidden):
        domain.check_material_preparer(("hr",), "work_plan")


def test_v4_one_agenda_item_per_candidate():
    assert domain.split_candidates("personnel", ["a", "b", "a"]) == ["a", "b"]
    assert domain.split_candidates("personnel", []) == [None]
    with pytest.raises(ValidationFailed) as err:
        domain.split_candidates("work_plan", ["a"])
    assert err.value.rule == "V4"


def test_m3_broad_or_major_topic_needs_precoordination_before_scheduling():
    domain.check_schedulable(topic())
    for t in (topic(category="major_decision"), topic(broad=True)):
        with pytest.raises(RuleViolation) as err:
            domain.check_schedulable(t)
        assert err.value.rule == "M3" and err.value.field == "precoordination"
        domain.check_schedulable(topic(category=t.category, broad=t.broad, precoordination=PRE))
    with pytest.raises(RuleViolation):
        domain.check_schedulable(topic(status="suggested"))


def test_m3_major_decision_needs_its_preparation_before_notice():
    major = topic(category="major_decision", precoordination=PRE)
    with pytest.raises(RuleViolation) as err:
        domain.check_notice("regular", "draft", MEETING, MEETING - dt.timedelta(days=3), 1, topics=[major])
    assert err.value.rule == "M3" and err.value.field == "preparation"
    domain.check_notice("regular", "draft", MEETING, MEETING - dt.timedelta(days=3), 1,
                        topics=[topic(category="major_decision", precoordination=PRE, preparation=PREP)])
    sub = topic(category="major_decision", precoordination=PRE, preparation=PREP, subordinate_org="中心")
    with pytest.raises(RuleViolation) as err:
        domain.check_prepared_for_notice(sub)
    assert err.value.field == "preparation.subordinate_opinion"
    sub.preparation = dict(PREP, subordinate_opinion="同意")
    domain.check_prepared_for_notice(sub)


def test_m3_materials_type_size_and_checksum():
    import hashlib
    pdf = b"%PDF-1.7 body"
    assert domain.check_material("a.pdf", "application/pdf", pdf) == hashlib.sha256(pdf).hexdigest()
    domain.check_material("a.txt", "text/plain", "说明".encode())
    exactly = b"\x89PNG\r\n\x1a\n" + b"\0" * (domain.MAX_MATERIAL_BYTES - 8)
    domain.check_material("a.png", "image/png", exactly)
    for args, field in [(("a.png", "image/png", exactly + b"\0"), "content_base64"),
                        (("a.exe", "application/x-msdownload", b"MZ"), "content_type"),
                        (("a.pdf", "application/pdf", b"GIF89a"), "content_base64"),
                        (("a.txt", "text/plain", b"\xff\xfe\xfa"), "content_base64"),
                        (("../etc/passwd", "text/plain", b"x"), "filename"),
                        (("a.pdf", "application/pdf", b""), "content_base64")]:
        with pytest.raises(ValidationFailed) as err:
            domain.check_material(*args)
        assert err.value.field == field


# ---------------------------------------------------------------- M6, M7, M8, M9

def test_m6_provisional_handling_needs_the_secretary_and_blocks_notice_until_reported():
    domain.check_provisional(("member",))
    # M6: the secretary in office approves by acting; nobody else (and nothing typed in) does
    domain.check_approve_provisional("sec", "sec", "awaiting_approval")
    with pytest.raises(Forbidden) as err:
        domain.check_approve_provisional("dep", "sec", "awaiting_approval")
    assert err.value.rule == "M6"
    with pytest.raises(Conflict):
        domain.check_approve_provisional("sec", "sec", "approved")
    with pytest.raises(Forbidden):
        domain.check_provisional(("office",))
    with pytest.raises(RuleViolation) as err:
        domain.check_notice("emergency", "draft", MEETING, MEETING, 1, unreported_handlings=["抢险"])
    assert err.value.rule == "M6" and "抢险" in err.value.message


def test_m7_observers_staff_only_unless_expanded_and_before_notice():
    domain.check_observer("regular", "draft", False, True)
    domain.check_observer("expanded", "draft", False, False)
    for args in [("regular", "draft", False, False), ("regular", "draft", True, True),
                 ("regular", "noticed", False, True)]:
        with pytest.raises(RuleViolation) as err:
            domain.check_observer(*args)
        assert err.value.rule == "M7"


def test_m8_arrivals_and_departures_and_the_quorum_now():
    assert domain.quorum_state(9, 6) == {"n": 9, "present": 6, "quorum": 6, "met": True}
    assert domain.quorum_state(9, 5)["met"] is False
    domain.check_presence_change("opened", "arrival", "absent", True)
    domain.check_presence_change("opened", "arrival", "leave", True)
    domain.check_presence_change("opened", "departure", "present", True)
    with pytest.raises(Conflict):
        domain.check_presence_change("opened", "arrival", "present", True)
    with pytest.raises(Conflict):
        domain.check_presence_change("opened", "departure", "absent", True)
    with pytest.raises(RuleViolation):
        domain.check_presence_change("closed", "arrival", "absent", True)
    with pytest.raises(RuleViolation) as err:
        domain.check_presence_change("opened", "arrival", None, False)
    assert err.value.rule == "M8"


def test_m9_leave_requests_and_the_chairs_decision():
    domain.check_leave_request(True, "noticed", {"t1": "同意"}, {"t1"}, None)
    with pytest.raises(Forbidden):
        domain.check_leave_request(False, "noticed", {}, set(), None)
    with pytest.raises(RuleViolation):
        domain.check_leave_request(True, "opened", {}, set(), None)
    with pytest.raises(Conflict):
        domain.check_leave_request(True, "noticed", {}, set(), "approved")
    domain.check_leave_request(True, "noticed", {}, set(), "refused")   # may ask again after a refusal
    with pytest.raises(ValidationFailed):
        domain.check_leave_request(True, "noticed", {"t9": "x"}, {"t1"}, None)
    domain.check_leave_decision("chair", "chair", "requested", "noticed")
    with pytest.raises(Forbidden):
        domain.check_leave_decision("other", "chair", "requested", "noticed")
    with pytest.raises(Conflict):
        domain.check_leave_decision("chair", "chair", "approved", "noticed")
    # approved leave joins the chair's list; its opinions are never overwritten (M9); a member who came is present
    assert domain.merge_leave({"b": {"t": "x"}}, {"b": {"t": "y"}, "c": {}, "d": {}}, {"d"}) == {
        "b": {"t": "y"}, "c": {}}


# ---------------------------------------------------------------- lifecycle, M10

def test_lifecycle_transitions():
    for action, allowed in domain.TRANSITIONS.items():
        for status in domain.MEETING_STATUSES:
            if status in allowed:
                domain.check_transition(action, status)
            else:
                with pytest.raises(Conflict):
                    domain.check_transition(action, status)


def test_m10_minutes_by_the_confidential_secretary_approved_by_the_chair():
    domain.check_record_minutes(("confidential_secretary",), "opened", False)
    with pytest.raises(Forbidden) as err:
        domain.check_record_minutes(("secretary",), "opened", False)
    assert err.value.rule == "M10"
    with pytest.raises(RuleViolation):
        domain.check_record_minutes(("confidential_secretary",), "noticed", False)
    with pytest.raises(Conflict):
        domain.check_record_minutes(("confidential_secretary",), "closed", True)
    domain.check_approve_minutes("chair", "chair", "closed", True)
    with pytest.raises(RuleViolation):
        domain.check_approve_minutes("chair", "chair", "closed", False)
    with pytest.raises(Conflict):
        domain.check_approve_minutes("chair", "chair", "opened", True)


def test_m10_documents_signed_off_by_the_secretary_and_read_within_scope():
    domain.check_issue_document(("office",), "closed")
    with pytest.raises(Forbidden):
        domain.check_issue_document(("secretary",), "closed")
    with pytest.raises(RuleViolation):
        domain.check_issue_document(("office",), "opened")
    domain.check_sign_off(("secretary",), "awaiting_sign_off")
    with pytest.raises(Forbidden):
        domain.check_sign_off(("deputy_secretary",), "awaiting_sign_off")
    with pytest.raises(Conflict):
        domain.check_sign_off(("secretary",), "issued")
    assert domain.may_read_document("p", ("member",), "issued", ["p"])
    assert not domain.may_read_document("p", ("member",), "awaiting_sign_off", ["p"])
    assert not domain.may_read_document("q", ("member",), "issued", ["p"])
    assert domain.may_read_document("q", ("office",), "awaiting_sign_off", ["p"])


# ---------------------------------------------------------------- M2, M11

def test_m2_month_without_a_meeting_is_a_finding_and_a_running_month_is_due():
    nov = dt.date(2026, 11, 1)
    assert domain.compliance_findings(nov, dt.date(2026, 12, 1), set(), set())[0]["severity"] == "breach"
    assert domain.compliance_findings(nov, dt.date(2026, 11, 30), set(), set())[0]["severity"] == "due"
    assert domain.compliance_findings(nov, dt.date(2026, 12, 1), {nov}, set()) == []
    assert domain.compliance_findings(dt.date(2027, 1, 1), dt.date(2026, 12, 1), set(), set()) == []
    assert domain.parse_month("2026-02") == dt.date(2026, 2, 1)
    for bad in ("2026-13", "26", None, "x-y"):
        with pytest.raises(ValidationFailed):
            domain.parse_month(bad)
    assert domain.previous_month(dt.date(2027, 1, 15)) == dt.date(2026, 12, 1)
    assert domain.next_month(dt.date(2026, 12, 1)) == dt.date(2027, 1, 1)


def test_m11_a_year_without_a_democratic_life_meeting_is_a_finding():
    dec = dt.date(2026, 12, 1)
    rules = [f["rule"] for f in domain.compliance_findings(dec, dt.date(2027, 1, 1), {dec}, set())]
    assert rules == ["M11"]
    assert domain.compliance_findings(dec, dt.date(2027, 1, 1), {dec}, {2026}) == []


def test_m11_democratic_life_steps_in_order():
    check = domain.check_dl_step
    reported = {"reported_to": ["org_department", "discipline_commission"]}
    check("opinions_solicited", "democratic_life", "noticed", "o", ("office",), "s", [])
    with pytest.raises(RuleViolation):
        check("opinions_solicited", "regular", "noticed", "o", ("office",), "s", [])
    with pytest.raises(ValidationFailed):
        check("reported_before", "democratic_life", "draft", "o", ("office",), "s", [],
              data={"reported_to": ["org_department"]})
    check("reported_before", "democratic_life", "draft", "o", ("office",), "s", [], data=reported)
    with pytest.raises(Conflict):
        check("outline", "democratic_life", "draft", "m", ("member",), "s", [("outline", "m", {})], person_id="m")
    with pytest.raises(RuleViolation):
        check("outline", "democratic_life", "opened", "m", ("member",), "s", [], person_id="m")
    with pytest.raises(RuleViolation) as err:
        check("speech", "democratic_life", "opened", "s", ("secretary",), "s", [], person_id="m")
    assert "secretary speaks first" in err.value.message
    check("speech", "democratic_life", "opened", "s", ("secretary",), "s", [], person_id="s")
    check("speech", "democratic_life", "opened", "s", ("secretary",), "s", [("speech", "s", {})], person_id="m")
    with pytest.raises(Forbidden):
        check("summary", "democratic_life", "opened", "m", ("member",), "s", [])
    with pytest.raises(RuleViolation):
        check("summary_reported", "democratic_life", "closed", "o", ("office",), "s", [], data=reported)
    with pytest.raises(RuleViolation):
        check("evaluation", "democratic_life", "closed", "o", ("office",), "s", [("summary", "s", {})])
    steps = [("opinions_solicited", None, {}), ("reported_before", None, {}), ("outline", "s", {})]
    domain.check_dl_open(steps, ["s"], "s", "s", "主题")
    with pytest.raises(RuleViolation) as err:
        domain.check_dl_open(steps, ["s", "m"], "s", "s", "主题")
    assert err.value.rule == "M11" and "m" in err.value.message
    with pytest.raises(RuleViolation):
        domain.check_dl_open(steps[1:], ["s"], "s", "s", "主题")
    with pytest.raises(RuleViolation):
        domain.check_dl_open(steps, ["s"], "s", "dep", "主题")
    with pytest.raises(ValidationFailed):
        domain.check_democratic_life_schedule("democratic_life", " ", None)
    with pytest.raises(RuleViolation):
        domain.check_democratic_life_schedule("democratic_life", "主题", "s")


def test_m10_issue_numbers_read_as_offices_write_them_and_a_year_is_four_digits():
    assert domain.document_number(2027, 3) == "〔2027〕3号"
    assert domain.check_document_year(2027) == 2027 and domain.check_document_year("2027") == 2027
    for bad in ("20x7", "", 99, 10000, None, True, 2027.0, "-2027"):
        with pytest.raises(ValidationFailed) as err:
            domain.check_document_year(bad)
        assert (err.value.field, err.value.rule) == ("year", "M10")
