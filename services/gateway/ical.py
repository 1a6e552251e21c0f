"""The meeting calendar as iCalendar (RFC 5545), for calendar programs (issue 19).

Plain Python, no I/O: ``calendar(meetings, ...)`` turns the meetings service's calendar items into
the text of a ``text/calendar`` document.  Times are UTC instants (``...Z``), which every calendar
program shows in its own zone; the organization's zone is named for programs that use it.  Each
meeting keeps its UID for life, so a program that imports the calendar again updates it; a
cancelled meeting stays, marked ``STATUS:CANCELLED``.
"""
import datetime as dt

from shared.clock import as_utc

PRODID = "-//Party Group Governance Suite//Meetings//ZH"
DURATION = "PT2H"                       # a meeting's usual length; the rules set none
KIND_NAMES = {"regular": "党组会议", "emergency": "党组紧急会议", "expanded": "党组扩大会议",
              "democratic_life": "民主生活会"}
STATUS = {"draft": "TENTATIVE", "cancelled": "CANCELLED"}     # every other status: CONFIRMED


def escape(text):
    """A TEXT value: backslash, semicolon, comma and line breaks escaped (RFC 5545 §3.3.11)."""
    return (text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
            .replace("\r\n", "\\n").replace("\n", "\\n").replace("\r", "\\n"))


def fold(line):
    """A content line folded at 75 octets, never inside a UTF-8 character (RFC 5545 §3.1)."""
    out, current = [], b""
    for ch in line:
        encoded = ch.encode("utf-8")
        if len(current) + len(encoded) > (75 if not out else 74):
            out.append(current)
            current = b""
        current += encoded
    out.append(current)
    return "\r\n ".join(part.decode("utf-8") for part in out)


def stamp(instant):
    return as_utc(instant).strftime("%Y%m%dT%H%M%SZ")


def calendar(meetings, timezone, now, calendar_name="党组会议", host="party-group"):
    """The iCalendar text of ``meetings`` (dicts with meeting_id, kind, title, status, scheduled_at)."""
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", f"PRODID:{PRODID}", "CALSCALE:GREGORIAN", "METHOD:PUBLISH",
             f"X-WR-CALNAME:{escape(calendar_name)}", f"X-WR-TIMEZONE:{escape(timezone)}"]
    for m in meetings:
        start = m["scheduled_at"]
        if isinstance(start, str):
            start = dt.datetime.fromisoformat(start.replace("Z", "+00:00"))
        kind = KIND_NAMES.get(m["kind"], m["kind"])
        lines += ["BEGIN:VEVENT", f"UID:{m['meeting_id']}@{host}", f"DTSTAMP:{stamp(now)}",
                  f"DTSTART:{stamp(start)}", f"DURATION:{DURATION}",
                  f"SUMMARY:{escape(m['title'])}", f"CATEGORIES:{escape(kind)}",
                  f"STATUS:{STATUS.get(m['status'], 'CONFIRMED')}", "END:VEVENT"]
    lines.append("END:VCALENDAR")
    return "".join(fold(line) + "\r\n" for line in lines)
