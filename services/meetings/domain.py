"""Meeting rules in plain Python (no nameko, no HTTP, no database).

Each check raises a typed error naming its SPEC rule; the service layer calls
them before it writes anything, so a refused action changes nothing.
"""
import datetime as dt
from dataclasses import dataclass

from shared.clock import as_utc
from shared.errors import Conflict, Forbidden, RuleViolation, ValidationFailed

GROUP_ROLES = ("secretary", "deputy_secretary", "member")
STAFF_ROLES = ("office", "hr", "confidential_secretary", "observer", "discipline",
               "org_department", "discipline_commission", "admin")
MEETING_KINDS = ("regular", "emergency")
# §一(二)1–7, plus reports (e.g. a provisional handling report, M6) and statements (§二(三))
TOPIC_CATEGORIES = ("work_plan", "organization", "major_decision", "personnel", "ideology",
                    "party_building", "clean_governance", "other", "report", "statement")
NOTICE_LEAD = dt.timedelta(hours=48)      # M5
OBJECTION_LEAD = dt.timedelta(hours=24)   # M5


@dataclass(frozen=True)
class Term:
    """One appointment: a role held from start to end date, both inclusive."""
    person_id: str
    role: str
    start_date: dt.date
    end_date: dt.date | None

    def in_office(self, day):
        return self.start_date <= day and (self.end_date is None or day <= self.end_date)


def quorum_required(n):
    """M8: at least two thirds of the N group members: ceil(2N/3)."""
    if n < 0:
        raise ValueError("N cannot be negative")
    return (2 * n + 2) // 3


def group_members_on(terms, day):
    """M8/V3: the group members in office on ``day`` -> {person_id: role}.

    A membership that ends on the day still counts that day; one that starts on
    the day counts too (both dates are inclusive).
    """
    members = {}
    for term in terms:
        if term.role in GROUP_ROLES and term.in_office(day):
            # a person with two roles the same day (e.g. promoted) counts once, highest role first
            if term.person_id not in members or GROUP_ROLES.index(term.role) < GROUP_ROLES.index(members[term.person_id]):
                members[term.person_id] = term.role
    return members


def check_appointment(role, start_date, end_date, existing_terms):
    """§2: exactly one secretary in office at a time; dates must make sense."""
    if role not in GROUP_ROLES + STAFF_ROLES:
        raise ValidationFailed(f"role: unknown role {role!r}", field="role")
    if end_date is not None and end_date < start_date:
        raise ValidationFailed("end_date: must not be before start_date", field="end_date")
    if role == "secretary":
        for term in existing_terms:
            if term.role != "secretary":
                continue
            overlap_start = max(start_date, term.start_date)
            ends = [d for d in (end_date, term.end_date) if d is not None]
            overlap_end = min(ends) if ends else None
            if overlap_end is None or overlap_start <= overlap_end:
                raise Conflict("§2: an organization has exactly one secretary in office at a time; "
                               "end the current secretary's term first", field="start_date", rule="M1")


def chair_for(actor_person_id, actor_roles, delegate_to, group_on_day):
    """M1: the secretary convenes and chairs, or delegates to a deputy secretary.

    Returns (chair_person_id, delegated_by).
    """
    if "secretary" not in actor_roles:
        raise Forbidden("M1: only the secretary convenes a party group meeting", field="actor", rule="M1")
    if delegate_to is None or delegate_to == actor_person_id:
        return actor_person_id, None
    if group_on_day.get(delegate_to) != "deputy_secretary":
        raise RuleViolation("M1: the secretary may delegate chairing only to a deputy secretary in office",
                            field="delegate_to", rule="M1")
    return delegate_to, actor_person_id


def check_schedule(kind, scheduled_at, now):
    if kind not in MEETING_KINDS:
        raise ValidationFailed(f"kind: must be one of {', '.join(MEETING_KINDS)}", field="kind")
    if as_utc(scheduled_at) <= as_utc(now) and kind == "regular":
        raise RuleViolation("M5: a regular meeting must be scheduled in the future", field="scheduled_at", rule="M5")


def check_add_topic(meeting_status, meeting_kind, category):
    """M4: only the notified agenda is discussed.

    Topics are added while the meeting is a draft.  At an opened emergency
    meeting a topic may be raised, but never a personnel or major matter.
    """
    if category not in TOPIC_CATEGORIES:
        raise ValidationFailed(f"category: must be one of {', '.join(TOPIC_CATEGORIES)}", field="category")
    if meeting_status == "draft":
        return
    if meeting_kind == "emergency" and meeting_status == "opened":
        if category in ("personnel", "major_decision"):
            raise RuleViolation("M4: personnel and major matters are never raised at the meeting; "
                                "they need notice", field="category", rule="M4")
        return
    raise RuleViolation("M4: the agenda is frozen once notice is given; no ad-hoc motions",
                        field="meeting_id", rule="M4")


def check_notice(kind, status, scheduled_at, now, topic_count):
    """M5: agenda, date and materials reach every attendee 48 h before (not for emergencies)."""
    if status != "draft":
        raise Conflict(f"M5: the meeting is already {status}", field="meeting_id", rule="M5")
    if topic_count == 0:
        raise RuleViolation("M4: a meeting needs at least one topic on its agenda before notice",
                            field="topics", rule="M4")
    if kind == "regular" and as_utc(scheduled_at) - as_utc(now) < NOTICE_LEAD:
        raise RuleViolation("M5: notice must be issued at least 48 hours before the meeting",
                            field="scheduled_at", rule="M5")


def check_open(kind, status, scheduled_at, noticed_at, n, present_members):
    """M5 (late notice blocks a regular meeting) and M8 (two-thirds quorum)."""
    if status == "opened":
        raise Conflict("the meeting is already open", field="meeting_id", rule="M8")
    if status not in ("draft", "noticed"):
        raise Conflict(f"a {status} meeting cannot be opened", field="meeting_id", rule="M8")
    if kind == "regular":
        if status != "noticed" or noticed_at is None:
            raise RuleViolation("M5: a regular meeting cannot be opened without notice",
                                field="meeting_id", rule="M5")
        if as_utc(scheduled_at) - as_utc(noticed_at) < NOTICE_LEAD:
            raise RuleViolation("M5: notice was given less than 48 hours before the meeting; it cannot be opened",
                                field="meeting_id", rule="M5")
    needed = quorum_required(n)
    if len(present_members) < needed:
        raise RuleViolation(
            f"M8: quorum not reached: {len(present_members)} of {n} group members present, "
            f"at least {needed} (two thirds) needed", field="present", rule="M8")


def split_attendance(group, present, leave):
    """Classify each group member as present, on leave or absent; refuse non-members.

    ``present`` is a list of person ids; ``leave`` maps person id -> opinions.
    Observers never count towards the quorum (M7/M8): only group members are accepted.
    """
    present = list(dict.fromkeys(present))
    for pid in present:
        if pid not in group:
            raise RuleViolation(f"M8: {pid} is not a group member in office on the meeting day; "
                                "observers never count towards the quorum", field="present", rule="M8")
    for pid in leave:
        if pid not in group:
            raise RuleViolation(f"M9: {pid} is not a group member in office on the meeting day",
                                field="leave", rule="M9")
        if pid in present:
            raise ValidationFailed(f"leave: {pid} is also listed as present", field="leave", rule="M9")
    statuses = {}
    for pid in group:
        statuses[pid] = "present" if pid in present else ("leave" if pid in leave else "absent")
    return statuses
