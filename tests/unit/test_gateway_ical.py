"""Issue 19: the meeting calendar as iCalendar (RFC 5545)."""
import datetime as dt

from services.gateway import ical

NOW = dt.datetime(2026, 12, 3, 4, 0, tzinfo=dt.timezone.utc)


def meeting(**extra):
    m = {"meeting_id": "m-1", "kind": "regular", "title": "党组会议", "status": "noticed",
         "scheduled_at": "2026-12-10T02:00:00Z"}
    m.update(extra)
    return m


def unfold(text):
    return text.replace("\r\n ", "")


def test_each_meeting_is_an_event_with_its_uid_utc_start_and_status():
    text = ical.calendar([meeting(), meeting(meeting_id="m-2", status="cancelled", kind="emergency"),
                          meeting(meeting_id="m-3", status="draft")], "Asia/Shanghai", NOW)
    assert text.startswith("BEGIN:VCALENDAR\r\nVERSION:2.0\r\n") and text.endswith("END:VCALENDAR\r\n")
    lines = unfold(text).split("\r\n")
    assert lines.count("BEGIN:VEVENT") == 3 == lines.count("END:VEVENT")
    assert "UID:m-1@party-group" in lines and "DTSTART:20261210T020000Z" in lines
    assert "DTSTAMP:20261203T040000Z" in lines and "X-WR-TIMEZONE:Asia/Shanghai" in lines
    assert ["STATUS:CONFIRMED", "STATUS:CANCELLED", "STATUS:TENTATIVE"] == [x for x in lines if x.startswith("STATUS:")]
    assert "CATEGORIES:党组紧急会议" in lines


def test_text_is_escaped_and_long_lines_are_folded_within_utf8_characters():
    title = "关于2027年度工作计划、重点项目安排；以及机关食堂改造,\n等事项的党组会议" * 3
    text = ical.calendar([meeting(title=title)], "Asia/Shanghai", NOW)
    for line in text.split("\r\n"):
        assert len(line.encode("utf-8")) <= 75, line
    (summary,) = [x for x in unfold(text).split("\r\n") if x.startswith("SUMMARY:")]
    assert summary == "SUMMARY:" + title.replace(";", "\\;").replace("；", "；").replace(",", "\\,").replace("\n", "\\n")
    assert "\n" not in summary


def test_an_empty_calendar_is_still_a_calendar():
    assert unfold(ical.calendar([], "Asia/Shanghai", NOW)).split("\r\n")[:2] == ["BEGIN:VCALENDAR", "VERSION:2.0"]
