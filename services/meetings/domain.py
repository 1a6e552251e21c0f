"""Meeting rules in plain Python (no nameko, no HTTP, no database).

Each check raises a typed error naming its rule (docs/rules.md); the service layer calls
them before it writes anything, so a refused action changes nothing.
"""
import datetime as dt
from dataclasses import dataclass

from shared.clock import as_utc
from shared.errors import Conflict, Forbidden, RuleViolation, ValidationFailed
# §二, M8: the group roles and the quorum, the same in every service
from shared.group_rules import GROUP_ROLES, STAFF_ROLES, quorum_required  # noqa: F401  (rules of this module)
MEETING_KINDS = ("regular", "emergency", "expanded", "democratic_life")
# every kind but an emergency meeting needs notice 48 h ahead (M5, M6)
NOTICED_KINDS = ("regular", "expanded", "democratic_life")
# §一(二)1–7, plus reports (e.g. a provisional handling report, M6) and statements (§二(三))
TOPIC_CATEGORIES = ("work_plan", "organization", "major_decision", "personnel", "ideology",
                    "party_building", "clean_governance", "other", "report", "statement")
NOTICE_LEAD = dt.timedelta(hours=48)      # M5
OBJECTION_LEAD = dt.timedelta(hours=24)   # M5
# M5: a noticed meeting is held at its noticed time; the chair may open it this much earlier at most
# (setting MEETING_OPEN_TOLERANCE_MINUTES)
OPEN_TOLERANCE = dt.timedelta(minutes=30)


@dataclass(frozen=True)
class Term:
    """One appointment: a role held from start to end date, both inclusive."""
    person_id: str
    role: str
    start_date: dt.date
    end_date: dt.date | None

    def in_office(self, day):
        return self.start_date <= day and (self.end_date is None or day <= self.end_date)


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


def staff_on(terms, day):
    """§2: the staff in office on ``day`` (office, HR, confidential secretary, …) ->
    [(person_id, role)], one line per role held; they never count towards N."""
    return sorted({(term.person_id, term.role) for term in terms
                   if term.role in STAFF_ROLES and term.in_office(day)},
                  key=lambda line: (STAFF_ROLES.index(line[1]), line[0]))


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


END_REASONS = ("term_expired", "removal", "transfer", "resignation", "retirement", "death", "other")


def check_end_term(term, end_date, reason, already_ended):
    """§二, M1, M8: a term ends on a day (inclusive) for a reason; it is kept for life, never deleted,
    so N on any past day stays what it was."""
    if reason not in END_REASONS:
        raise ValidationFailed(f"reason: must be one of {', '.join(END_REASONS)}", field="reason")
    if already_ended:
        raise Conflict(f"§2: the term already ended on {term.end_date.isoformat()}", field="appointment_id",
                       rule="M1")
    if end_date < term.start_date:
        raise ValidationFailed("end_date: must not be before the term's start_date", field="end_date")
    if term.end_date is not None and end_date > term.end_date:
        raise RuleViolation(f"§2: the term runs until {term.end_date.isoformat()}; ending it later extends it "
                            "(make a new appointment instead)", field="end_date", rule="M1")


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
    """M5: a noticed meeting lies in the future."""
    if kind not in MEETING_KINDS:
        raise ValidationFailed(f"kind: must be one of {', '.join(MEETING_KINDS)}", field="kind")
    if as_utc(scheduled_at) <= as_utc(now) and kind != "emergency":
        raise RuleViolation("M5: a regular meeting must be scheduled in the future", field="scheduled_at", rule="M5")


def check_emergency_reason(kind, emergency_reason):
    """M6: an emergency meeting records why it cannot wait for a 48 h notice."""
    if kind == "emergency" and not (emergency_reason or "").strip():
        raise ValidationFailed("emergency_reason: M6: an emergency meeting skips the 48 h notice only for a "
                               "recorded reason", field="emergency_reason", rule="M6")
    if kind != "emergency" and emergency_reason is not None:
        raise ValidationFailed("emergency_reason: only an emergency meeting has one", field="emergency_reason",
                               rule="M6")


# M4/M6: matters never decided without a 48 h notice, so never on an emergency meeting
NOTICE_ONLY_CATEGORIES = ("personnel", "major_decision")


def check_democratic_life_schedule(kind, theme, delegated_by):
    """M11: on a theme set from above; the secretary chairs it (no delegation)."""
    if kind != "democratic_life":
        return
    if not (theme or "").strip():
        raise ValidationFailed("theme: M11: a democratic life meeting has a theme", field="theme", rule="M11")
    if delegated_by is not None:
        raise RuleViolation("M11: the secretary chairs the democratic life meeting; it is not delegated",
                            field="delegate_to", rule="M11")


def check_add_topic(meeting_status, meeting_kind, category):
    """M4: only the notified agenda is discussed.

    Topics are added while the meeting is a draft.  At an opened emergency
    meeting a topic may be raised, but never a personnel or major matter.
    """
    if category not in TOPIC_CATEGORIES:
        raise ValidationFailed(f"category: must be one of {', '.join(TOPIC_CATEGORIES)}", field="category")
    if meeting_kind == "emergency" and category in NOTICE_ONLY_CATEGORIES:
        # the emergency route is no loophole: whatever its status, an emergency meeting has no 48 h notice
        raise RuleViolation("M4/M6: personnel and major matters are decided only at a meeting noticed "
                            "48 hours ahead, never at an emergency meeting", field="category", rule="M4")
    if meeting_status == "draft":
        return
    if meeting_kind == "emergency" and meeting_status == "opened":
        return
    raise RuleViolation("M4: the agenda is frozen once notice is given; no ad-hoc motions",
                        field="meeting_id", rule="M4")


def check_notice(kind, status, scheduled_at, now, topic_count, topics=(), unreported_handlings=()):
    """M5: agenda, date and materials reach every attendee 48 h before (not for emergencies).

    M3: every agenda topic is ready (pre-coordination, major-decision preparation);
    M6: every unreported provisional handling is on the agenda.
    """
    if status != "draft":
        raise Conflict(f"M5: the meeting is already {status}", field="meeting_id", rule="M5")
    if topic_count == 0:
        raise RuleViolation("M4: a meeting needs at least one topic on its agenda before notice",
                            field="topics", rule="M4")
    for topic in topics:
        check_prepared_for_notice(topic)
    check_reports_on_agenda(unreported_handlings)
    if kind in NOTICED_KINDS and as_utc(scheduled_at) - as_utc(now) < NOTICE_LEAD:
        raise RuleViolation("M5: notice must be issued at least 48 hours before the meeting",
                            field="scheduled_at", rule="M5")


def check_open(kind, status, scheduled_at, noticed_at, n, present_members, *, now, tolerance=OPEN_TOLERANCE):
    """M5 (late notice blocks a regular meeting; a noticed meeting is held at its noticed time,
    at most ``tolerance`` earlier) and M8 (two-thirds quorum)."""
    if status == "opened":
        raise Conflict("the meeting is already open", field="meeting_id", rule="M8")
    if status not in ("draft", "noticed"):
        raise Conflict(f"a {status} meeting cannot be opened", field="meeting_id", rule="M8")
    if kind in NOTICED_KINDS:
        if status != "noticed" or noticed_at is None:
            raise RuleViolation("M5: a regular meeting cannot be opened without notice",
                                field="meeting_id", rule="M5")
        if as_utc(scheduled_at) - as_utc(noticed_at) < NOTICE_LEAD:
            raise RuleViolation("M5: notice was given less than 48 hours before the meeting; it cannot be opened",
                                field="meeting_id", rule="M5")
        earliest = as_utc(scheduled_at) - tolerance
        if as_utc(now) < earliest:
            # members who come at the noticed time would be recorded absent, and the 24 h
            # objection window would be gone: the meeting is held when it was noticed for
            raise RuleViolation(f"M5: the meeting was noticed for {as_utc(scheduled_at).isoformat()}; it opens "
                                f"from {earliest.isoformat()} at the earliest (move it earlier only with "
                                "a new notice)", field="meeting_id", rule="M5")
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


# ====================================================================== M3 topics

TOPIC_STATUSES = ("suggested", "accepted", "rejected")
GROUP_ROLE_SET = frozenset(GROUP_ROLES)
PREPARERS = ("office", "hr")


def needs_precoordination(category, broad):
    """M3: a broad/major topic records the leader in charge's pre-coordination."""
    return bool(broad) or category == "major_decision"


def prepared_by_for(category, prepared_by=None):
    """M3: the office prepares material; personnel topics are prepared by HR."""
    default = "hr" if category == "personnel" else "office"
    if prepared_by is None:
        return default
    if prepared_by not in PREPARERS:
        raise ValidationFailed(f"prepared_by: must be one of {', '.join(PREPARERS)}", field="prepared_by")
    if category == "personnel" and prepared_by != "hr":
        raise RuleViolation("M3: a personnel topic is prepared by HR", field="prepared_by", rule="M3")
    return prepared_by


def split_candidates(category, candidates):
    """V4: a personnel topic carries one agenda item per candidate -> [candidate or None]."""
    candidates = list(dict.fromkeys(candidates or []))
    if not candidates:
        return [None]
    if category != "personnel":
        raise ValidationFailed("candidate_person_ids: only a personnel topic names candidates",
                               field="candidate_person_ids", rule="V4")
    return candidates


def check_suggest(actor_roles, meeting_status=None):
    """M3: any group member may suggest a topic (to the secretary)."""
    if not GROUP_ROLE_SET & set(actor_roles):
        raise Forbidden("M3: only a group member may suggest a topic", field="actor.roles", rule="M3")
    if meeting_status is not None and meeting_status != "draft":
        raise RuleViolation("M4: the agenda is frozen once notice is given; suggest the topic for a later meeting",
                            field="meeting_id", rule="M4")


def check_decide_topic(actor_roles, topic_status, accept, reason, actor_person_id=None, meeting=None):
    """M3: the secretary (or the deputy chairing ``meeting``, the one the topic is for, by delegation)
    accepts or rejects a suggested topic; a rejection gives its reason."""
    check_agenda_authority(actor_person_id, actor_roles, meeting)
    if topic_status != "suggested":
        raise Conflict(f"M3: the topic was already {topic_status}", field="topic_id", rule="M3")
    if not accept and not (reason or "").strip():
        raise ValidationFailed("reason: M3: a rejected topic needs the reason", field="reason", rule="M3")


def check_agenda_authority(actor_person_id, actor_roles, meeting=None):
    """M3 (with M1): the secretary accepts topics and puts them on an agenda; so does the deputy
    secretary who chairs *that* meeting by the secretary's recorded delegation.  Everyone else
    (members, and deputies otherwise) suggests.

    ``meeting`` is any object with ``chair_person_id`` and ``delegated_by`` (None: the topic pool).
    """
    if "secretary" in actor_roles:
        return
    if (meeting is not None and "deputy_secretary" in actor_roles and meeting.delegated_by is not None
            and meeting.chair_person_id == actor_person_id):
        return
    raise Forbidden("M3: the secretary decides the agenda (or the deputy secretary chairing this meeting by "
                    "delegation); suggest the topic instead", field="actor.roles", rule="M3")


def check_deferrable(topic_meeting_status):
    """V5: a topic stays on its meeting's agenda unless that meeting closed or was cancelled
    without deciding it; it is then deferred to a later meeting (voting decides whether it may
    be voted again)."""
    if topic_meeting_status in ("draft", "noticed", "opened"):
        raise Conflict("M3: the topic is on another meeting's agenda", field="topic_id", rule="M3")


def check_schedulable(topic):
    """M3: before a topic goes on a meeting's agenda: accepted, and pre-coordinated when broad/major.

    ``topic`` is any object with ``status``, ``category``, ``broad``, ``precoordination``.
    """
    if topic.status != "accepted":
        raise RuleViolation(f"M3: only an accepted topic may be scheduled (this one is {topic.status})",
                            field="topic_id", rule="M3")
    if needs_precoordination(topic.category, topic.broad) and not topic.precoordination:
        raise RuleViolation("M3: a broad or major topic needs the pre-coordination record of the leader "
                            "in charge before it is scheduled", field="precoordination", rule="M3")


def check_prepared_for_notice(topic):
    """M3 (§三(二), §二(五)): a major-decision topic goes out only with its preparation record."""
    check_schedulable(topic)
    if topic.category == "major_decision":
        prep = topic.preparation
        if not prep:
            raise RuleViolation(f"M3: the major-decision topic {topic.title!r} has no preparation record "
                                "(research, opinions, risk assessment, legal review)",
                                field="preparation", rule="M3")
        if topic.subordinate_org and not (prep.get("subordinate_opinion") or "").strip():
            raise RuleViolation(f"M3: the topic {topic.title!r} touches {topic.subordinate_org}; its opinion "
                                "must be recorded", field="preparation.subordinate_opinion", rule="M3")


def check_material_preparer(actor_roles, topic_category):
    """M3: the office prepares material; for personnel topics HR does."""
    needed = "hr" if topic_category == "personnel" else "office"
    if needed not in actor_roles:
        who = "HR" if needed == "hr" else "the office"
        raise Forbidden(f"M3: material for a {topic_category} topic is prepared by {who}",
                        field="actor.roles", rule="M3")


MAX_MATERIAL_BYTES = 10 * 1024 * 1024
MATERIAL_TYPES = {
    "application/pdf": (b"%PDF",),
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": (b"PK\x03\x04",),
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": (b"PK\x03\x04",),
    "text/plain": None,
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/jpeg": (b"\xff\xd8\xff",),
}


def check_material(filename, content_type, raw):
    """M5: materials go out with the notice: a known type, at most 10 MiB -> sha256 hex."""
    import hashlib

    if "/" in filename or "\\" in filename or filename in (".", ".."):
        raise ValidationFailed("filename: must be a plain file name", field="filename")
    if content_type not in MATERIAL_TYPES:
        raise ValidationFailed("content_type: must be one of pdf, docx, xlsx, txt, png, jpeg",
                               field="content_type")
    if len(raw) == 0:
        raise ValidationFailed("content_base64: the file is empty", field="content_base64")
    if len(raw) > MAX_MATERIAL_BYTES:
        raise ValidationFailed("content_base64: a material is at most 10 MiB", field="content_base64")
    magic = MATERIAL_TYPES[content_type]
    if magic is None:
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError:
            raise ValidationFailed("content_base64: a text/plain material must be UTF-8",
                                   field="content_base64") from None
    elif not any(raw.startswith(m) for m in magic):
        raise ValidationFailed(f"content_base64: the content is not {content_type}", field="content_base64")
    return hashlib.sha256(raw).hexdigest()


def check_material_window(meeting_kind, meeting_status):
    """M5: materials reach attendees with the notice; after it the set is frozen."""
    if meeting_status not in (None, "draft") and meeting_kind != "emergency":
        raise RuleViolation("M5: materials go out with the notice; the meeting was already noticed",
                            field="topic_id", rule="M5")


# ====================================================================== M5 objections, M9 leave

def check_objection(is_group_member, meeting_status, scheduled_at, now):
    """M5: a member's objection reaches the chair at least 24 hours before the meeting."""
    if not is_group_member:
        raise Forbidden("M5: only a group member may raise an objection", field="actor", rule="M5")
    if meeting_status not in ("draft", "noticed"):
        raise RuleViolation(f"M5: the meeting is {meeting_status}; objections are raised before it",
                            field="meeting_id", rule="M5")
    if as_utc(scheduled_at) - as_utc(now) < OBJECTION_LEAD:
        raise RuleViolation("M5: an objection must reach the chair at least 24 hours before the meeting; "
                            f"the deadline was {(as_utc(scheduled_at) - OBJECTION_LEAD).isoformat()}",
                            field="meeting_id", rule="M5")


def check_leave_request(is_group_member, meeting_status, opinions, agenda_ids, existing_status):
    """M9: a member who cannot attend asks leave in advance, with an opinion per topic."""
    if not is_group_member:
        raise Forbidden("M9: only a group member in office on the meeting day asks leave",
                        field="actor", rule="M9")
    if meeting_status not in ("draft", "noticed"):
        raise RuleViolation("M9: leave is asked in advance, before the meeting opens",
                            field="meeting_id", rule="M9")
    if existing_status in ("requested", "approved"):
        raise Conflict(f"M9: a leave request for this meeting is already {existing_status}",
                       field="meeting_id", rule="M9")
    for topic_id in opinions:
        if topic_id not in agenda_ids:
            raise ValidationFailed(f"opinions: {topic_id} is not on this meeting's agenda",
                                   field="opinions", rule="M9")


OBJECTION_DISPOSITIONS = ("accepted", "not_accepted")     # M5: the chair's answer


def check_objection_disposition(actor_person_id, chair_person_id, disposed, meeting_status):
    """M5 §三(四): an objection is raised with the meeting's chair, who answers it once, with a
    reply, before the meeting is over."""
    if actor_person_id != chair_person_id:
        raise Forbidden("M5: an objection is answered by the meeting's chair", field="actor", rule="M5")
    if disposed:
        raise Conflict("M5: the objection was already answered", field="objection_id", rule="M5")
    if meeting_status not in ("draft", "noticed", "opened"):
        raise RuleViolation("M5: the meeting is over; its objections can no longer be answered",
                            field="objection_id", rule="M5")


def check_leave_decision(actor_person_id, chair_person_id, leave_status, meeting_status):
    """M9: the chair approves or refuses leave, before the meeting opens."""
    if actor_person_id != chair_person_id:
        raise Forbidden("M9: leave is approved or refused by the meeting's chair", field="actor", rule="M9")
    if leave_status != "requested":
        raise Conflict(f"M9: the leave request was already {leave_status}", field="leave_id", rule="M9")
    if meeting_status not in ("draft", "noticed"):
        raise RuleViolation("M9: the meeting is already under way or over", field="leave_id", rule="M9")


def merge_leave(explicit_leave, approved_leave, present):
    """M9: approved leave requests join the chair's ``leave`` list; a member who came after all is present.

    The opinions of an approved leave request are never erased (data loss): an entry of the
    chair's list for the same member only adds opinions on topics the request left out; the
    approved opinion on a topic always wins.
    """
    merged = {pid: dict(ops) for pid, ops in explicit_leave.items()}
    for pid, ops in approved_leave.items():
        if pid in present:
            continue
        merged[pid] = {**merged.get(pid, {}), **(ops or {})}
    return merged


# ====================================================================== M6 provisional handling

HANDLING_STATUSES = ("awaiting_approval", "approved")


def check_provisional(actor_roles):
    """M6: a group member records a matter handled provisionally; it awaits the secretary's approval."""
    if not GROUP_ROLE_SET & set(actor_roles):
        raise Forbidden("M6: only a group member handles a matter provisionally", field="actor", rule="M6")


def check_approve_provisional(actor_person_id, secretary_id, status):
    """M6: the secretary in office approves a provisional handling, as an action of their own
    (nobody types an approver's id); only then is it reported at the next meeting."""
    if secretary_id is None or actor_person_id != secretary_id:
        raise Forbidden("M6: a provisional handling is approved by the secretary in office",
                        field="actor", rule="M6")
    if status != "awaiting_approval":
        raise Conflict(f"M6: the provisional handling is already {status}", field="handling_id", rule="M6")


def check_reports_on_agenda(unreported_handling_titles):
    """M6: every unreported provisional handling is reported at the next meeting."""
    if unreported_handling_titles:
        raise RuleViolation("M6: the provisional handling report(s) "
                            f"{', '.join(repr(t) for t in unreported_handling_titles)} must be on the agenda",
                            field="topics", rule="M6")


# ====================================================================== M7 observers, M8 attendance

def check_observer(meeting_kind, meeting_status, is_group_member, holds_org_role):
    """M7: observers are invited per meeting; an expanded meeting widens the list beyond the bureau's staff."""
    if meeting_status != "draft":
        raise RuleViolation("M7: observers are invited before notice, so the notice reaches them",
                            field="meeting_id", rule="M7")
    if is_group_member:
        raise RuleViolation("M7: a group member attends as a member, not as an observer",
                            field="person_id", rule="M7")
    if not holds_org_role and meeting_kind != "expanded":
        raise RuleViolation("M7: only bureau staff are invited to a regular meeting; "
                            "others only to an expanded meeting", field="person_id", rule="M7")


def check_outside_observer(meeting_kind, meeting_status):
    """M7 (§三(五)): someone from outside the bureau, not registered, is named only for an expanded
    meeting (扩大会议), before notice."""
    if meeting_kind != "expanded":
        raise RuleViolation("M7: only an expanded meeting widens attendance beyond the bureau's staff; "
                            "invite a registered member of staff instead", field="name", rule="M7")
    if meeting_status != "draft":
        raise RuleViolation("M7: observers are invited before notice, so the notice reaches them",
                            field="meeting_id", rule="M7")


def check_presence_change(meeting_status, action, current, is_group_member):
    """M8: arrivals and departures during the meeting are recorded (group members only)."""
    if meeting_status != "opened":
        raise RuleViolation("M8: arrivals and departures are recorded while the meeting is open",
                            field="meeting_id", rule="M8")
    if not is_group_member:
        raise RuleViolation("M8: only group members count towards the quorum; observers are not recorded",
                            field="person_id", rule="M8")
    if action == "arrival" and current == "present":
        raise Conflict("M8: the member is already present", field="person_id", rule="M8")
    if action == "departure" and current != "present":
        raise Conflict("M8: the member is not present", field="person_id", rule="M8")


def check_votable(meeting_kind, scheduled_at, noticed_at, category):
    """M4/M6: a personnel or major matter is decided only at a meeting noticed 48 hours ahead."""
    if category not in NOTICE_ONLY_CATEGORIES:
        return
    if (meeting_kind == "emergency" or noticed_at is None
            or as_utc(scheduled_at) - as_utc(noticed_at) < NOTICE_LEAD):
        raise RuleViolation("M4/M6: personnel and major matters are decided only at a meeting noticed "
                            "48 hours ahead", field="topic_id", rule="M6")


def check_no_open_ballots(open_ballot_ids):
    """V1/M8: votes are cast inside the session; a meeting with open ballots does not close."""
    if open_ballot_ids:
        count = len(open_ballot_ids)
        raise RuleViolation(f"V1: {count} ballot{'s are' if count != 1 else ' is'} still open; close "
                            f"{'them' if count != 1 else 'it'} before closing the meeting",
                            field="meeting_id", rule="V1")


def quorum_state(n, present):
    needed = quorum_required(n)
    return {"n": n, "present": present, "quorum": needed, "met": present >= needed}


# ====================================================================== lifecycle

MEETING_STATUSES = ("draft", "noticed", "opened", "closed", "minutes_approved", "cancelled")
TRANSITIONS = {
    "notice": ("draft",),
    "open": ("draft", "noticed"),
    "close": ("opened",),
    "cancel": ("draft", "noticed"),
    "reschedule": ("draft", "noticed"),
    "approve_minutes": ("closed",),
}


TRANSITION_RULES = {"notice": "M5", "open": "M8", "close": "M1", "cancel": "M1", "reschedule": "M5",
                    "approve_minutes": "M10"}


def check_transition(action, status):
    """Statuses: draft -> noticed -> opened -> closed -> minutes_approved; draft/noticed -> cancelled."""
    if status not in TRANSITIONS[action]:
        verb = {"notice": "noticed", "open": "opened", "close": "closed", "cancel": "cancelled",
                "reschedule": "rescheduled", "approve_minutes": "given approved minutes"}[action]
        rule = TRANSITION_RULES[action]
        raise Conflict(f"{rule}: a {status} meeting cannot be {verb}", field="meeting_id", rule=rule)


def reschedule(kind, status, new_at, now):
    """A rescheduled regular meeting needs a new notice ≥ 48 h before its new time (M5)."""
    check_transition("reschedule", status)
    check_schedule(kind, new_at, now)
    needs_new_notice = status == "noticed" and kind != "emergency"
    return ("draft" if needs_new_notice else status), needs_new_notice


# ====================================================================== M10 minutes and documents

DOCUMENT_KINDS = ("summary", "document")


def check_record_minutes(actor_roles, meeting_status, minutes_approved):
    if "confidential_secretary" not in actor_roles:
        raise Forbidden("M10: minutes are recorded by the confidential secretary", field="actor.roles", rule="M10")
    if minutes_approved or meeting_status == "minutes_approved":
        raise Conflict("M10: the minutes were approved and are final", field="meeting_id", rule="M10")
    if meeting_status not in ("opened", "closed"):
        raise RuleViolation(f"M10: minutes are recorded for a meeting held (this one is {meeting_status})",
                            field="meeting_id", rule="M10")


def check_approve_minutes(actor_person_id, chair_person_id, meeting_status, has_minutes):
    if actor_person_id != chair_person_id:
        raise Forbidden("M10: the meeting's chair approves the minutes", field="actor", rule="M10")
    if not has_minutes:
        raise RuleViolation("M10: no minutes have been recorded", field="meeting_id", rule="M10")
    check_transition("approve_minutes", meeting_status)


def check_issue_document(actor_roles, meeting_status):
    if "office" not in actor_roles:
        raise Forbidden("M10: a summary or document is issued by the office", field="actor.roles", rule="M10")
    if meeting_status not in ("closed", "minutes_approved"):
        raise RuleViolation("M10: a summary or document is issued after the meeting closes",
                            field="meeting_id", rule="M10")


def check_sign_off(actor_roles, document_status):
    """M10: whatever is issued in the group's name is signed off by the secretary first."""
    if "secretary" not in actor_roles:
        raise Forbidden("M10: only the secretary signs off what is issued in the group's name",
                        field="actor.roles", rule="M10")
    if document_status != "awaiting_sign_off":
        raise Conflict(f"M10: the document is already {document_status}", field="document_id", rule="M10")


def document_number(year, seq):
    """M10: an issue number as offices write it: 〔2027〕3号."""
    return f"〔{year}〕{seq}号"


def check_document_year(value):
    """M10: the year of a list of issue numbers (a four-digit year)."""
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 1900 <= value <= 9999:
        raise ValidationFailed("M10: year: must be a year (YYYY)", field="year", rule="M10")
    return value


def may_read_document(actor_person_id, actor_roles, status, scope):
    """M10: a decision or summary reaches only its approved scope."""
    if set(actor_roles) & {"secretary", "office", "confidential_secretary", "system"}:
        return True
    return status == "issued" and actor_person_id in scope


# ====================================================================== M2, M11 compliance

HELD_STATUSES = ("opened", "closed", "minutes_approved")


def parse_month(month):
    try:
        year, mon = (int(x) for x in str(month).split("-"))
        return dt.date(year, mon, 1)
    except (TypeError, ValueError):
        raise ValidationFailed("month: must be YYYY-MM", field="month") from None


def next_month(first):
    return dt.date(first.year + (first.month == 12), first.month % 12 + 1, 1)


def previous_month(day):
    first = day.replace(day=1)
    return (first - dt.timedelta(days=1)).replace(day=1)


def compliance_findings(month_first, today, held_months, dl_years):
    """M2: a calendar month without a party group meeting; M11: a year without a democratic life meeting.

    ``held_months`` is the set of first days of months with a meeting held (local time),
    ``dl_years`` the years with a democratic life meeting held.  A month still running
    gives a "due" finding (about to be broken); a month that ended gives a "breach".
    """
    findings = []
    if month_first > today:
        return findings
    ended = next_month(month_first) <= today
    if month_first not in held_months:
        findings.append({"rule": "M2", "period": month_first.strftime("%Y-%m"),
                         "severity": "breach" if ended else "due",
                         "message": f"M2: no party group meeting was held in {month_first:%Y-%m}"
                                    if ended else f"M2: no party group meeting held yet in {month_first:%Y-%m}",
                         "message_zh": f"M2：{month_first.year} 年 {month_first.month} 月未召开党组会议"
                                       if ended else f"M2：{month_first.year} 年 {month_first.month} 月尚未召开党组会议"})
    if month_first.month == 12 and month_first.year not in dl_years:
        findings.append({"rule": "M11", "period": str(month_first.year),
                         "severity": "breach" if ended else "due",
                         "message": f"M11: no democratic life meeting was held in {month_first.year}"
                                    if ended else f"M11: the {month_first.year} democratic life meeting is due",
                         "message_zh": f"M11：{month_first.year} 年未召开民主生活会"
                                       if ended else f"M11：{month_first.year} 年度民主生活会尚待召开"})
    return findings


# ====================================================================== M11 democratic life meeting

DL_STEPS = ("opinions_solicited", "reported_before", "outline", "speech", "criticism", "summary",
            "summary_reported", "rectification", "evaluation")
DL_BEFORE = ("opinions_solicited", "reported_before", "outline")
DL_DURING = ("speech", "criticism", "summary")
DL_AFTER = ("summary_reported", "rectification", "evaluation")
DL_REPORT_TO = frozenset({"org_department", "discipline_commission"})


def check_dl_step(step, meeting_kind, meeting_status, actor_person_id, actor_roles, secretary_id,
                  steps, person_id=None, data=None):
    """M11 (§四): each step of a democratic life meeting, in its order.

    ``steps`` is a list of (step, person_id, data) already recorded.
    """
    data = data or {}
    if meeting_kind != "democratic_life":
        raise RuleViolation("M11: only a democratic life meeting has these steps", field="meeting_id", rule="M11")
    if step not in DL_STEPS:
        raise ValidationFailed(f"step: must be one of {', '.join(DL_STEPS)}", field="step")
    if meeting_status == "cancelled":
        raise RuleViolation("M11: the meeting was cancelled", field="meeting_id", rule="M11")
    done = [s for s, _, _ in steps]
    if step in DL_BEFORE and meeting_status not in ("draft", "noticed"):
        raise RuleViolation(f"M11: {step} is done before the meeting opens", field="step", rule="M11")
    if step in DL_DURING and meeting_status != "opened":
        raise RuleViolation(f"M11: {step} happens at the meeting", field="step", rule="M11")
    if step in DL_AFTER and meeting_status not in ("closed", "minutes_approved"):
        raise RuleViolation(f"M11: {step} follows the meeting", field="step", rule="M11")
    if step == "reported_before":
        to = set(data.get("reported_to") or [])
        if not DL_REPORT_TO <= to:
            raise ValidationFailed("data.reported_to: M11: report to the org_department and the "
                                   "discipline_commission", field="data.reported_to", rule="M11")
    if step == "outline":
        if actor_person_id != person_id:
            raise Forbidden("M11: each member files their own speaking outline", field="actor", rule="M11")
        if any(s == "outline" and p == person_id for s, p, _ in steps):
            raise Conflict("M11: the speaking outline was already filed", field="person_id", rule="M11")
    if step == "speech":
        if "speech" not in done and person_id != secretary_id:
            raise RuleViolation("M11: the secretary speaks first", field="person_id", rule="M11")
    if step == "summary" and actor_person_id != secretary_id:
        raise Forbidden("M11: the secretary summarizes the meeting", field="actor", rule="M11")
    if step == "summary_reported":
        if "summary" not in done:
            raise RuleViolation("M11: there is no summary to report yet", field="step", rule="M11")
        if not DL_REPORT_TO <= set(data.get("reported_to") or []):
            raise ValidationFailed("data.reported_to: M11: the summary is reported to the org_department "
                                   "and the discipline_commission", field="data.reported_to", rule="M11")
    if step == "evaluation" and "rectification" not in done:
        raise RuleViolation("M11: the public evaluation follows the published rectification measures",
                            field="step", rule="M11")


def check_dl_open(steps, members_expected, secretary_id, chair_person_id, theme):
    """M11: before a democratic life meeting opens: opinions solicited, reported up, every outline filed."""
    if not theme:
        raise RuleViolation("M11: a democratic life meeting has a theme", field="theme", rule="M11")
    if chair_person_id != secretary_id:
        raise RuleViolation("M11: the secretary chairs the democratic life meeting", field="chair", rule="M11")
    done = {s for s, _, _ in steps}
    for needed in ("opinions_solicited", "reported_before"):
        if needed not in done:
            raise RuleViolation(f"M11: {needed.replace('_', ' ')} is required before the meeting opens",
                                field="step", rule="M11")
    filed = {p for s, p, _ in steps if s == "outline"}
    missing = sorted(set(members_expected) - filed)
    if missing:
        raise RuleViolation(f"M11: speaking outlines missing for {', '.join(missing)}", field="step", rule="M11")


# ====================================================================== the Meeting aggregate (issue 16)

class Meeting:
    """One meeting's life as one object: every rule of a step is checked before anything of the
    state changes, and each method returns the domain events of the change (a refused call raises
    and leaves the meeting as it was).  Invariants held whatever the order of calls:

    I1  an opened meeting was opened at its noticed time (M5: noticed ≥ 48 h ahead, opened no
        earlier than ``tolerance`` before it) or is an emergency meeting with a recorded reason and
        no personnel or major item (M4, M6), with the quorum present (M8);
    I5  the opinions of approved leave are in the attendance of a member not present (M9);
    I6  N is the number of group members whose term covers the meeting day (M8, §二).
    """

    def __init__(self, kind, scheduled_at, now, emergency_reason=None, chair_person_id=None, delegated_by=None):
        check_schedule(kind, scheduled_at, now)
        check_emergency_reason(kind, emergency_reason)
        self.kind, self.scheduled_at = kind, as_utc(scheduled_at)
        self.emergency_reason = emergency_reason.strip() if kind == "emergency" else None
        self.chair_person_id, self.delegated_by = chair_person_id, delegated_by
        self.status, self.noticed_at, self.opened_at = "draft", None, None
        self.topics = []              # [(topic_id, category)], the agenda in order
        self.attendance = {}          # person_id -> (status, opinions or None)
        self.n = None                 # N at opening
        self.approved_leave = {}      # person_id -> opinions (M9)

    def add_topic(self, topic_id, category):
        check_add_topic(self.status, self.kind, category)
        self.topics.append((topic_id, category))
        return [{"type": "topic_accepted", "topic_id": topic_id, "category": category,
                 "raised_at_meeting": self.status == "opened"}]

    def approve_leave(self, person_id, opinions, is_group_member):
        check_leave_request(is_group_member, self.status, opinions, {t for t, _ in self.topics}, None)
        self.approved_leave[person_id] = dict(opinions)
        return [{"type": "leave_decided", "person_id": person_id, "approved": True}]

    def notice(self, now):
        class _Ready:      # the agenda's topics as check_notice reads them (accepted, prepared)
            def __init__(self, category):
                self.status, self.category, self.broad = "accepted", category, False
                self.precoordination = self.preparation = {"recorded": True}
                self.subordinate_org, self.title = None, category
        check_notice(self.kind, self.status, self.scheduled_at, now, len(self.topics),
                     topics=[_Ready(c) for _, c in self.topics])
        self.status, self.noticed_at = "noticed", as_utc(now)
        return [{"type": "meeting_noticed", "noticed_at": self.noticed_at}]

    def reschedule(self, new_at, now):
        status, needs_new_notice = reschedule(self.kind, self.status, new_at, now)
        self.scheduled_at, self.status = as_utc(new_at), status
        if needs_new_notice:
            self.noticed_at = None
        return [{"type": "meeting_rescheduled", "scheduled_at": self.scheduled_at,
                 "needs_new_notice": needs_new_notice}]

    def open(self, group, present, explicit_leave, now, tolerance=OPEN_TOLERANCE):
        """``group`` = group_members_on(terms, meeting day) -> events; N = len(group) (I6)."""
        leave = merge_leave(explicit_leave, self.approved_leave, set(present))
        statuses = split_attendance(group, present, leave)
        here = [pid for pid, st in statuses.items() if st == "present"]
        check_open(self.kind, self.status, self.scheduled_at, self.noticed_at, len(group), here,
                   now=now, tolerance=tolerance)
        self.attendance = {pid: (st, leave.get(pid)) for pid, st in statuses.items()}
        self.status, self.opened_at, self.n = "opened", as_utc(now), len(group)
        return [{"type": "meeting_opened", "n": self.n, "present": len(here), "kind": self.kind,
                 "emergency_reason": self.emergency_reason}]

    def close(self, open_ballot_ids):
        check_transition("close", self.status)
        check_no_open_ballots(open_ballot_ids)
        self.status = "closed"
        return [{"type": "meeting_closed"}]

    def cancel(self):
        check_transition("cancel", self.status)
        self.status = "cancelled"
        return [{"type": "meeting_cancelled"}]
