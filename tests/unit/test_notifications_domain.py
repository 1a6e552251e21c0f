"""Notification rules N1–N2, unit-tested directly (no broker, no database)."""
import pytest

from services.notifications import domain, schemas
from shared.errors import ValidationFailed
from shared.validation import load


def noticed(**extra):
    data = {
        "meeting_id": "m-1", "kind": "regular", "title": "党组会议",
        "scheduled_at": "2026-12-10T10:00:00+08:00", "noticed_at": "2026-12-07T02:00:00Z",
        "objection_deadline": "2026-12-09T02:00:00Z", "chair_person_id": "p0",
        "agenda": [{"topic_id": "t1", "title": "2027年度工作计划", "category": "work_plan"},
                   {"topic_id": "t2", "title": "干部任免", "category": "personnel"}],
        "recipients": ["p0", "p1", "p2"],
    }
    data.update(extra)
    return load(schemas.MeetingNoticedIn(), data, rule="N1")


def test_n1_one_inbox_notice_per_recipient():
    notices = domain.notices_for_meeting(noticed())
    assert [n["person_id"] for n in notices] == ["p0", "p1", "p2"]
    assert {(n["channel"], n["kind"], n["meeting_id"]) for n in notices} == {("inbox", "meeting_notice", "m-1")}


def test_n1_notice_has_title_time_in_utc_objection_deadline_and_agenda():
    notice = domain.notices_for_meeting(noticed())[0]
    assert notice["title"] == "会议通知：党组会议"
    assert "2026-12-10T02:00:00Z" in notice["body"]          # 10:00 in Beijing = 02:00 UTC
    assert "2026-12-09T02:00:00Z" in notice["body"]          # M5 objection deadline
    assert "1. 2027年度工作计划" in notice["body"] and "2. 干部任免" in notice["body"]


def test_n1_emergency_meeting_notice_says_so():
    assert domain.notices_for_meeting(noticed(kind="emergency"))[0]["title"] == "紧急会议通知：党组会议"


def test_n2_recipient_listed_twice_gets_one_notice():
    notices = domain.notices_for_meeting(noticed(recipients=["p1", "p2", "p1"]))
    assert [n["person_id"] for n in notices] == ["p1", "p2"]


def test_n1_no_recipients_no_notices():
    assert domain.notices_for_meeting(noticed(recipients=[])) == []


@pytest.mark.parametrize("field,value", [("recipients", None), ("scheduled_at", "2026-12-10T10:00:00"),
                                         ("meeting_id", "")])
def test_n1_malformed_notice_names_the_field(field, value):
    with pytest.raises(ValidationFailed) as err:
        noticed(**{field: value})
    assert err.value.field == field and err.value.rule == "N1"


def test_n1_blank_recipient_is_refused():
    with pytest.raises(ValidationFailed) as err:
        domain.notices_for_meeting({**noticed(), "recipients": ["p1", " "]})
    assert err.value.field == "recipients.1" and err.value.rule == "N1"
