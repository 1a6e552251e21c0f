"""The meetings service's storage: the queries over a session (SQLAlchemy), and the views
(plain dicts) the commands and queries answer with.

Every function takes the session of the caller's transaction (``uow.session`` or a read
session); none commits, none emits an event.  The rules stay in ``domain``; the commands
that combine both are in ``application``.
"""
import uuid
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from services.meetings import domain, models
from shared.clock import iso
from shared.errors import NotFound, RuleViolation


def new_id():
    return str(uuid.uuid4())


def local_day(when, timezone):
    """The calendar day of an instant in the organization's time zone."""
    return when.astimezone(ZoneInfo(timezone)).date()


# The meeting view's statements, made once: building a select costs more than running it.
_MEETINGS, _ORGS = models.Meeting.__table__, models.Organization.__table__
_VIEW_MEETING = (sa.select(_MEETINGS, _ORGS.c.timezone)
                 .join(_ORGS, _ORGS.c.id == _MEETINGS.c.org_id)
                 .where(_MEETINGS.c.id == sa.bindparam("meeting_id")))
_TOPICS = models.Topic.__table__
_VIEW_TOPICS = (sa.select(_TOPICS)       # the agenda: accepted topics on the meeting, in order (M4)
                .where(_TOPICS.c.meeting_id == sa.bindparam("meeting_id"), _TOPICS.c.status == "accepted")
                .order_by(_TOPICS.c.position))
_ATTENDANCE = models.Attendance.__table__
_VIEW_ATTENDANCE = sa.select(_ATTENDANCE).where(_ATTENDANCE.c.meeting_id == sa.bindparam("meeting_id"))
_OBSERVERS = models.Observer.__table__
_PERSONS = models.Person.__table__
_VIEW_OBSERVERS = (sa.select(_OBSERVERS, _PERSONS.c.name)       # M7: by name (outside attendees too)
                   .join(_PERSONS, _PERSONS.c.id == _OBSERVERS.c.person_id)
                   .where(_OBSERVERS.c.meeting_id == sa.bindparam("meeting_id"))
                   .order_by(_OBSERVERS.c.invited_at))


# ---------------------------------------------------------------- helpers (queries)

def terms(s, org_id):
    rows = s.execute(sa.select(models.Appointment).where(models.Appointment.org_id == org_id)).scalars()
    return [domain.Term(r.person_id, r.role, r.start_date, r.end_date) for r in rows]


def group_of(s, meeting, at=None):
    """The group members in office on the meeting day (organization's calendar) -> {person_id: role}.

    The meeting day is the day it opened (``at`` when it opens now); before that, the day it is set
    for.  I6/M8: an emergency meeting set for 00:30 and opened at 23:40 the evening before counts
    a member whose term ends that evening, who is in office when the meeting is held."""
    org = s.get(models.Organization, meeting.org_id)
    when = at or meeting.opened_at or meeting.scheduled_at
    return domain.group_members_on(terms(s, org.id), local_day(when, org.timezone))


def topics(s, meeting_id):
    """The agenda: accepted topics on the meeting, in order (M4)."""
    return s.execute(sa.select(models.Topic).where(models.Topic.meeting_id == meeting_id,
                                                   models.Topic.status == "accepted")
                     .order_by(models.Topic.position)).scalars().all()


def place(s, topic, meeting):
    """Put an accepted topic at the end of a meeting's agenda."""
    topic.position = last_position(s, meeting.id, but=topic.id) + 1
    topic.meeting_id = meeting.id


def last_position(s, meeting_id, but=None):
    """The position of the last accepted topic on a meeting's agenda (0 when it has none),
    ``but`` a topic already on it."""
    if but is None:
        return s.execute(_LAST_POSITION, {"meeting_id": meeting_id}).scalar() or 0
    return s.execute(_LAST_POSITION_BUT, {"meeting_id": meeting_id, "but": but}).scalar() or 0


_LAST_POSITION = sa.select(sa.func.max(models.Topic.position)).where(
    models.Topic.meeting_id == sa.bindparam("meeting_id"), models.Topic.status == "accepted")
_LAST_POSITION_BUT = _LAST_POSITION.where(models.Topic.id != sa.bindparam("but"))


def new_topics(s, org_id, data, person_id, status, now):
    """One topic per candidate of a personnel topic (V4); prepared by the office or HR (M3)."""
    prepared_by = domain.prepared_by_for(data["category"], data["prepared_by"])
    candidates = domain.split_candidates(data["category"], data["candidate_person_ids"])
    for candidate in candidates:
        if candidate is not None and s.get(models.Person, candidate) is None:
            raise NotFound(f"candidate_person_ids: no such person {candidate}", field="candidate_person_ids")
    precoordination = data["precoordination"]
    if precoordination is not None:
        org = s.get(models.Organization, org_id)
        if precoordination["leader_person_id"] not in domain.group_members_on(
                terms(s, org_id), local_day(now, org.timezone)):
            raise RuleViolation("M3: pre-coordination is done by a group member in office (the leader in charge)",
                                field="precoordination.leader_person_id", rule="M3")
        precoordination = dict(precoordination, recorded_by=person_id, recorded_at=iso(now))
    preparation = dict(data["preparation"], recorded_by=person_id, recorded_at=iso(now)) \
        if data["preparation"] is not None else None
    created = []
    for candidate in candidates:
        topic = models.Topic(id=new_id(), meeting_id=None, org_id=org_id, title=data["title"],
                             category=data["category"], position=0, proposed_by=person_id, created_at=now,
                             status=status, description=data["description"], broad=data["broad"],
                             prepared_by=prepared_by, candidate_person_id=candidate,
                             subordinate_org=data["subordinate_org"], precoordination=precoordination,
                             preparation=preparation)
        s.add(topic)
        created.append(topic)
    return created


def topic_for(s, actor, topic_id, cross_org_read=False):
    topic = s.get(models.Topic, topic_id) if isinstance(topic_id, str) else None
    if topic is None or not may_see(actor, topic.org_id, cross_org_read):
        raise NotFound("topic_id: no such topic", field="topic_id")
    return topic


def attach_pending_reports(s, meeting):
    """M6: provisional handlings not yet reported go on the next meeting's agenda."""
    rows = s.execute(sa.select(models.ProvisionalHandling).where(
        models.ProvisionalHandling.org_id == meeting.org_id, models.ProvisionalHandling.status == "approved",
        models.ProvisionalHandling.reported_meeting_id.is_(None))).scalars().all()
    for handling in rows:
        topic = s.get(models.Topic, handling.topic_id)
        current = s.get(models.Meeting, topic.meeting_id) if topic.meeting_id else None
        if current is None or current.status == "cancelled" or (
                current.status == "draft" and current.scheduled_at > meeting.scheduled_at):
            place(s, topic, meeting)


def unreported_elsewhere(s, meeting, now):
    """M6: titles of provisional handlings that this meeting must hear but whose report is not on its agenda."""
    titles = []
    rows = s.execute(sa.select(models.ProvisionalHandling).where(
        models.ProvisionalHandling.org_id == meeting.org_id, models.ProvisionalHandling.status == "approved",
        models.ProvisionalHandling.reported_meeting_id.is_(None),
        models.ProvisionalHandling.recorded_at <= now)).scalars().all()
    for handling in rows:
        topic = s.get(models.Topic, handling.topic_id)
        if topic.meeting_id == meeting.id:
            continue
        other = s.get(models.Meeting, topic.meeting_id) if topic.meeting_id else None
        if other is not None and other.status in ("draft", "noticed") and other.scheduled_at < meeting.scheduled_at:
            continue        # an earlier meeting hears it
        titles.append(handling.title)
    return titles


def observer_ids(s, meeting_id):
    return set(s.execute(sa.select(models.Observer.person_id)
                         .where(models.Observer.meeting_id == meeting_id)).scalars())


def leave_opinions(s, meeting_id):
    """M9: leave opinions attached to the minutes."""
    rows = s.execute(sa.select(models.Attendance).where(models.Attendance.meeting_id == meeting_id,
                                                        models.Attendance.written_opinions.is_not(None))).scalars()
    return [{"person_id": r.person_id, "opinions": r.written_opinions} for r in rows
            if r.written_opinions is not None]


def held(s, org):
    """Months (first day, local) with a meeting held, and years with a democratic life meeting held."""
    rows = s.execute(sa.select(models.Meeting.kind, models.Meeting.opened_at).where(
        models.Meeting.org_id == org.id, models.Meeting.status.in_(domain.HELD_STATUSES),
        models.Meeting.opened_at.is_not(None))).all()
    months, dl_years = set(), set()
    for kind, opened_at in rows:
        day = local_day(opened_at, org.timezone)
        months.add(day.replace(day=1))
        if kind == "democratic_life":
            dl_years.add(day.year)
    return months, dl_years


def dl_steps(s, meeting_id):
    rows = s.execute(sa.select(models.DemocraticLifeStep).where(models.DemocraticLifeStep.meeting_id == meeting_id)
                     .order_by(models.DemocraticLifeStep.recorded_at, models.DemocraticLifeStep.id)).scalars()
    return [(r.step, r.person_id, r.data or {}) for r in rows]


def history(s, meeting, action, actor, from_status, to_status, at, reason=None, data=None):
    s.add(models.MeetingEvent(meeting_id=meeting.id, action=action, from_status=from_status, to_status=to_status,
                              actor_person_id=actor.person_id, at=at, reason=reason, data=data))


def may_see(actor, org_id, cross_org_read=False):
    try:
        actor.require_org(org_id, cross_org_read=cross_org_read)
        return True
    except Exception:
        return False


def meeting_for(s, actor, meeting_id, cross_org_read=False):
    meeting = s.get(models.Meeting, meeting_id) if isinstance(meeting_id, str) else None
    if meeting is None:
        raise NotFound("meeting_id: no such meeting", field="meeting_id")
    try:
        actor.require_org(meeting.org_id, cross_org_read=cross_org_read)
    except Exception:
        # another organization's meeting is not revealed to exist
        raise NotFound("meeting_id: no such meeting", field="meeting_id") from None
    return meeting


def document_for(s, actor, document_id, lock=False):
    row = s.get(models.Document, document_id, with_for_update=lock) if isinstance(document_id, str) else None
    if row is None or not may_see(actor, row.org_id):
        raise NotFound("document_id: no such document", field="document_id")
    return row


def next_document_number(s, org_id, year):
    """M10: the organization's next issue number of ``year``, taken in the caller's transaction.

    One upsert on the (org, year) counter row: on PostgreSQL it takes the row's lock until the
    sign-off commits, so a concurrent sign-off waits and then counts on from the committed value;
    on SQLite writers are serialised.  A sign-off that rolls back takes its number back with it:
    the numbers of a year have no gaps and are never given twice."""
    C = models.DocumentCounter
    dialect = s.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    else:
        raise RuntimeError(f"document numbers need PostgreSQL or SQLite, not {dialect}")
    statement = insert(C).values(org_id=org_id, year=year, last=1)
    statement = statement.on_conflict_do_update(index_elements=[C.org_id, C.year], set_={"last": C.last + 1})
    return s.execute(statement.returning(C.last)).scalar_one()


def timezone_of(s, meeting):
    return ZoneInfo(s.get(models.Organization, meeting.org_id).timezone)


def local_instant(value, tz):
    """An instant shown in the organization's time zone (``*_local`` fields)."""
    return value.astimezone(tz).isoformat() if value is not None else None


# ---------------------------------------------------------------- views

def org_view(org):
    return {"org_id": org.id, "name": org.name, "timezone": org.timezone}


def appointment_view(a):
    return {"appointment_id": a.id, "org_id": a.org_id, "person_id": a.person_id, "role": a.role,
            "start_date": a.start_date.isoformat(), "end_date": a.end_date.isoformat() if a.end_date else None,
            "division_of_work": a.division_of_work, "end_reason": a.end_reason}


def topic_view(t, materials=None):
    view = {"topic_id": t.id, "meeting_id": t.meeting_id, "title": t.title, "category": t.category,
            "position": t.position, "status": t.status or "accepted", "description": t.description,
            "broad": bool(t.broad), "prepared_by": t.prepared_by, "candidate_person_id": t.candidate_person_id,
            "subordinate_org": t.subordinate_org, "precoordination": t.precoordination,
            "preparation": t.preparation, "proposed_by": t.proposed_by, "decided_by": t.decided_by,
            "decision_reason": t.decision_reason, "provisional_handling_id": t.provisional_handling_id,
            "mandatory": t.provisional_handling_id is not None}
    if materials is not None:
        view["materials"] = materials
    return view


def materials_of(s, topic_id):
    rows = s.execute(sa.select(models.Material.id, models.Material.filename, models.Material.content_type,
                               models.Material.size, models.Material.sha256)
                     .where(models.Material.topic_id == topic_id).order_by(models.Material.uploaded_at)).all()
    return [{"material_id": r.id, "filename": r.filename, "content_type": r.content_type, "size": r.size,
             "sha256": r.sha256} for r in rows]


def material_view(m, timezone):
    tz = ZoneInfo(timezone)
    return {"material_id": m.id, "topic_id": m.topic_id, "filename": m.filename, "content_type": m.content_type,
            "size": m.size, "sha256": m.sha256, "prepared_as": m.prepared_as, "uploaded_by": m.uploaded_by,
            "uploaded_at": iso(m.uploaded_at), "uploaded_at_local": local_instant(m.uploaded_at, tz)}


def objection_view(o, tz):
    return {"objection_id": o.id, "meeting_id": o.meeting_id, "topic_id": o.topic_id, "person_id": o.person_id,
            "text": o.text, "raised_at": iso(o.raised_at), "raised_at_local": local_instant(o.raised_at, tz),
            "disposition": o.disposition, "reply": o.reply, "disposed_by": o.disposed_by,
            "disposed_at": iso(o.disposed_at), "disposed_at_local": local_instant(o.disposed_at, tz)}


def leave_view(r, tz):
    return {"leave_id": r.id, "meeting_id": r.meeting_id, "person_id": r.person_id, "reason": r.reason,
            "opinions": r.opinions, "status": r.status, "requested_at": iso(r.requested_at),
            "requested_at_local": local_instant(r.requested_at, tz), "decided_by": r.decided_by,
            "decided_at": iso(r.decided_at), "decided_at_local": local_instant(r.decided_at, tz),
            "decision_reason": r.decision_reason}


def handling_view(h, topic, timezone):
    tz = ZoneInfo(timezone)
    return {"handling_id": h.id, "org_id": h.org_id, "title": h.title, "description": h.description,
            "handled_by": h.handled_by, "status": h.status, "approved_by": h.approved_by,
            "approved_at": iso(h.approved_at), "recorded_at": iso(h.recorded_at),
            "recorded_at_local": local_instant(h.recorded_at, tz), "report_topic_id": topic.id if topic else None,
            "report_meeting_id": topic.meeting_id if topic else None}


def minutes_view(m, leave_opinions, tz):
    return {"minutes_id": m.id, "meeting_id": m.meeting_id, "text": m.text, "version": m.version,
            "recorded_by": m.recorded_by, "recorded_at": iso(m.recorded_at),
            "recorded_at_local": local_instant(m.recorded_at, tz), "approved_by": m.approved_by,
            "approved_at": iso(m.approved_at), "approved_at_local": local_instant(m.approved_at, tz),
            "leave_opinions": leave_opinions}


def meeting_summary(m, tz):
    """A meeting as the calendar and the search list it (no agenda, no attendance)."""
    return {"meeting_id": m.id, "kind": m.kind, "title": m.title, "status": m.status,
            "scheduled_at": iso(m.scheduled_at), "scheduled_at_local": m.scheduled_at.astimezone(tz).isoformat(),
            "chair_person_id": m.chair_person_id}


def document_view(d, tz, body=True):
    view = {"document_id": d.id, "meeting_id": d.meeting_id, "org_id": d.org_id, "kind": d.kind, "title": d.title,
            "body": d.body, "scope": d.scope, "status": d.status, "prepared_by": d.created_by,
            "created_at": iso(d.created_at), "signed_off_by": d.signed_off_by,
            "signed_off_at": iso(d.signed_off_at), "signed_off_at_local": local_instant(d.signed_off_at, tz),
            # M10: the issue number, given at sign-off (None while awaiting it)
            "document_number": (domain.document_number(d.number_year, d.number_seq)
                                if d.number_seq is not None else None),
            "number_year": d.number_year, "number_seq": d.number_seq}
    if not body:
        del view["body"]
    return view


def dl_step_view(r, tz):
    return {"step_id": r.id, "meeting_id": r.meeting_id, "step": r.step, "person_id": r.person_id, "text": r.text,
            "data": r.data, "recorded_by": r.recorded_by, "recorded_at": iso(r.recorded_at),
            "recorded_at_local": local_instant(r.recorded_at, tz), "completed_at": iso(r.completed_at),
            "completion": r.completion}


# ---------------------------------------------------------------- the meeting view

def meeting_view(s, meeting_id, visible_to=None):
    """A meeting with its agenda, attendance and observers, read with statements made
    once (plain rows, no ORM objects: the most frequent read of the suite).  With
    ``visible_to``, another organization's meeting is not revealed to exist."""
    row = s.execute(_VIEW_MEETING, {"meeting_id": meeting_id}).first() if isinstance(meeting_id, str) else None
    if row is None:
        raise NotFound("meeting_id: no such meeting", field="meeting_id")
    if visible_to is not None:
        try:
            visible_to.require_org(row.org_id, cross_org_read=True)
        except Exception:
            raise NotFound("meeting_id: no such meeting", field="meeting_id") from None
    key = {"meeting_id": meeting_id}
    topics = s.execute(_VIEW_TOPICS, key).all()
    attendance = s.execute(_VIEW_ATTENDANCE, key).all()
    observers = s.execute(_VIEW_OBSERVERS, key).all()
    tz = ZoneInfo(row.timezone)
    deadline = row.scheduled_at - domain.OBJECTION_LEAD
    return {
        "meeting_id": row.id, "org_id": row.org_id, "kind": row.kind, "title": row.title,
        "theme": row.theme, "emergency_reason": row.emergency_reason,
        "status": row.status, "scheduled_at": iso(row.scheduled_at),
        "scheduled_at_local": row.scheduled_at.astimezone(tz).isoformat(), "timezone": row.timezone,
        "chair_person_id": row.chair_person_id, "delegated_by": row.delegated_by,
        "noticed_at": iso(row.noticed_at), "noticed_at_local": local_instant(row.noticed_at, tz),
        "opened_at": iso(row.opened_at), "opened_at_local": local_instant(row.opened_at, tz),
        "closed_at": iso(row.closed_at), "closed_at_local": local_instant(row.closed_at, tz),
        "cancelled_at": iso(row.cancelled_at), "cancel_reason": row.cancel_reason,
        "objection_deadline": iso(deadline), "objection_deadline_local": local_instant(deadline, tz),
        "n": row.group_size,
        "quorum": domain.quorum_required(row.group_size) if row.group_size is not None else None,
        "topics": [topic_view(t) for t in topics],
        "attendance": [{"person_id": a.person_id, "status": a.status,
                        "written_opinions": a.written_opinions,
                        "arrived_at": iso(a.arrived_at), "departed_at": iso(a.departed_at)}
                       for a in attendance],
        "observers": [{"person_id": o.person_id, "name": o.name, "reason": o.reason, "invited_by": o.invited_by}
                      for o in observers],
    }
