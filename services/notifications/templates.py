"""Every text a notification shows, in zh-CN (default) and en, kept in one module (N1).

A template turns validated event data into a ``Rendered``: a subject, paragraphs
and an optional list (the agenda).  ``text`` and ``html`` build the plain-text
and HTML bodies from it the same way for every kind, so the two bodies of an
e-mail always say the same thing.  An instant is shown in the organization's time zone when
the event names it (``timezone``), as a person reads a clock: 2026年12月6日 09:30 北京时间;
an event that does not name it shows the instant in ISO 8601 with its ``Z`` (the inbox page
turns it into the reader's organization's time), never a UTC label beside a local time.
"""
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError
import html as _html
from dataclasses import dataclass, field

from shared.clock import as_utc, iso

ZH = "zh-CN"
EN = "en"
LANGUAGES = (ZH, EN)
DEFAULT_LANGUAGE = ZH


@dataclass(frozen=True)
class Rendered:
    subject: str
    paragraphs: tuple
    list_heading: str | None = None
    items: tuple = field(default_factory=tuple)
    empty_list: str | None = None

    def text(self):
        lines = list(self.paragraphs)
        if self.list_heading is not None:
            if self.items:
                lines.append(self.list_heading)
                lines.extend(f"{i}. {item}" for i, item in enumerate(self.items, start=1))
            else:
                lines.append(f"{self.list_heading}{self.empty_list}")
        return "\n".join(lines)

    def html(self, lang):
        esc = _html.escape
        parts = [f'<!DOCTYPE html>\n<html lang="{esc(lang)}"><head><meta charset="utf-8">'
                 f"<title>{esc(self.subject)}</title></head><body>",
                 f"<h1>{esc(self.subject)}</h1>"]
        parts.extend(f"<p>{esc(p)}</p>" for p in self.paragraphs)
        if self.list_heading is not None:
            if self.items:
                parts.append(f"<p>{esc(self.list_heading)}</p><ol>")
                parts.extend(f"<li>{esc(item)}</li>" for item in self.items)
                parts.append("</ol>")
            else:
                parts.append(f"<p>{esc(self.list_heading)}{esc(self.empty_list)}</p>")
        parts.append("</body></html>")
        return "".join(parts)


def utc_text(value):
    """An instant as UTC ISO 8601."""
    return iso(as_utc(value))


ZONE_NAMES = {ZH: {"Asia/Shanghai": "北京时间"}, EN: {"Asia/Shanghai": "Beijing time"}}


def when(lang, value, timezone=None):
    """An instant as the organization's clock shows it, with the zone named; ISO 8601 (UTC, ``Z``)
    when the zone is not known (an older event)."""
    try:
        zone = ZoneInfo(timezone) if timezone else None
    except (ZoneInfoNotFoundError, ValueError):
        zone = None
    if zone is None:
        return utc_text(value)
    local = as_utc(value).astimezone(zone)
    name = ZONE_NAMES[lang].get(timezone, timezone)
    if lang == EN:
        return f"{local.day} {local:%b %Y}, {local:%H:%M} {name}"
    return f"{local.year}年{local.month}月{local.day}日 {local:%H:%M} {name}"


MEETING_LABELS = {
    ZH: {"regular": "会议通知", "emergency": "紧急会议通知"},
    EN: {"regular": "Meeting notice", "emergency": "Emergency meeting notice"},
}
METHOD_LABELS = {
    ZH: {"oral": "口头表决", "show_of_hands": "举手表决", "named": "记名投票", "secret": "无记名投票"},
    EN: {"oral": "oral vote", "show_of_hands": "show of hands", "named": "named vote", "secret": "secret ballot"},
}
OUTCOME_LABELS = {
    ZH: {"passed": "通过", "failed": "未通过", "deferred": "暂缓"},
    EN: {"passed": "passed", "failed": "not passed", "deferred": "deferred"},
}


def _meeting_notice(lang, d):
    """N1 / M5: the notice with date, objection deadline and agenda."""
    tz = d.get("timezone")
    if lang == EN:
        label = MEETING_LABELS[EN].get(d["kind"], "Meeting notice")
        paragraphs = [f"Meeting: {d['title']}", f"Time: {when(EN, d['scheduled_at'], tz)}"]
        if d.get("objection_deadline") is not None:
            paragraphs.append("Objections to the agenda must reach the chair before "
                              f"{when(EN, d['objection_deadline'], tz)}")
        return Rendered(f"{label}: {d['title']}", tuple(paragraphs), "Agenda:",
                        tuple(i["title"] for i in d.get("agenda") or ()), " none")
    label = MEETING_LABELS[ZH].get(d["kind"], "会议通知")
    paragraphs = [f"会议：{d['title']}", f"时间：{when(ZH, d['scheduled_at'], tz)}"]
    if d.get("objection_deadline") is not None:
        paragraphs.append(f"对议题如有异议，请于 {when(ZH, d['objection_deadline'], tz)}前提出")
    return Rendered(f"{label}：{d['title']}", tuple(paragraphs), "议题：",
                    tuple(i["title"] for i in d.get("agenda") or ()), "无")


def _objection_reminder(lang, d):
    """N1 / M5: the objection deadline is near (objections later than it are refused)."""
    tz = d.get("timezone")
    if lang == EN:
        return Rendered(
            f"Objection deadline reminder: {d['title']}",
            (f"The meeting \u201c{d['title']}\u201d is held at {when(EN, d['scheduled_at'], tz)}.",
             "Objections to the agenda must reach the chair before "
             f"{when(EN, d['objection_deadline'], tz)}; later objections are refused."),
            "Agenda:", tuple(i["title"] for i in d.get("agenda") or ()), " none")
    return Rendered(
        f"异议截止提醒：{d['title']}",
        (f"会议「{d['title']}」将于 {when(ZH, d['scheduled_at'], tz)}召开。",
         f"对议题如有异议，请于 {when(ZH, d['objection_deadline'], tz)}前向主持人提出，逾期不予受理。"),
        "议题：", tuple(i["title"] for i in d.get("agenda") or ()), "无")


def _objection_received(lang, d):
    """M5: a member's objection to the agenda, for the meeting's chair."""
    who = d.get("person_name") or d["person_id"]
    meeting = d.get("meeting_title") or d["meeting_id"]
    tz = d.get("timezone")
    topic = d.get("topic_title") or d.get("topic_id")      # an event of the first version names the id
    if lang == EN:
        held = f" ({when(EN, d['scheduled_at'], tz)})" if d.get("scheduled_at") is not None else ""
        about = f"the topic \u201c{topic}\u201d" if topic else "the agenda"
        return Rendered(f"Objection to the agenda: {meeting}",
                        (f"{who} objects to {about} of the meeting \u201c{meeting}\u201d{held}:",
                         d["text"],
                         f"Raised at: {when(EN, d['raised_at'], tz)}"))
    about = f"议题「{topic}」" if topic else "会议议程"
    held = f"（{when(ZH, d['scheduled_at'], tz)}）" if d.get("scheduled_at") is not None else ""
    return Rendered(f"议题异议：{meeting}",
                    (f"{who}对会议「{meeting}」{held}的{about}提出异议：",
                     d["text"],
                     f"提出时间：{when(ZH, d['raised_at'], tz)}"))


def _ballot_opened(lang, d):
    """N1: voting on one agenda item has opened."""
    method = METHOD_LABELS[lang].get(d["method"], d["method"])
    if lang == EN:
        return Rendered(f"Voting has opened: {d['title']}",
                        (f"Voting on \u201c{d['title']}\u201d has opened ({method}).",
                         f"Members in office: {d['n']}; present: {d['present']}."))
    return Rendered(f"表决已开始：{d['title']}",
                    (f"议题「{d['title']}」的表决已开始（{method}）。",
                     f"应到 {d['n']} 人，实到 {d['present']} 人。"))


def _decision_distributed(lang, d):
    """N1 (§三(七), §三(十)): a decision goes to its scope."""
    outcome = OUTCOME_LABELS[lang].get(d["outcome"], d["outcome"])
    counts = d.get("yes") is not None and d.get("no") is not None and d.get("abstain") is not None
    if lang == EN:
        paragraphs = [f"Decision on \u201c{d['title']}\u201d: {outcome}.",
                      f"Decided at (UTC): {utc_text(d['decided_at'])}"]
        if counts:
            paragraphs.append(f"Yes {d['yes']}, no {d['no']}, abstain {d['abstain']}; "
                              f"members in office {d['n']}, present {d['present']}.")
        return Rendered(f"Decision: {d['title']} ({outcome})", tuple(paragraphs))
    paragraphs = [f"议题「{d['title']}」的表决结果：{outcome}。", f"决定时间（UTC）：{utc_text(d['decided_at'])}"]
    if counts:
        paragraphs.append(f"同意 {d['yes']} 票，不同意 {d['no']} 票，弃权 {d['abstain']} 票；"
                          f"应到 {d['n']} 人，实到 {d['present']} 人。")
    return Rendered(f"决定：{d['title']}（{outcome}）", tuple(paragraphs))


def _implementation_postponed(lang, d):
    """C5 §三(十二): a postponed implementation task, explained to the group."""
    if lang == EN:
        return Rendered(f"Implementation postponed: {d['title']}",
                        (f"Implementation of \u201c{d['title']}\u201d is postponed from {d['old_deadline'].isoformat()} "
                         f"to {d['new_deadline'].isoformat()}.",
                         f"Explanation: {d['explanation']}"))
    return Rendered(f"落实延期：{d['title']}",
                    (f"决定「{d['title']}」的落实期限由 {d['old_deadline'].isoformat()} "
                     f"延至 {d['new_deadline'].isoformat()}。",
                     f"说明：{d['explanation']}"))


def _implementation_not_executable(lang, d):
    """C5 §三(十二): a decision that cannot be carried out, explained to the group."""
    if lang == EN:
        return Rendered(f"Decision cannot be carried out: {d['title']}",
                        (f"The decision \u201c{d['title']}\u201d cannot be carried out.",
                         f"Explanation: {d['explanation']}"))
    return Rendered(f"决定无法执行：{d['title']}",
                    (f"决定「{d['title']}」无法执行。", f"说明：{d['explanation']}"))


def _objection_answered(lang, d):
    """M5: the chair's answer to a member's objection."""
    if lang == EN:
        answer = "accepted" if d["disposition"] == "accepted" else "not accepted"
        return Rendered(f"Your objection was {answer}", (f"The chair's reply: {d['reply']}",))
    answer = "已采纳" if d["disposition"] == "accepted" else "未采纳"
    return Rendered(f"您提出的异议{answer}", (f"会议主持人的答复：{d['reply']}",))


def _implementation_due_soon(lang, d):
    """C5 §三(七): the deadline of an implementation task is near."""
    title = d.get("title") or d["decision_id"]
    if lang == EN:
        return Rendered(f"Implementation due soon: {title}",
                        (f"Implementation of \u201c{title}\u201d is due on {d['deadline'].isoformat()} "
                         f"({d['days_left']} day(s) left).",
                         "Please report progress, or explain a postponement, before the deadline."))
    return Rendered(f"落实即将到期：{title}",
                    (f"决定「{title}」的落实期限为 {d['deadline'].isoformat()}，还剩 {d['days_left']} 天。",
                     "请在期限前报告落实情况；确需延期的，请说明理由。"))


def _implementation_overdue(lang, d):
    """C5 §三(七): an implementation task passed its deadline unfinished."""
    title = d.get("title") or d["decision_id"]
    if lang == EN:
        return Rendered(f"Implementation overdue: {title}",
                        (f"Implementation of \u201c{title}\u201d was due on {d['deadline'].isoformat()} "
                         "and is not finished.",
                         "Report progress, or explain the delay to the group (postponement or non-execution)."))
    return Rendered(f"落实已逾期：{title}",
                    (f"决定「{title}」的落实期限 {d['deadline'].isoformat()} 已过，尚未完成。",
                     "请报告落实情况，或向党组说明延期或无法执行的理由。"))


def _compliance_alert(lang, d):
    """C7: a new compliance alert, to the discipline inspector, in their language when the alert
    was written in it (``message_zh``)."""
    if lang == EN:
        return Rendered(f"Compliance alert ({d['rule']})",
                        (f"Rule {d['rule']}: {d['message']}", f"Raised at: {when(EN, d['raised_at'], d.get('timezone'))}"))
    return Rendered(f"合规提醒（{d['rule']}）",
                    (f"规则 {d['rule']}：{d.get('message_zh') or d['message']}",
                     f"提出时间：{when(ZH, d['raised_at'], d.get('timezone'))}"))


TEMPLATES = {
    "meeting_notice": _meeting_notice,
    "objection_reminder": _objection_reminder,
    "objection_received": _objection_received,
    "ballot_opened": _ballot_opened,
    "decision_distributed": _decision_distributed,
    "implementation_postponed": _implementation_postponed,
    "implementation_not_executable": _implementation_not_executable,
    "implementation_due_soon": _implementation_due_soon,
    "implementation_overdue": _implementation_overdue,
    "compliance_alert": _compliance_alert,
    "objection_answered": _objection_answered,
}


def render(kind, lang, data):
    """The ``Rendered`` notification of ``kind`` in ``lang`` (zh-CN when unknown)."""
    if lang not in LANGUAGES:
        lang = DEFAULT_LANGUAGE
    return TEMPLATES[kind](lang, data)
