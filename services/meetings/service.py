"""Meetings service: thin nameko entrypoints over ``domain``.

Each command: validate (marshmallow) -> check the actor -> domain rules ->
write state and its events in one transaction (outbox).
"""
import datetime as dt
import uuid
from pathlib import Path
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from services.meetings import domain, models, schemas
from shared.actor import Actor
from shared.clock import iso, utcnow
from shared.errors import NotFound, RuleViolation, ValidationFailed
from shared.nameko_ext import Database, HealthMixin, rpc
from shared.validation import load


def _new_id():
    return str(uuid.uuid4())


def _local_day(when, timezone):
    """The calendar day of an instant in the organization's time zone."""
    return when.astimezone(ZoneInfo(timezone)).date()


class MeetingsService(HealthMixin):
    name = "meetings"
    db = Database(models, Path(__file__).parent / "migrations")

    # ------------------------------------------------------------ roster (SPEC §2)

    @rpc
    def create_organization(self, actor, data):
        actor = Actor.from_dict(actor)
        actor.require("admin", action="creating an organization")
        data = load(schemas.OrganizationIn(), data)
        try:
            ZoneInfo(data["timezone"])
        except Exception:
            raise ValidationFailed("timezone: unknown time zone", field="timezone") from None
        with self.db.uow() as uow:
            org_id = data["org_id"] or _new_id()
            if uow.session.get(models.Organization, org_id):
                raise ValidationFailed("org_id: already exists", field="org_id")
            org = models.Organization(id=org_id, name=data["name"], timezone=data["timezone"], created_at=utcnow())
            uow.session.add(org)
        return _org(org)

    @rpc
    def get_organization(self, actor, org_id):
        actor = Actor.from_dict(actor)
        with self.db.read() as s:
            org = s.get(models.Organization, org_id)
            if org is None:
                raise NotFound("org_id: no such organization", field="org_id")
            actor.require_org(org.id, cross_org_read=True)
            return _org(org)

    @rpc
    def register_person(self, actor, data):
        actor = Actor.from_dict(actor)
        actor.require("admin", action="registering a person")
        data = load(schemas.PersonIn(), data)
        with self.db.uow() as uow:
            pid = data["person_id"] or _new_id()
            if uow.session.get(models.Person, pid):
                raise ValidationFailed("person_id: already exists", field="person_id")
            person = models.Person(id=pid, name=data["name"], created_at=utcnow())
            uow.session.add(person)
        return {"person_id": person.id, "name": person.name}

    @rpc
    def appoint(self, actor, data):
        """Record a role held in an organization (never deleted; ended by an end date)."""
        actor = Actor.from_dict(actor)
        actor.require("admin", action="appointing")
        data = load(schemas.AppointmentIn(), data)
        with self.db.uow() as uow:
            s = uow.session
            if s.get(models.Organization, data["org_id"]) is None:
                raise NotFound("org_id: no such organization", field="org_id")
            if s.get(models.Person, data["person_id"]) is None:
                raise NotFound("person_id: no such person", field="person_id")
            domain.check_appointment(data["role"], data["start_date"], data["end_date"],
                                     _terms(s, data["org_id"]))
            row = models.Appointment(id=_new_id(), created_at=utcnow(), **data)
            s.add(row)
            if data["role"] in domain.GROUP_ROLES:
                uow.emit("membership_changed", data["org_id"], {
                    "person_id": data["person_id"], "role": data["role"],
                    "start_date": data["start_date"], "end_date": data["end_date"],
                    "division_of_work": data["division_of_work"],
                })
        return _appointment(row)

    @rpc
    def roles_of(self, actor, person_id, org_id, on=None):
        """Roles a person holds in an organization on a day (the gateway's log-in)."""
        actor = Actor.from_dict(actor)
        actor.require_org(org_id, cross_org_read=True)
        with self.db.read() as s:
            org = s.get(models.Organization, org_id)
            if org is None:
                raise NotFound("org_id: no such organization", field="org_id")
            day = dt.date.fromisoformat(on) if on else _local_day(utcnow(), org.timezone)
            roles = sorted({t.role for t in _terms(s, org_id) if t.person_id == person_id and t.in_office(day)})
        return {"person_id": person_id, "org_id": org_id, "roles": roles}

    @rpc
    def list_members(self, actor, org_id, on=None):
        """Group members in office on a day, with names (N = their count)."""
        actor = Actor.from_dict(actor)
        actor.require_org(org_id, cross_org_read=True)
        with self.db.read() as s:
            org = s.get(models.Organization, org_id)
            if org is None:
                raise NotFound("org_id: no such organization", field="org_id")
            try:
                day = dt.date.fromisoformat(on) if on else _local_day(utcnow(), org.timezone)
            except (TypeError, ValueError):
                raise ValidationFailed("on: must be a date (YYYY-MM-DD)", field="on") from None
            group = domain.group_members_on(_terms(s, org_id), day)
            names = dict(s.execute(sa.select(models.Person.id, models.Person.name)
                                   .where(models.Person.id.in_(list(group)))).all())
        members = [{"person_id": pid, "name": names.get(pid), "role": role} for pid, role in group.items()]
        members.sort(key=lambda m: (domain.GROUP_ROLES.index(m["role"]), m["name"] or ""))
        return {"org_id": org_id, "on": day.isoformat(), "n": len(members),
                "quorum": domain.quorum_required(len(members)), "members": members}

    # ------------------------------------------------------------ meetings (M1, M4, M5, M8)

    @rpc
    def schedule_meeting(self, actor, data):
        actor = Actor.from_dict(actor)
        data = load(schemas.MeetingIn(), data)
        actor.require_org(data["org_id"])
        now = utcnow()
        with self.db.uow() as uow:
            s = uow.session
            org = s.get(models.Organization, data["org_id"])
            if org is None:
                raise NotFound("org_id: no such organization", field="org_id")
            domain.check_schedule(data["kind"], data["scheduled_at"], now)
            group = domain.group_members_on(_terms(s, org.id), _local_day(data["scheduled_at"], org.timezone))
            chair, delegated_by = domain.chair_for(actor.person_id, actor.roles, data["delegate_to"], group)
            meeting = models.Meeting(
                id=_new_id(), org_id=org.id, kind=data["kind"], title=data["title"],
                scheduled_at=data["scheduled_at"], status="draft", chair_person_id=chair,
                delegated_by=delegated_by, created_by=actor.person_id, created_at=now)
            s.add(meeting)
            uow.emit("meeting_scheduled", org.id, {
                "meeting_id": meeting.id, "kind": meeting.kind, "title": meeting.title,
                "scheduled_at": meeting.scheduled_at, "chair_person_id": chair, "delegated_by": delegated_by,
            })
        return self._meeting_view(meeting.id)

    @rpc
    def add_topic(self, actor, meeting_id, data):
        actor = Actor.from_dict(actor)
        data = load(schemas.TopicIn(), data)
        with self.db.uow() as uow:
            s = uow.session
            meeting = _meeting_for(s, actor, meeting_id)
            actor.require("secretary", "deputy_secretary", rule="M3", action="putting a topic on the agenda")
            domain.check_add_topic(meeting.status, meeting.kind, data["category"])
            position = s.execute(sa.select(sa.func.count()).select_from(models.Topic)
                                 .where(models.Topic.meeting_id == meeting.id)).scalar_one() + 1
            topic = models.Topic(id=_new_id(), meeting_id=meeting.id, org_id=meeting.org_id, title=data["title"],
                                 category=data["category"], position=position, proposed_by=actor.person_id,
                                 created_at=utcnow())
            s.add(topic)
            uow.emit("topic_accepted", meeting.org_id, {
                "meeting_id": meeting.id, "topic_id": topic.id, "title": topic.title,
                "category": topic.category, "accepted_by": actor.person_id,
                "raised_at_meeting": meeting.status == "opened",
            })
        return _topic(topic)

    @rpc
    def notice_meeting(self, actor, meeting_id):
        """M5: send agenda, date and materials to every attendee (≥ 48 h ahead for regular meetings)."""
        actor = Actor.from_dict(actor)
        now = utcnow()
        with self.db.uow() as uow:
            s = uow.session
            meeting = _meeting_for(s, actor, meeting_id)
            actor.require("secretary", "deputy_secretary", "office", rule="M5", action="issuing notice")
            topics = _topics(s, meeting.id)
            domain.check_notice(meeting.kind, meeting.status, meeting.scheduled_at, now, len(topics))
            org = s.get(models.Organization, meeting.org_id)
            group = domain.group_members_on(_terms(s, org.id), _local_day(meeting.scheduled_at, org.timezone))
            meeting.status = "noticed"
            meeting.noticed_at = now
            uow.emit("meeting_noticed", meeting.org_id, {
                "meeting_id": meeting.id, "kind": meeting.kind, "title": meeting.title,
                "scheduled_at": meeting.scheduled_at, "noticed_at": now,
                "objection_deadline": meeting.scheduled_at - domain.OBJECTION_LEAD,
                "chair_person_id": meeting.chair_person_id,
                "agenda": [{"topic_id": t.id, "title": t.title, "category": t.category} for t in topics],
                "recipients": sorted(group),
            })
        return self._meeting_view(meeting_id)

    @rpc
    def open_meeting(self, actor, meeting_id, data):
        """M8: open only with two thirds of the group members present; M9 leave opinions recorded."""
        actor = Actor.from_dict(actor)
        data = load(schemas.OpenIn(), data)
        now = utcnow()
        with self.db.uow() as uow:
            s = uow.session
            meeting = _meeting_for(s, actor, meeting_id)
            _require_chair(actor, meeting, "opening the meeting")
            org = s.get(models.Organization, meeting.org_id)
            group = domain.group_members_on(_terms(s, org.id), _local_day(meeting.scheduled_at, org.timezone))
            leave = {item["person_id"]: item["opinions"] for item in data["leave"]}
            statuses = domain.split_attendance(group, data["present"], leave)
            present = [pid for pid, st in statuses.items() if st == "present"]
            domain.check_open(meeting.kind, meeting.status, meeting.scheduled_at, meeting.noticed_at,
                              len(group), present)
            for pid, status in statuses.items():
                s.add(models.Attendance(meeting_id=meeting.id, person_id=pid, status=status,
                                        written_opinions=leave.get(pid), recorded_at=now))
            meeting.status = "opened"
            meeting.opened_at = now
            meeting.group_size = len(group)
            uow.emit("meeting_opened", meeting.org_id, {
                "meeting_id": meeting.id, "opened_at": now, "n": len(group), "present": len(present),
                "quorum": domain.quorum_required(len(group)),
            })
        return self._meeting_view(meeting_id)

    @rpc
    def get_meeting(self, actor, meeting_id):
        actor = Actor.from_dict(actor)
        with self.db.read() as s:
            _meeting_for(s, actor, meeting_id, cross_org_read=True)
        return self._meeting_view(meeting_id)

    @rpc
    def attendance_snapshot(self, actor, meeting_id, topic_id):
        """What voting copies into a ballot when it opens (V1, V3): N, who is present, on leave."""
        actor = Actor.from_dict(actor)
        with self.db.read() as s:
            meeting = _meeting_for(s, actor, meeting_id)
            topic = s.get(models.Topic, topic_id) if isinstance(topic_id, str) else None
            if topic is None or topic.meeting_id != meeting.id:
                raise RuleViolation("M4: only a topic on this meeting's agenda may be voted",
                                    field="topic_id", rule="M4")
            if meeting.status != "opened":
                raise RuleViolation("M8: ballots open only in an opened meeting", field="meeting_id", rule="M8")
            rows = s.execute(sa.select(models.Attendance).where(models.Attendance.meeting_id == meeting.id)).scalars()
            org = s.get(models.Organization, meeting.org_id)
            group = domain.group_members_on(_terms(s, org.id), _local_day(meeting.scheduled_at, org.timezone))
            members = [{
                "person_id": row.person_id, "role": group.get(row.person_id, "member"), "presence": row.status,
                "written_opinion": (row.written_opinions or {}).get(topic.id),
            } for row in rows]
            members.sort(key=lambda m: m["person_id"])
            return {
                "org_id": meeting.org_id, "meeting_id": meeting.id, "meeting_kind": meeting.kind,
                "emergency": meeting.kind == "emergency", "chair_person_id": meeting.chair_person_id,
                "topic": {"topic_id": topic.id, "title": topic.title, "category": topic.category},
                "n": meeting.group_size, "present": sum(1 for m in members if m["presence"] == "present"),
                "members": members,
            }

    def _meeting_view(self, meeting_id):
        with self.db.read() as s:
            meeting = s.get(models.Meeting, meeting_id)
            org = s.get(models.Organization, meeting.org_id)
            attendance = s.execute(sa.select(models.Attendance)
                                   .where(models.Attendance.meeting_id == meeting_id)).scalars().all()
            tz = ZoneInfo(org.timezone)
            return {
                "meeting_id": meeting.id, "org_id": meeting.org_id, "kind": meeting.kind, "title": meeting.title,
                "status": meeting.status, "scheduled_at": iso(meeting.scheduled_at),
                "scheduled_at_local": meeting.scheduled_at.astimezone(tz).isoformat(), "timezone": org.timezone,
                "chair_person_id": meeting.chair_person_id, "delegated_by": meeting.delegated_by,
                "noticed_at": iso(meeting.noticed_at), "opened_at": iso(meeting.opened_at),
                "n": meeting.group_size,
                "quorum": domain.quorum_required(meeting.group_size) if meeting.group_size is not None else None,
                "topics": [_topic(t) for t in _topics(s, meeting_id)],
                "attendance": [{"person_id": a.person_id, "status": a.status,
                                "written_opinions": a.written_opinions} for a in attendance],
            }


# ---------------------------------------------------------------- helpers (queries)

def _terms(s, org_id):
    rows = s.execute(sa.select(models.Appointment).where(models.Appointment.org_id == org_id)).scalars()
    return [domain.Term(r.person_id, r.role, r.start_date, r.end_date) for r in rows]


def _topics(s, meeting_id):
    return s.execute(sa.select(models.Topic).where(models.Topic.meeting_id == meeting_id)
                     .order_by(models.Topic.position)).scalars().all()


def _meeting_for(s, actor, meeting_id, cross_org_read=False):
    meeting = s.get(models.Meeting, meeting_id) if isinstance(meeting_id, str) else None
    if meeting is None:
        raise NotFound("meeting_id: no such meeting", field="meeting_id")
    try:
        actor.require_org(meeting.org_id, cross_org_read=cross_org_read)
    except Exception:
        # another organization's meeting is not revealed to exist
        raise NotFound("meeting_id: no such meeting", field="meeting_id") from None
    return meeting


def _require_chair(actor, meeting, action):
    if actor.person_id != meeting.chair_person_id and "system" not in actor.roles:
        raise RuleViolation(f"M1: {action} is for the meeting's chair", field="actor", rule="M1")


def _org(org):
    return {"org_id": org.id, "name": org.name, "timezone": org.timezone}


def _appointment(a):
    return {"appointment_id": a.id, "org_id": a.org_id, "person_id": a.person_id, "role": a.role,
            "start_date": a.start_date.isoformat(), "end_date": a.end_date.isoformat() if a.end_date else None,
            "division_of_work": a.division_of_work}


def _topic(t):
    return {"topic_id": t.id, "meeting_id": t.meeting_id, "title": t.title, "category": t.category,
            "position": t.position}
