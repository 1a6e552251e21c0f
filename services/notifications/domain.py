"""Notification rules in plain Python (no nameko, no HTTP, no database).

N1: a meeting notice with its agenda goes to every attendee.
N2: at most one notification per recipient and channel for one event.
"""
from shared.clock import as_utc, iso
from shared.errors import ValidationFailed

INBOX = "inbox"
CHANNELS = (INBOX,)
MEETING_NOTICE = "meeting_notice"
KIND_LABELS = {"regular": "会议通知", "emergency": "紧急会议通知"}


def _utc_text(value):
    """An instant as UTC ISO 8601 (the organization's zone is not known here)."""
    return iso(as_utc(value))


def meeting_notice_text(data):
    """N1: the title and body of a meeting notice (Chinese)."""
    label = KIND_LABELS.get(data["kind"], "会议通知")
    title = f"{label}：{data['title']}"
    lines = [f"会议：{data['title']}", f"时间（UTC）：{_utc_text(data['scheduled_at'])}"]
    if data.get("objection_deadline") is not None:
        # M5: objections to the agenda before the deadline
        lines.append(f"对议题如有异议，请于 {_utc_text(data['objection_deadline'])}（UTC）前提出")
    agenda = data.get("agenda") or []
    if agenda:
        lines.append("议题：")
        lines.extend(f"{i}. {item['title']}" for i, item in enumerate(agenda, start=1))
    else:
        lines.append("议题：无")
    return title, "\n".join(lines)


def notices_for_meeting(data):
    """N1/N2: one inbox notification per distinct recipient of a meeting notice.

    ``data`` is a validated ``meetings.meeting_noticed`` payload.  A recipient
    listed twice gets one notification (N2).  Returns a list of dicts
    (person_id, channel, kind, title, body, meeting_id) in recipient order.
    """
    title, body = meeting_notice_text(data)
    seen = set()
    notices = []
    for i, person_id in enumerate(data["recipients"]):
        if not isinstance(person_id, str) or not person_id.strip():
            raise ValidationFailed(f"N1: recipients.{i}: must be a person id",
                                   field=f"recipients.{i}", rule="N1")
        if person_id in seen:
            continue
        seen.add(person_id)
        notices.append({"person_id": person_id, "channel": INBOX, "kind": MEETING_NOTICE,
                        "title": title, "body": body, "meeting_id": data["meeting_id"]})
    return notices


def check_page(limit, offset, max_limit=200):
    """Paging arguments of a query: 1 ≤ limit ≤ max_limit, offset ≥ 0."""
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= max_limit:
        raise ValidationFailed(f"limit: must be an integer from 1 to {max_limit}", field="limit")
    if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
        raise ValidationFailed("offset: must be an integer of at least 0", field="offset")
