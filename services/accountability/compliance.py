"""C7 compliance engine, plain Python (no nameko, no database).

Every check is one small function citing its rule.  It takes a *normalized
fact* (a plain dict built by the ``fact_*`` functions below from an event, or
by the service from its own tables for the timer's sweep) and returns an
``Alert`` or ``None``.  An alert is identified by (org, rule, subject_type,
subject_id): the service stores it once, so replicas, timers and redelivered
events never duplicate it.

Event-fed rules:  M5 late notice, M8 no quorum (meeting and ballot), M6 every
emergency meeting held (reviewed by the discipline inspector), M4 ad-hoc topic,
V4 bundled personnel vote, V5 serious disagreement confirmed instead of deferred,
V7 reconsideration without approval.
Timer-fed rules:  M2 month without meeting, M11 year without democratic life
meeting, C5 overdue implementation without explanation, C6 overdue duty/report.
"""
import datetime as dt
from dataclasses import dataclass

from shared.clock import as_utc
from shared.group_rules import quorum_required     # M8, the same in every service

NOTICE_LEAD = dt.timedelta(hours=48)              # M5 §三(四)
PERSONNEL_OR_MAJOR = ("personnel", "major_decision")   # M4 §二(五): never raised at the meeting
DEMOCRATIC_LIFE = "democratic_life"               # M11 §四
MONTH_LOOKBACK = 24                               # M2: months looked at by one sweep
YEAR_LOOKBACK = 5                                 # M11: years looked at by one sweep


@dataclass(frozen=True)
class Alert:
    """An alert with its text in English (``message``, for integrators and the record) and in
    Chinese (``message_zh``, what the discipline inspector reads in the Chinese interface)."""
    rule: str
    subject_type: str
    subject_id: str
    message: str
    message_zh: str | None = None

    def to_dict(self):
        return {"rule": self.rule, "subject_type": self.subject_type, "subject_id": self.subject_id,
                "message": self.message, "message_zh": self.message_zh}


SUBJECTS_ZH = {"meeting": "会议", "ballot": "表决"}
CATEGORIES_ZH = {"personnel": "人事任免", "major_decision": "重大决策"}
DUTIES_ZH = {"secretary_duty_report": "书记履职报告", "member_assessment": "成员述职考核",
             "annual_comprehensive_report": "年度综合报告", "special_report": "专项报告"}


# ------------------------------------------------------------------ normalized facts

def fact_meeting_noticed(data):
    return {"meeting_id": data["meeting_id"], "kind": data["kind"],
            "scheduled_at": as_utc(data["scheduled_at"]), "noticed_at": as_utc(data["noticed_at"])}


def fact_meeting_opened(data):
    # kind and emergency_reason were added to the event later: an older event has neither
    return {"subject_type": "meeting", "subject_id": data["meeting_id"], "n": data["n"],
            "present": data["present"], "quorum": data.get("quorum"), "kind": data.get("kind"),
            "emergency_reason": data.get("emergency_reason"), "title": data.get("title")}


def fact_ballot_opened(data):
    return {"subject_type": "ballot", "subject_id": data["ballot_id"], "n": data["n"],
            "present": data["present"], "quorum": None, "category": data.get("category"),
            "candidates": data.get("candidates")}


def fact_decision(data):
    approved = bool(data.get("reconsideration_approved")) or bool(data.get("reconsideration_approved_by"))
    return {"decision_id": data["decision_id"], "superseded_decision_id": data.get("superseded_decision_id"),
            "reconsideration_approved": approved, "outcome": data.get("outcome"),
            "emergency": bool(data.get("emergency")), "serious_disagreement": bool(data.get("serious_disagreement")),
            "confirm_reason": data.get("confirm_reason")}


def fact_topic_accepted(data, meeting_kind):
    return {"topic_id": data["topic_id"], "meeting_id": data["meeting_id"], "category": data["category"],
            "raised_at_meeting": bool(data["raised_at_meeting"]), "meeting_kind": meeting_kind}


# ------------------------------------------------------------------ event-fed rules

def late_notice(fact):
    """M5 §三(四): a regular meeting's notice reaches attendees at least 48 h before it
    (an emergency meeting may skip notice, M6)."""
    if fact["kind"] == "emergency":
        return None
    lead = fact["scheduled_at"] - fact["noticed_at"]
    if lead >= NOTICE_LEAD:
        return None
    hours = lead.total_seconds() / 3600
    return Alert("M5", "meeting", fact["meeting_id"],
                 f"M5: notice given {hours:.1f} h before the meeting; at least 48 h are required",
                 f"M5：会议通知在会前 {hours:.1f} 小时才发出，应至少提前 48 小时")


def no_quorum(fact):
    """M8 §三(五): a meeting opens, and each ballot opens, only with two thirds of the
    group members present (refused upstream; checked again here)."""
    required = max(quorum_required(fact["n"]), fact.get("quorum") or 0)
    if fact["present"] >= required:
        return None
    return Alert("M8", fact["subject_type"], fact["subject_id"],
                 f"M8: {fact['subject_type']} opened with {fact['present']} of {fact['n']} group members "
                 f"present; {required} are required",
                 f"M8：{SUBJECTS_ZH.get(fact['subject_type'], fact['subject_type'])}开始时应到 {fact['n']} 人、"
                 f"实到 {fact['present']} 人，不足法定人数 {required} 人")


def emergency_meeting(fact):
    """M6 §三(四): an emergency meeting skips the 48 h notice; each one held is put before the
    discipline inspector with its recorded reason, so the exception cannot become the rule."""
    if fact.get("kind") != "emergency":
        return None
    given = (fact.get("emergency_reason") or "").strip()
    title = f" {fact['title']!r}" if fact.get("title") else ""
    return Alert("M6", fact["subject_type"], fact["subject_id"],
                 f"M6: emergency meeting{title} opened without the 48 h notice; reason given: "
                 f"{given or 'no reason recorded'}",
                 f"M6：紧急会议{'「' + fact['title'] + '」' if fact.get('title') else ''}未经提前 48 小时通知召开；"
                 f"说明的理由：{given or '未记录理由'}")


def ad_hoc_topic(fact):
    """M4 §二(五), §三(四): no topic raised at the meeting, except in an emergency meeting, and
    never a personnel or major matter (refused upstream; recorded when an event reports it)."""
    if not fact["raised_at_meeting"]:
        return None
    if fact["category"] in PERSONNEL_OR_MAJOR:
        why = f"a {fact['category']} topic always needs notice"
        why_zh = f"{CATEGORIES_ZH[fact['category']]}议题必须提前通知"
    elif fact["meeting_kind"] is not None and fact["meeting_kind"] != "emergency":
        why = "topics may be raised at the meeting only in an emergency meeting"
        why_zh = "只有紧急会议才可临时提出议题"
    else:
        return None
    return Alert("M4", "topic", fact["topic_id"], f"M4: topic raised at the meeting: {why}",
                 f"M4：会上临时提出议题：{why_zh}")


def topic_may_raise_alert(data):
    """Whether ``ad_hoc_topic`` can fire for a ``topic_accepted`` event's data, whatever the
    meeting's kind: only for a topic raised at the meeting (M4)."""
    return bool(data.get("raised_at_meeting"))


def bundled_personnel_vote(fact):
    """V4 §三(六): each candidate of a personnel item gets a ballot of their own (refused
    upstream; recorded only when a ballot event reports several candidates)."""
    candidates = fact.get("candidates") or []
    if fact.get("category") != "personnel" or len(candidates) <= 1:
        return None
    return Alert("V4", "ballot", fact["subject_id"],
                 f"V4: one personnel ballot covered {len(candidates)} candidates; vote person by person",
                 f"V4：一次人事表决包含 {len(candidates)} 名人选，应逐人表决")


def reconsideration_without_approval(fact):
    """V7 §三(九): a decision is reconsidered only with the secretary's approval."""
    if not fact["superseded_decision_id"] or fact["reconsideration_approved"]:
        return None
    return Alert("V7", "decision", fact["decision_id"],
                 f"V7: decision supersedes {fact['superseded_decision_id']} without a recorded "
                 "approval of the secretary for the reconsideration",
                 "V7：本决定取代了先前的决定，但没有书记批准复议的记录")


def disagreement_overridden(fact):
    """V5 §三(六): on serious disagreement over a major matter the decision is in general deferred;
    outside an emergency the chair may confirm it with a recorded reason, and the discipline
    inspector is told (C7)."""
    if not fact.get("serious_disagreement") or fact.get("emergency") or fact.get("outcome") == "deferred" \
            or not fact.get("confirm_reason"):
        return None
    return Alert("V5", "decision", fact["decision_id"],
                 f"V5: decided despite serious disagreement instead of being deferred; the chair's reason: "
                 f"{fact['confirm_reason']}",
                 f"V5：存在重大分歧，未暂缓而径行表决；主持人说明的理由：{fact['confirm_reason']}")


# ------------------------------------------------------------------ timer-fed rules

def _month_start(day):
    return day.replace(day=1)


def _add_months(day, months):
    m = day.month - 1 + months
    return dt.date(day.year + m // 12, m % 12 + 1, 1)


def month_without_meeting(meetings, today, to_local_date):
    """M2 §三(三): a party group meeting in principle once a month.

    ``meetings``: the organization's meeting facts (kind, scheduled_at, opened_at).
    Looks at completed calendar months (local time) from the month of the
    organization's first known meeting; a month in which no party group meeting
    was opened raises an alert.  A democratic life meeting (§四) is not a party
    group meeting.  Returns a list of alerts.
    """
    dates = [to_local_date(m[k]) for m in meetings for k in ("scheduled_at", "opened_at") if m.get(k)]
    if not dates:
        return []
    held = {_month_start(to_local_date(m["opened_at"])) for m in meetings
            if m.get("opened_at") and m.get("kind") != DEMOCRATIC_LIFE}
    current = _month_start(today)
    month = max(_month_start(min(dates)), _add_months(current, -MONTH_LOOKBACK))
    alerts = []
    while month < current:
        if month not in held:
            label = f"{month.year:04d}-{month.month:02d}"
            alerts.append(Alert("M2", "month", label, f"M2: no party group meeting was held in {label}",
                                f"M2：{month.year} 年 {month.month} 月未召开党组会议"))
        month = _add_months(month, 1)
    return alerts


def year_without_democratic_life(meetings, today, to_local_date):
    """M11 §四(一): a democratic life meeting once a year.

    Looks at completed years after the year of the organization's first known
    meeting (the first year may have begun before the suite was used).
    """
    dates = [to_local_date(m[k]) for m in meetings for k in ("scheduled_at", "opened_at") if m.get(k)]
    if not dates:
        return []
    held = {to_local_date(m["opened_at"]).year for m in meetings
            if m.get("opened_at") and m.get("kind") == DEMOCRATIC_LIFE}
    first = max(min(dates).year + 1, today.year - YEAR_LOOKBACK)
    return [Alert("M11", "year", str(year), f"M11: no democratic life meeting was held in {year}",
                  f"M11：{year} 年未召开民主生活会")
            for year in range(first, today.year) if year not in held]


def overdue_implementation(task, today):
    """C5 §三(十二): implementation past its deadline with no explanation to the group
    (a postponement or a declaration that it cannot be executed would have closed or moved it)."""
    if task["state"] != "open" or task["deadline"] >= today:
        return None
    return Alert("C5", "implementation_task", f"{task['task_id']}@{task['deadline'].isoformat()}",
                 f"C5: implementation of decision {task['decision_id']} is overdue since "
                 f"{task['deadline'].isoformat()} without an explanation to the group",
                 f"C5：决定的落实任务自 {task['deadline'].isoformat()} 起逾期，未向党组作出说明")


def overdue_duty(duty, today):
    """C6 §五(一), §二(二): a duty report or the annual comprehensive report not filed by its due date."""
    if duty["filed"] or duty["due_date"] >= today:
        return None
    who = f" of {duty['person_id']}" if duty.get("person_id") else ""
    return Alert("C6", "duty", duty["duty_id"],
                 f"C6: {duty['kind']}{who} for {duty['year']} was due {duty['due_date'].isoformat()} "
                 "and has not been filed",
                 f"C6：{duty['person_id'] + '的' if duty.get('person_id') else ''}"
                 f"{DUTIES_ZH.get(duty['kind'], duty['kind'])}（{duty['year']} 年度）应于 "
                 f"{duty['due_date'].isoformat()} 前报送，至今未报送")


# which rules each normalized event fact feeds
EVENT_RULES = {
    "meeting_noticed": (late_notice,),
    "meeting_opened": (no_quorum, emergency_meeting),
    "ballot_opened": (no_quorum, bundled_personnel_vote),
    "topic_accepted": (ad_hoc_topic,),
    "result_decided": (reconsideration_without_approval, disagreement_overridden),
}


def evaluate(fact_kind, fact):
    """Every alert an event fact raises."""
    return [alert for rule in EVENT_RULES[fact_kind] if (alert := rule(fact)) is not None]


def sweep(meetings_by_org, tasks, duties, today, to_local_date):
    """The timer's checks -> list of (org_id, Alert)."""
    found = []
    for org_id, meetings in meetings_by_org.items():
        for alert in month_without_meeting(meetings, today, to_local_date):
            found.append((org_id, alert))
        for alert in year_without_democratic_life(meetings, today, to_local_date):
            found.append((org_id, alert))
    for task in tasks:
        if (alert := overdue_implementation(task, today)) is not None:
            found.append((task["org_id"], alert))
    for duty in duties:
        if (alert := overdue_duty(duty, today)) is not None:
            found.append((duty["org_id"], alert))
    return found
