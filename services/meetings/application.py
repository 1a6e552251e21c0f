"""The meetings service's application layer: one handler per command and query.

A handler gets the parsed ``Actor`` and the input already loaded by its schema (the
entrypoints in ``service`` do that), opens the store's unit of work or read, runs the
queries (``repository``) and the rules (``domain``), writes the state and queues its
events in the same transaction (outbox), and answers the view.

``Meetings`` takes the store it works on: in the service, the worker's ``db`` (a command
carrying an idempotency key gets a ``KeyedWork`` there, so that a repeat answers the first
result); in tests, a ``shared.db.Store`` of its own.  Whatever it needs from elsewhere comes
in as a callable: the M5 open tolerance and the voting service's ``open_ballots`` (V1).
"""
import base64
import binascii
import datetime as dt
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from services.meetings import domain, models, repository as repo
from shared import clock
from shared.clock import iso
from shared.errors import Conflict, Forbidden, NotFound, RuleViolation, ServiceUnavailable, ValidationFailed
from shared.paging import SEARCH_LIMIT, contains, search_text


def _voting_unknown(actor, meeting_id):
    """No voting service given: whether ballots are open cannot be known (V1: fail closed)."""
    raise ServiceUnavailable("V1: the voting service cannot tell whether ballots are open; the meeting "
                             "stays open until it can", field="meeting_id", rule="V1")


class Meetings:
    """The meetings service's commands and queries over a store (``uow()``/``read()``).

    ``open_tolerance()`` -> how long before its noticed time a meeting may open (M5);
    ``open_ballots(actor_dict, meeting_id)`` -> the ids of the meeting's open ballots (V1),
    raising ``ServiceUnavailable`` when that cannot be known."""

    def __init__(self, db, open_tolerance=lambda: domain.OPEN_TOLERANCE, open_ballots=_voting_unknown):
        self.db = db
        self.open_tolerance = open_tolerance
        self.open_ballots = open_ballots

    # ------------------------------------------------------------ roster (SPEC §2)

    def create_organization(self, actor, data):
        actor.require("admin", action="creating an organization")
        try:
            ZoneInfo(data["timezone"])
        except Exception:
            raise ValidationFailed("timezone: unknown time zone", field="timezone") from None
        with self.db.uow() as uow:
            org_id = data["org_id"] or repo.new_id()
            if uow.session.get(models.Organization, org_id):
                raise ValidationFailed("org_id: already exists", field="org_id")
            org = models.Organization(id=org_id, name=data["name"], timezone=data["timezone"],
                                      created_at=clock.now())
            uow.session.add(org)
        return repo.org_view(org)

    def get_organization(self, actor, org_id):
        with self.db.read() as s:
            org = s.get(models.Organization, org_id)
            if org is None:
                raise NotFound("org_id: no such organization", field="org_id")
            actor.require_org(org.id, cross_org_read=True)
            return repo.org_view(org)

    def list_organizations(self, actor):
        """Every organization, by name (the administrator's list, §2: admin operates the system)."""
        actor.require("admin", action="listing organizations")
        with self.db.read() as s:
            rows = s.execute(sa.select(models.Organization).order_by(models.Organization.name,
                                                                     models.Organization.id)).scalars()
            return {"items": [repo.org_view(o) for o in rows]}

    def list_persons(self, actor):
        """Every registered person with their name (the administrator picks people from it)."""
        actor.require("admin", action="listing persons")
        with self.db.read() as s:
            rows = s.execute(sa.select(models.Person.id, models.Person.name)
                             .order_by(models.Person.name, models.Person.id)).all()
            return {"items": [{"person_id": pid, "name": name} for pid, name in rows]}

    def register_person(self, actor, data):
        actor.require("admin", action="registering a person")
        with self.db.uow() as uow:
            pid = data["person_id"] or repo.new_id()
            if uow.session.get(models.Person, pid):
                raise ValidationFailed("person_id: already exists", field="person_id")
            person = models.Person(id=pid, name=data["name"], created_at=clock.now())
            uow.session.add(person)
        return {"person_id": person.id, "name": person.name}

    def appoint(self, actor, data):
        """Record a role held in an organization (never deleted; ended by an end date)."""
        actor.require("admin", action="appointing")
        with self.db.uow() as uow:
            s = uow.session
            if s.get(models.Organization, data["org_id"]) is None:
                raise NotFound("org_id: no such organization", field="org_id")
            if s.get(models.Person, data["person_id"]) is None:
                raise NotFound("person_id: no such person", field="person_id")
            domain.check_appointment(data["role"], data["start_date"], data["end_date"],
                                     repo.terms(s, data["org_id"]))
            row = models.Appointment(id=repo.new_id(), created_at=clock.now(), **data)
            s.add(row)
            # §二: a group role's term (N, quorum) or a staff role's (A1: terms kept; C7: who the
            # discipline inspector is, for the alerts' recipients)
            emit_term(uow, data["org_id"], {
                "person_id": data["person_id"], "role": data["role"], "start_date": data["start_date"],
                "end_date": data["end_date"], "division_of_work": data["division_of_work"]})
        return repo.appointment_view(row)

    def end_term(self, actor, appointment_id, data):
        """§二, M1, M8: an appointment ends on a day (inclusive) for a reason (removal, transfer, …).

        The term is kept for life: N on any day stays the members whose term covers it, and a
        successor secretary may be appointed from the next day."""
        actor.require("admin", action="ending a term")
        now = clock.now()
        with self.db.uow() as uow:
            s = uow.session
            row = s.get(models.Appointment, appointment_id) if isinstance(appointment_id, str) else None
            if row is None:     # the suite's admin appoints in every organization (as ``appoint``)
                raise NotFound("appointment_id: no such appointment", field="appointment_id")
            term = domain.Term(row.person_id, row.role, row.start_date, row.end_date)
            domain.check_end_term(term, data["end_date"], data["reason"], row.end_reason is not None)
            row.end_date, row.end_reason, row.ended_by, row.ended_at = \
                data["end_date"], data["reason"], actor.person_id, now
            emit_term(uow, row.org_id, {
                "person_id": row.person_id, "role": row.role, "start_date": row.start_date,
                "end_date": row.end_date, "division_of_work": row.division_of_work, "end_reason": row.end_reason})
        return repo.appointment_view(row)

    def list_appointments(self, actor, org_id, person_id=None):
        """Every term of an organization (ended ones too: terms are never deleted), oldest first."""
        if not actor.has("admin"):
            actor.require_org(org_id, cross_org_read=True)
        with self.db.read() as s:
            q = sa.select(models.Appointment).where(models.Appointment.org_id == org_id)
            if person_id is not None:
                q = q.where(models.Appointment.person_id == person_id)
            rows = s.execute(q.order_by(models.Appointment.start_date, models.Appointment.created_at)).scalars()
            return {"org_id": org_id, "items": [repo.appointment_view(r) for r in rows]}

    def roles_of(self, actor, person_id, org_id, on=None):
        """Roles a person holds in an organization on a day (the gateway's log-in)."""
        actor.require_org(org_id, cross_org_read=True)
        with self.db.read() as s:
            org = s.get(models.Organization, org_id)
            if org is None:
                raise NotFound("org_id: no such organization", field="org_id")
            day = dt.date.fromisoformat(on) if on else repo.local_day(clock.now(), org.timezone)
            roles = sorted({t.role for t in repo.terms(s, org_id) if t.person_id == person_id and t.in_office(day)})
        return {"person_id": person_id, "org_id": org_id, "roles": roles}

    def list_members(self, actor, org_id, on=None):
        """Group members in office on a day, with names (N = their count); the staff in office
        that day, with names, beside them (they never count)."""
        actor.require_org(org_id, cross_org_read=True)
        with self.db.read() as s:
            org = s.get(models.Organization, org_id)
            if org is None:
                raise NotFound("org_id: no such organization", field="org_id")
            try:
                day = dt.date.fromisoformat(on) if on else repo.local_day(clock.now(), org.timezone)
            except (TypeError, ValueError):
                raise ValidationFailed("on: must be a date (YYYY-MM-DD)", field="on") from None
            terms = repo.terms(s, org_id)
            group = domain.group_members_on(terms, day)
            staff = domain.staff_on(terms, day)
            people = set(group) | {pid for pid, _ in staff}
            names = dict(s.execute(sa.select(models.Person.id, models.Person.name)
                                   .where(models.Person.id.in_(list(people)))).all())
        members = [{"person_id": pid, "name": names.get(pid), "role": role} for pid, role in group.items()]
        members.sort(key=lambda m: (domain.GROUP_ROLES.index(m["role"]), m["name"] or ""))
        return {"org_id": org_id, "on": day.isoformat(), "n": len(members),
                "quorum": domain.quorum_required(len(members)), "members": members,
                "staff": [{"person_id": pid, "name": names.get(pid), "role": role} for pid, role in staff]}

    # ------------------------------------------------------------ meetings (M1, M4, M5, M8)

    def schedule_meeting(self, actor, data):
        actor.require_org(data["org_id"])
        now = clock.now()
        with self.db.uow() as uow:
            s = uow.session
            org = s.get(models.Organization, data["org_id"])
            if org is None:
                raise NotFound("org_id: no such organization", field="org_id")
            domain.check_schedule(data["kind"], data["scheduled_at"], now)
            domain.check_emergency_reason(data["kind"], data["emergency_reason"])
            group = domain.group_members_on(repo.terms(s, org.id), repo.local_day(data["scheduled_at"], org.timezone))
            chair, delegated_by = domain.chair_for(actor.person_id, actor.roles, data["delegate_to"], group)
            domain.check_democratic_life_schedule(data["kind"], data["theme"], delegated_by)
            meeting = models.Meeting(
                id=repo.new_id(), org_id=org.id, kind=data["kind"], title=data["title"],
                scheduled_at=data["scheduled_at"], status="draft", chair_person_id=chair,
                delegated_by=delegated_by, created_by=actor.person_id, created_at=now,
                theme=data["theme"] if data["kind"] == "democratic_life" else None,
                emergency_reason=data["emergency_reason"].strip() if data["kind"] == "emergency" else None)
            s.add(meeting)
            s.flush()
            repo.history(s, meeting, "scheduled", actor, None, "draft", at=now,
                     data={"scheduled_at": iso(meeting.scheduled_at), "delegated_by": delegated_by})
            if meeting.kind != "democratic_life":
                repo.attach_pending_reports(s, meeting)   # M6: the next meeting hears provisional handlings
            uow.emit("meeting_scheduled", org.id, {
                "meeting_id": meeting.id, "kind": meeting.kind, "title": meeting.title,
                "scheduled_at": meeting.scheduled_at, "chair_person_id": chair, "delegated_by": delegated_by,
                "theme": meeting.theme,
            })
        return self._meeting_view(meeting.id)

    # ------------------------------------------------------------ topics (M3, M4, V4)

    def add_topic(self, actor, meeting_id, data):
        """The secretary's (or delegated chair's) own topic, straight onto a draft agenda (M3, M4)."""
        if not isinstance(meeting_id, str):
            raise NotFound("meeting_id: no such meeting", field="meeting_id")
        return self._propose(actor, meeting_id, data)

    def propose_topic(self, actor, meeting_id, data):
        """M3: the secretary proposes a topic: accepted at once; on a meeting's agenda when ``meeting_id`` is given."""
        return self._propose(actor, meeting_id, data)

    def _propose(self, actor, meeting_id, data):
        now = clock.now()
        with self.db.uow() as uow:
            s = uow.session
            meeting = repo.meeting_for(s, actor, meeting_id) if meeting_id is not None else None
            org_id = meeting.org_id if meeting else actor.org_id
            domain.check_agenda_authority(actor.person_id, actor.roles, meeting)
            if meeting is not None:
                domain.check_add_topic(meeting.status, meeting.kind, data["category"])
            elif org_id is None or s.get(models.Organization, org_id) is None:
                raise NotFound("org_id: no such organization", field="org_id")
            # the agenda's end, read before the new topics exist: each is then written once
            last = repo.last_position(s, meeting.id) if meeting is not None else 0
            created = repo.new_topics(s, org_id, data, actor.person_id, "accepted", now)
            for k, topic in enumerate(created, 1):
                topic.decided_by, topic.decided_at = actor.person_id, now
                if meeting is not None:
                    domain.check_schedulable(topic)
                    topic.meeting_id, topic.position = meeting.id, last + k
            s.flush()
            for topic in created:
                uow.emit("topic_accepted", org_id, {
                    "meeting_id": topic.meeting_id, "topic_id": topic.id, "title": topic.title,
                    "category": topic.category, "accepted_by": actor.person_id,
                    "raised_at_meeting": meeting is not None and meeting.status == "opened",
                })
                emit_preparation(uow, topic)
            views = [repo.topic_view(t) for t in created]
        return dict(views[0], topics=views)

    def suggest_topic(self, actor, meeting_id, data):
        """M3: a group member suggests a topic; the secretary accepts or rejects it."""
        now = clock.now()
        with self.db.uow() as uow:
            s = uow.session
            meeting = repo.meeting_for(s, actor, meeting_id) if meeting_id is not None else None
            domain.check_suggest(actor.roles, meeting.status if meeting else None)
            org_id = meeting.org_id if meeting else actor.org_id
            if org_id is None or s.get(models.Organization, org_id) is None:
                raise NotFound("org_id: no such organization", field="org_id")
            created = repo.new_topics(s, org_id, data, actor.person_id, "suggested", now)
            for topic in created:
                topic.meeting_id = meeting.id if meeting else None   # the meeting it is meant for
            s.flush()
            for topic in created:
                uow.emit("topic_submitted", org_id, {
                    "topic_id": topic.id, "meeting_id": topic.meeting_id, "title": topic.title,
                    "category": topic.category, "suggested_by": actor.person_id,
                    "candidate_person_id": topic.candidate_person_id,
                })
                emit_preparation(uow, topic)
            views = [repo.topic_view(t) for t in created]
        return dict(views[0], topics=views)

    def decide_topic(self, actor, topic_id, data):
        """M3: the secretary accepts (optionally onto a draft meeting) or rejects a suggested topic."""
        now = clock.now()
        with self.db.uow() as uow:
            s = uow.session
            topic = repo.topic_for(s, actor, topic_id)
            target_id = data["meeting_id"] or topic.meeting_id
            target = repo.meeting_for(s, actor, target_id) if target_id is not None else None
            domain.check_decide_topic(actor.roles, topic.status, data["accept"], data["reason"],
                                      actor.person_id, target)
            if not data["accept"]:
                topic.status, topic.meeting_id, topic.position = "rejected", None, 0
                topic.decided_by, topic.decided_at, topic.decision_reason = actor.person_id, now, data["reason"]
                uow.emit("topic_rejected", topic.org_id, {
                    "topic_id": topic.id, "title": topic.title, "category": topic.category,
                    "rejected_by": actor.person_id, "reason": data["reason"],
                })
                return repo.topic_view(topic)
            topic.status, topic.meeting_id = "accepted", None
            topic.decided_by, topic.decided_at, topic.decision_reason = actor.person_id, now, data["reason"]
            if target is not None:
                domain.check_add_topic(target.status, target.kind, topic.category)
                domain.check_schedulable(topic)
                repo.place(s, topic, target)
            uow.emit("topic_accepted", topic.org_id, {
                "meeting_id": topic.meeting_id, "topic_id": topic.id, "title": topic.title,
                "category": topic.category, "accepted_by": actor.person_id, "raised_at_meeting": False,
            })
            return repo.topic_view(topic)

    def schedule_topic(self, actor, topic_id, meeting_id):
        """M3/M4: put an accepted topic on a draft meeting's agenda (pre-coordination checked)."""
        with self.db.uow() as uow:
            s = uow.session
            topic = repo.topic_for(s, actor, topic_id)
            meeting = repo.meeting_for(s, actor, meeting_id)
            domain.check_agenda_authority(actor.person_id, actor.roles, meeting)
            if topic.meeting_id == meeting.id and topic.status == "accepted":
                raise Conflict("M3: the topic is already on this agenda", field="topic_id", rule="M3")
            earlier = s.get(models.Meeting, topic.meeting_id) if topic.meeting_id is not None else None
            if earlier is not None and topic.status == "accepted":
                domain.check_deferrable(earlier.status)     # V5: deferred from a closed/cancelled meeting
            domain.check_add_topic(meeting.status, meeting.kind, topic.category)
            domain.check_schedulable(topic)
            repo.place(s, topic, meeting)
            if earlier is not None and topic.status == "accepted":
                repo.history(s, earlier, "topic_deferred", actor, earlier.status, earlier.status, at=clock.now(),
                         data={"topic_id": topic.id, "to_meeting_id": meeting.id})
            return repo.topic_view(topic)

    def record_precoordination(self, actor, topic_id, data):
        """M3: the leader in charge's pre-coordination (who, with whom, outcome)."""
        now = clock.now()
        with self.db.uow() as uow:
            s = uow.session
            topic = repo.topic_for(s, actor, topic_id)
            actor.require(*domain.GROUP_ROLES, "office", rule="M3", action="recording pre-coordination")
            org = s.get(models.Organization, topic.org_id)
            group = domain.group_members_on(repo.terms(s, org.id), repo.local_day(now, org.timezone))
            if data["leader_person_id"] not in group:
                raise RuleViolation("M3: pre-coordination is done by a group member in office (the leader in charge)",
                                    field="leader_person_id", rule="M3")
            require_topic_editable(s, topic)
            topic.precoordination = dict(data, recorded_by=actor.person_id, recorded_at=iso(now))
            emit_preparation(uow, topic, parts=("precoordination",))
            return repo.topic_view(topic)

    def record_preparation(self, actor, topic_id, data):
        """M3 (§三(二), §二(五)): research, opinions solicited, risk assessment, legal review."""
        now = clock.now()
        with self.db.uow() as uow:
            s = uow.session
            topic = repo.topic_for(s, actor, topic_id)
            actor.require("office", "hr", "secretary", "deputy_secretary", rule="M3",
                          action="recording a topic's preparation")
            require_topic_editable(s, topic)
            topic.preparation = dict(data, recorded_by=actor.person_id, recorded_at=iso(now))
            emit_preparation(uow, topic, parts=("preparation",))
            return repo.topic_view(topic)

    def get_topic(self, actor, topic_id):
        with self.db.read() as s:
            topic = repo.topic_for(s, actor, topic_id, cross_org_read=True)
            return repo.topic_view(topic, materials=repo.materials_of(s, topic.id))

    def list_topics(self, actor, org_id, status=None):
        """Topics of an organization (the secretary's pool of suggestions: ``status="suggested"``)."""
        actor.require_org(org_id, cross_org_read=True)
        if status is not None and status not in domain.TOPIC_STATUSES:
            raise ValidationFailed(f"status: must be one of {', '.join(domain.TOPIC_STATUSES)}", field="status")
        with self.db.read() as s:
            q = sa.select(models.Topic).where(models.Topic.org_id == org_id).order_by(models.Topic.created_at)
            if status:
                q = q.where(models.Topic.status == status)
            return {"org_id": org_id, "topics": [repo.topic_view(t) for t in s.execute(q).scalars()]}

    def attach_material(self, actor, topic_id, data):
        """M3/M5: material prepared by the office (HR for personnel topics), stored with its sha256."""
        try:
            raw = base64.b64decode(data["content_base64"], validate=True)
        except (binascii.Error, ValueError):
            raise ValidationFailed("content_base64: not valid base64", field="content_base64") from None
        digest = domain.check_material(data["filename"], data["content_type"], raw)
        with self.db.uow() as uow:
            s = uow.session
            topic = repo.topic_for(s, actor, topic_id)
            domain.check_material_preparer(actor.roles, topic.category)
            meeting = s.get(models.Meeting, topic.meeting_id) if topic.meeting_id else None
            domain.check_material_window(meeting.kind if meeting else None, meeting.status if meeting else None)
            row = models.Material(id=repo.new_id(), topic_id=topic.id, org_id=topic.org_id, filename=data["filename"],
                                  content_type=data["content_type"], size=len(raw), sha256=digest, content=raw,
                                  uploaded_by=actor.person_id, prepared_as=topic.prepared_by,
                                  uploaded_at=clock.now())
            s.add(row)
            # A1: the archive keeps the material's name, size and SHA-256 (the content stays here)
            uow.emit("material_attached", topic.org_id, {
                "material_id": row.id, "topic_id": topic.id, "meeting_id": topic.meeting_id,
                "topic_title": topic.title, "category": topic.category, "filename": row.filename,
                "content_type": row.content_type, "size": row.size, "sha256": row.sha256,
                "prepared_as": row.prepared_as, "uploaded_by": row.uploaded_by, "uploaded_at": row.uploaded_at})
            org = s.get(models.Organization, topic.org_id)
            return repo.material_view(row, org.timezone)

    def get_material(self, actor, material_id):
        with self.db.read() as s:
            row = s.get(models.Material, material_id) if isinstance(material_id, str) else None
            if row is None or not repo.may_see(actor, row.org_id):
                raise NotFound("material_id: no such material", field="material_id")
            org = s.get(models.Organization, row.org_id)
            return dict(repo.material_view(row, org.timezone), content_base64=base64.b64encode(row.content).decode("ascii"))

    # ------------------------------------------------------------ objections (M5), leave (M9)

    def raise_objection(self, actor, meeting_id, data):
        """M5: a member's objection reaches the chair at least 24 h before the meeting."""
        now = clock.now()
        with self.db.uow() as uow:
            s = uow.session
            meeting = repo.meeting_for(s, actor, meeting_id)
            group = repo.group_of(s, meeting)
            domain.check_objection(actor.person_id in group, meeting.status, meeting.scheduled_at, now)
            if data["topic_id"] is not None and data["topic_id"] not in {t.id for t in repo.topics(s, meeting.id)}:
                raise ValidationFailed("topic_id: not on this meeting's agenda", field="topic_id", rule="M5")
            row = models.Objection(id=repo.new_id(), meeting_id=meeting.id, topic_id=data["topic_id"],
                                   person_id=actor.person_id, text=data["text"], raised_at=now)
            s.add(row)
            repo.history(s, meeting, "objection_raised", actor, meeting.status, meeting.status, at=now,
                     data={"objection_id": row.id})
            topic = s.get(models.Topic, row.topic_id) if row.topic_id is not None else None
            person = s.get(models.Person, row.person_id)
            uow.emit("objection_raised", meeting.org_id, {
                "objection_id": row.id, "meeting_id": meeting.id, "topic_id": row.topic_id,
                "person_id": row.person_id, "text": row.text, "raised_at": now,
                "chair_person_id": meeting.chair_person_id,
                # so that the chair's notification can say what it is about (M5, N1)
                "meeting_title": meeting.title, "scheduled_at": meeting.scheduled_at,
                "topic_title": topic.title if topic is not None else None,
                "person_name": person.name if person is not None else None,
                "timezone": s.get(models.Organization, meeting.org_id).timezone,
            })
            return repo.objection_view(row, repo.timezone_of(s, meeting))

    def list_objections(self, actor, meeting_id):
        """M5: a meeting's objections, oldest first, with the chair's answers."""
        with self.db.read() as s:
            meeting = repo.meeting_for(s, actor, meeting_id, cross_org_read=True)
            rows = s.execute(sa.select(models.Objection).where(models.Objection.meeting_id == meeting.id)
                             .order_by(models.Objection.raised_at, models.Objection.id)).scalars()
            tz = repo.timezone_of(s, meeting)
            return {"meeting_id": meeting.id, "objections": [repo.objection_view(o, tz) for o in rows]}

    def dispose_objection(self, actor, objection_id, data):
        """M5: the meeting's chair answers an objection (accepted or not, with a reply), once."""
        now = clock.now()
        with self.db.uow() as uow:
            s = uow.session
            row = s.get(models.Objection, objection_id, with_for_update=True) \
                if isinstance(objection_id, str) else None
            meeting = s.get(models.Meeting, row.meeting_id) if row else None
            if row is None or not repo.may_see(actor, meeting.org_id):
                raise NotFound("objection_id: no such objection", field="objection_id", rule="M5")
            domain.check_objection_disposition(actor.person_id, meeting.chair_person_id,
                                               row.disposition is not None, meeting.status)
            row.disposition, row.reply = data["disposition"], data["reply"]
            row.disposed_by, row.disposed_at = actor.person_id, now
            repo.history(s, meeting, "objection_disposed", actor, meeting.status, meeting.status, at=now,
                         data={"objection_id": row.id, "disposition": row.disposition})
            uow.emit("objection_disposed", meeting.org_id, {
                "objection_id": row.id, "meeting_id": meeting.id, "topic_id": row.topic_id,
                "person_id": row.person_id, "disposition": row.disposition, "reply": row.reply,
                "disposed_by": actor.person_id, "disposed_at": now})
            return repo.objection_view(row, repo.timezone_of(s, meeting))

    def request_leave(self, actor, meeting_id, data):
        """M9: a member who cannot attend asks leave in advance, with an opinion per topic."""
        now = clock.now()
        with self.db.uow() as uow:
            s = uow.session
            meeting = repo.meeting_for(s, actor, meeting_id)
            group = repo.group_of(s, meeting)
            existing = s.execute(sa.select(models.LeaveRequest.status).where(
                models.LeaveRequest.meeting_id == meeting.id, models.LeaveRequest.person_id == actor.person_id,
                models.LeaveRequest.status.in_(("requested", "approved")))).scalar()
            domain.check_leave_request(actor.person_id in group, meeting.status, data["opinions"],
                                       {t.id for t in repo.topics(s, meeting.id)}, existing)
            row = models.LeaveRequest(id=repo.new_id(), meeting_id=meeting.id, person_id=actor.person_id,
                                      reason=data["reason"], opinions=data["opinions"], status="requested",
                                      requested_at=now)
            s.add(row)
            uow.emit("leave_requested", meeting.org_id, {
                "leave_id": row.id, "meeting_id": meeting.id, "person_id": row.person_id, "reason": row.reason,
                "requested_at": now, "chair_person_id": meeting.chair_person_id,
            })
            return repo.leave_view(row, repo.timezone_of(s, meeting))

    def decide_leave(self, actor, leave_id, data):
        """M9: the chair approves or refuses a leave request."""
        now = clock.now()
        with self.db.uow() as uow:
            s = uow.session
            row = s.get(models.LeaveRequest, leave_id) if isinstance(leave_id, str) else None
            meeting = s.get(models.Meeting, row.meeting_id) if row else None
            if row is None or not repo.may_see(actor, meeting.org_id):
                raise NotFound("leave_id: no such leave request", field="leave_id")
            domain.check_leave_decision(actor.person_id, meeting.chair_person_id, row.status, meeting.status)
            row.status = "approved" if data["approve"] else "refused"
            row.decided_by, row.decided_at, row.decision_reason = actor.person_id, now, data["reason"]
            uow.emit("leave_decided", meeting.org_id, {
                "leave_id": row.id, "meeting_id": meeting.id, "person_id": row.person_id,
                "approved": data["approve"], "reason": data["reason"], "decided_by": actor.person_id,
                "decided_at": now,
            })
            return repo.leave_view(row, repo.timezone_of(s, meeting))

    def list_leave(self, actor, meeting_id):
        with self.db.read() as s:
            meeting = repo.meeting_for(s, actor, meeting_id, cross_org_read=True)
            rows = s.execute(sa.select(models.LeaveRequest).where(models.LeaveRequest.meeting_id == meeting.id)
                             .order_by(models.LeaveRequest.requested_at)).scalars()
            tz = repo.timezone_of(s, meeting)
            return {"meeting_id": meeting.id, "leave": [repo.leave_view(r, tz) for r in rows]}

    # ------------------------------------------------------------ provisional handling (M6)

    def record_provisional_handling(self, actor, data):
        """M6: a group member records a matter handled provisionally; it awaits the secretary's
        approval (given by the secretary's own action, ``approve_provisional_handling``).  The
        secretary's own record is approved at once."""
        actor.require_org(data["org_id"])
        now = clock.now()
        with self.db.uow() as uow:
            s = uow.session
            org = s.get(models.Organization, data["org_id"])
            if org is None:
                raise NotFound("org_id: no such organization", field="org_id")
            group = domain.group_members_on(repo.terms(s, org.id), repo.local_day(now, org.timezone))
            if actor.person_id not in group and "system" not in actor.roles:
                raise Forbidden("M6: only a group member in office handles a matter provisionally",
                                field="actor", rule="M6")
            domain.check_provisional(actor.roles)
            row = models.ProvisionalHandling(id=repo.new_id(), org_id=org.id, title=data["title"],
                                             description=data["description"], handled_by=actor.person_id,
                                             approved_by=None, recorded_at=now, status="awaiting_approval")
            s.add(row)
            topic = None
            if group.get(actor.person_id) == "secretary":
                topic = approve_handling(s, uow, row, actor.person_id, now)
            return repo.handling_view(row, topic, org.timezone)

    def approve_provisional_handling(self, actor, handling_id):
        """M6: the secretary in office approves a provisional handling; its report then goes on the
        next meeting's agenda."""
        now = clock.now()
        with self.db.uow() as uow:
            s = uow.session
            row = s.get(models.ProvisionalHandling, handling_id) if isinstance(handling_id, str) else None
            if row is None or not repo.may_see(actor, row.org_id):
                raise NotFound("handling_id: no such provisional handling", field="handling_id")
            org = s.get(models.Organization, row.org_id)
            group = domain.group_members_on(repo.terms(s, org.id), repo.local_day(now, org.timezone))
            secretary = next((pid for pid, role in group.items() if role == "secretary"), None)
            domain.check_approve_provisional(actor.person_id, secretary, row.status)
            topic = approve_handling(s, uow, row, actor.person_id, now)
            return repo.handling_view(row, topic, org.timezone)

    def list_provisional_handlings(self, actor, org_id, status=None):
        """M6: an organization's provisional handlings (the secretary's queue: ``awaiting_approval``)."""
        actor.require_org(org_id, cross_org_read=True)
        if status is not None and status not in domain.HANDLING_STATUSES:
            raise ValidationFailed(f"status: must be one of {', '.join(domain.HANDLING_STATUSES)}", field="status")
        with self.db.read() as s:
            org = s.get(models.Organization, org_id)
            if org is None:
                raise NotFound("org_id: no such organization", field="org_id")
            q = sa.select(models.ProvisionalHandling).where(models.ProvisionalHandling.org_id == org_id)
            if status is not None:
                q = q.where(models.ProvisionalHandling.status == status)
            rows = s.execute(q.order_by(models.ProvisionalHandling.recorded_at)).scalars().all()
            return {"org_id": org_id, "items": [
                repo.handling_view(r, s.get(models.Topic, r.topic_id) if r.topic_id else None, org.timezone) for r in rows]}

    # ------------------------------------------------------------ notice, observers (M5, M7)

    def invite_observer(self, actor, meeting_id, data):
        """M7: the secretary invites an observer (列席) to one meeting; observers never count or vote."""
        now = clock.now()
        with self.db.uow() as uow:
            s = uow.session
            meeting = repo.meeting_for(s, actor, meeting_id)
            actor.require("secretary", rule="M7", action="inviting an observer")
            if data.get("name") is not None:
                # M7: someone from outside the bureau, to an expanded meeting: registered by name here
                domain.check_outside_observer(meeting.kind, meeting.status)
                person = models.Person(id=repo.new_id(), name=data["name"], created_at=now)
                s.add(person)
                s.flush()
                data = dict(data, person_id=person.id)
            if s.get(models.Person, data["person_id"]) is None:
                raise NotFound("person_id: no such person", field="person_id")
            org = s.get(models.Organization, meeting.org_id)
            day = repo.local_day(meeting.scheduled_at, org.timezone)
            terms = repo.terms(s, org.id)
            holds_role = any(t.person_id == data["person_id"] and t.in_office(day) for t in terms)
            group = domain.group_members_on(terms, day)
            domain.check_observer(meeting.kind, meeting.status, data["person_id"] in group, holds_role)
            if s.get(models.Observer, (meeting.id, data["person_id"])) is not None:
                raise Conflict("M7: already invited", field="person_id", rule="M7")
            s.add(models.Observer(meeting_id=meeting.id, person_id=data["person_id"], reason=data["reason"],
                                  invited_by=actor.person_id, invited_at=now))
            repo.history(s, meeting, "observer_invited", actor, meeting.status, meeting.status, at=now,
                     data={"person_id": data["person_id"]})
        return self._meeting_view(meeting_id)

    def notice_meeting(self, actor, meeting_id):
        """M5: send agenda, date and materials to every attendee (≥ 48 h ahead unless an emergency)."""
        now = clock.now()
        with self.db.uow() as uow:
            s = uow.session
            meeting = repo.meeting_for(s, actor, meeting_id)
            actor.require("secretary", "deputy_secretary", "office", rule="M5", action="issuing notice")
            topics = repo.topics(s, meeting.id)
            unreported = [] if meeting.kind == "democratic_life" else repo.unreported_elsewhere(s, meeting, now)
            domain.check_notice(meeting.kind, meeting.status, meeting.scheduled_at, now, len(topics),
                                topics=topics, unreported_handlings=unreported)
            group = repo.group_of(s, meeting)
            observers = sorted(repo.observer_ids(s, meeting.id))
            meeting.status = "noticed"
            meeting.noticed_at = now
            repo.history(s, meeting, "noticed", actor, "draft", "noticed", at=now)
            uow.emit("meeting_noticed", meeting.org_id, {
                "meeting_id": meeting.id, "kind": meeting.kind, "title": meeting.title,
                "scheduled_at": meeting.scheduled_at, "noticed_at": now,
                "objection_deadline": meeting.scheduled_at - domain.OBJECTION_LEAD,
                "chair_person_id": meeting.chair_person_id,
                "agenda": [{"topic_id": t.id, "title": t.title, "category": t.category} for t in topics],
                "recipients": sorted(set(group) | set(observers)),
                "observers": observers,
                "timezone": s.get(models.Organization, meeting.org_id).timezone,   # N1: the bureau's clock
            })
        return self._meeting_view(meeting_id)

    # ------------------------------------------------------------ opening, attendance (M8, M9, M11)

    def open_meeting(self, actor, meeting_id, data):
        """M8: open only with two thirds of the group members present; M9 leave opinions recorded
        (the chair's ``leave`` list plus every approved leave request)."""
        now = clock.now()
        with self.db.uow() as uow:
            s = uow.session
            meeting = repo.meeting_for(s, actor, meeting_id)
            require_chair(actor, meeting, "opening the meeting")
            group = repo.group_of(s, meeting, at=now)
            approved = {r.person_id: r.opinions for r in s.execute(sa.select(models.LeaveRequest).where(
                models.LeaveRequest.meeting_id == meeting.id, models.LeaveRequest.status == "approved")).scalars()}
            explicit = {item["person_id"]: item["opinions"] for item in data["leave"]}
            leave = domain.merge_leave(explicit, approved, set(data["present"]))
            statuses = domain.split_attendance(group, data["present"], leave)
            present = [pid for pid, st in statuses.items() if st == "present"]
            domain.check_open(meeting.kind, meeting.status, meeting.scheduled_at, meeting.noticed_at,
                              len(group), present, now=now, tolerance=self.open_tolerance())
            if meeting.kind == "democratic_life":
                secretary = next((pid for pid, role in group.items() if role == "secretary"), None)
                domain.check_dl_open(repo.dl_steps(s, meeting.id), [p for p in group if p not in leave], secretary,
                                     meeting.chair_person_id, meeting.theme)
            for pid, status in statuses.items():
                s.add(models.Attendance(meeting_id=meeting.id, person_id=pid, status=status,
                                        written_opinions=leave.get(pid), recorded_at=now,
                                        arrived_at=now if status == "present" else None))
            previous = meeting.status
            meeting.status = "opened"
            meeting.opened_at = now
            meeting.group_size = len(group)
            repo.history(s, meeting, "opened", actor, previous, "opened", at=now,
                     data={"n": len(group), "present": len(present)})
            for handling in s.execute(sa.select(models.ProvisionalHandling).where(
                    models.ProvisionalHandling.topic_id.in_([t.id for t in repo.topics(s, meeting.id)]))).scalars():
                handling.reported_meeting_id, handling.reported_at = meeting.id, now   # M6 reported
            uow.emit("meeting_opened", meeting.org_id, {
                "meeting_id": meeting.id, "opened_at": now, "n": len(group), "present": len(present),
                "quorum": domain.quorum_required(len(group)),
                # C7: each emergency meeting is reviewed by the discipline inspector (accountability)
                "kind": meeting.kind, "emergency_reason": meeting.emergency_reason,
                "title": meeting.title, "chair_person_id": meeting.chair_person_id,
            })
        return self._meeting_view(meeting_id)

    def record_arrival(self, actor, meeting_id, person_id):
        """M8: a group member arrives after the meeting opened (timestamped)."""
        return self._presence(actor, meeting_id, person_id, "arrival")

    def record_departure(self, actor, meeting_id, person_id):
        """M8: a group member leaves during the meeting (timestamped); ballots re-check the quorum."""
        return self._presence(actor, meeting_id, person_id, "departure")

    def _presence(self, actor, meeting_id, person_id, action):
        now = clock.now()
        with self.db.uow() as uow:
            s = uow.session
            meeting = repo.meeting_for(s, actor, meeting_id)
            if actor.person_id != meeting.chair_person_id:
                actor.require("confidential_secretary", rule="M8", action="recording arrivals and departures")
            row = s.get(models.Attendance, (meeting.id, person_id)) if isinstance(person_id, str) else None
            domain.check_presence_change(meeting.status, action, row.status if row else None, row is not None)
            if action == "arrival":
                row.status, row.arrived_at, row.departed_at = "present", now, None
            else:
                row.status, row.departed_at = "absent", now
            row.recorded_at = now
            repo.history(s, meeting, action, actor, meeting.status, meeting.status, at=now, data={"person_id": person_id})
        return self.quorum_now(actor, meeting_id)

    def quorum_now(self, actor, meeting_id):
        """M8: the quorum as it stands now -> {meeting_id, n, present, quorum, met}."""
        with self.db.read() as s:
            meeting = repo.meeting_for(s, actor, meeting_id, cross_org_read=True)
            if meeting.group_size is None:
                n = len(repo.group_of(s, meeting))
                present = 0
            else:
                n = meeting.group_size
                present = s.execute(sa.select(sa.func.count()).select_from(models.Attendance).where(
                    models.Attendance.meeting_id == meeting.id, models.Attendance.status == "present")).scalar_one()
            return dict(domain.quorum_state(n, present), meeting_id=meeting.id)

    # ------------------------------------------------------------ lifecycle

    def close_meeting(self, actor, meeting_id):
        """V1/M8: ballots live inside an open meeting; the meeting closes only once none is open."""
        with self.db.read() as s:
            meeting = repo.meeting_for(s, actor, meeting_id)
            require_chair(actor, meeting, "closing the meeting")
            domain.check_transition("close", meeting.status)
        domain.check_no_open_ballots(self.open_ballots(actor.to_dict(), meeting_id))
        now = clock.now()
        with self.db.uow() as uow:
            s = uow.session
            meeting = repo.meeting_for(s, actor, meeting_id)
            require_chair(actor, meeting, "closing the meeting")
            domain.check_transition("close", meeting.status)
            meeting.status, meeting.closed_at = "closed", now
            repo.history(s, meeting, "closed", actor, "opened", "closed", at=now)
            uow.emit("meeting_closed", meeting.org_id, {
                "meeting_id": meeting.id, "closed_at": now, "closed_by": actor.person_id})
        return self._meeting_view(meeting_id)

    def cancel_meeting(self, actor, meeting_id, data):
        now = clock.now()
        with self.db.uow() as uow:
            s = uow.session
            meeting = repo.meeting_for(s, actor, meeting_id)
            require_convener(actor, meeting, "cancelling the meeting")
            domain.check_transition("cancel", meeting.status)
            previous = meeting.status
            meeting.status, meeting.cancelled_at, meeting.cancel_reason = "cancelled", now, data["reason"]
            # M6: a provisional handling report on a cancelled meeting waits for the next one
            for topic in repo.topics(s, meeting.id):
                if topic.provisional_handling_id:
                    topic.meeting_id, topic.position = None, 0
            repo.history(s, meeting, "cancelled", actor, previous, "cancelled", at=now, reason=data["reason"])
            uow.emit("meeting_cancelled", meeting.org_id, {
                "meeting_id": meeting.id, "reason": data["reason"], "cancelled_by": actor.person_id,
                "cancelled_at": now})
        return self._meeting_view(meeting_id)

    def reschedule_meeting(self, actor, meeting_id, data):
        """A noticed regular meeting moved to a new time goes back to draft: it needs a new notice ≥ 48 h (M5)."""
        now = clock.now()
        with self.db.uow() as uow:
            s = uow.session
            meeting = repo.meeting_for(s, actor, meeting_id)
            require_convener(actor, meeting, "rescheduling the meeting")
            previous_status, previous_at = meeting.status, meeting.scheduled_at
            status, needs_new_notice = domain.reschedule(meeting.kind, meeting.status, data["scheduled_at"], now)
            meeting.scheduled_at, meeting.status = data["scheduled_at"], status
            if needs_new_notice:
                meeting.noticed_at = None
            repo.history(s, meeting, "rescheduled", actor, previous_status, status, at=now, reason=data["reason"],
                     data={"from": iso(previous_at), "to": iso(data["scheduled_at"])})
            uow.emit("meeting_rescheduled", meeting.org_id, {
                "meeting_id": meeting.id, "previous_scheduled_at": previous_at,
                "scheduled_at": meeting.scheduled_at, "reason": data["reason"],
                "rescheduled_by": actor.person_id, "needs_new_notice": needs_new_notice})
        return self._meeting_view(meeting_id)

    def meeting_history(self, actor, meeting_id):
        """Every transition of the meeting with its time (UTC and local) and actor."""
        with self.db.read() as s:
            meeting = repo.meeting_for(s, actor, meeting_id, cross_org_read=True)
            tz = repo.timezone_of(s, meeting)
            rows = s.execute(sa.select(models.MeetingEvent).where(models.MeetingEvent.meeting_id == meeting.id)
                             .order_by(models.MeetingEvent.id)).scalars()
            return {"meeting_id": meeting.id, "timezone": tz.key, "events": [{
                "action": r.action, "from_status": r.from_status, "to_status": r.to_status,
                "actor_person_id": r.actor_person_id, "at": iso(r.at), "at_local": repo.local_instant(r.at, tz),
                "reason": r.reason, "data": r.data} for r in rows]}

    # ------------------------------------------------------------ minutes and documents (M10)

    def record_minutes(self, actor, meeting_id, data):
        """M10: the confidential secretary records the minutes (a new version until approved)."""
        now = clock.now()
        with self.db.uow() as uow:
            s = uow.session
            meeting = repo.meeting_for(s, actor, meeting_id)
            row = s.get(models.Minutes, meeting.id)
            domain.check_record_minutes(actor.roles, meeting.status, row is not None and row.approved_at is not None)
            if row is None:
                row = models.Minutes(meeting_id=meeting.id, id=repo.new_id(), text=data["text"], version=1,
                                     recorded_by=actor.person_id, recorded_at=now)
                s.add(row)
            else:
                row.text, row.version, row.recorded_by, row.recorded_at = data["text"], row.version + 1, \
                    actor.person_id, now
            leave = repo.leave_opinions(s, meeting.id)
            repo.history(s, meeting, "minutes_recorded", actor, meeting.status, meeting.status, at=now,
                     data={"version": row.version})
            uow.emit("minutes_recorded", meeting.org_id, {
                "meeting_id": meeting.id, "minutes_id": row.id, "version": row.version, "text": row.text,
                "recorded_by": actor.person_id, "recorded_at": now, "leave_opinions": leave})
            return repo.minutes_view(row, leave, repo.timezone_of(s, meeting))

    def get_minutes(self, actor, meeting_id):
        with self.db.read() as s:
            meeting = repo.meeting_for(s, actor, meeting_id, cross_org_read=True)
            actor.require(*domain.GROUP_ROLES, "confidential_secretary", "office", "discipline", "org_department",
                          "discipline_commission", rule="M10", action="reading minutes")
            row = s.get(models.Minutes, meeting.id)
            if row is None:
                raise NotFound("meeting_id: no minutes recorded", field="meeting_id")
            return repo.minutes_view(row, repo.leave_opinions(s, meeting.id), repo.timezone_of(s, meeting))

    def approve_minutes(self, actor, meeting_id):
        """M10: the chair approves the minutes of a closed meeting (status minutes_approved)."""
        now = clock.now()
        with self.db.uow() as uow:
            s = uow.session
            meeting = repo.meeting_for(s, actor, meeting_id)
            row = s.get(models.Minutes, meeting.id)
            domain.check_approve_minutes(actor.person_id, meeting.chair_person_id, meeting.status, row is not None)
            row.approved_by, row.approved_at = actor.person_id, now
            meeting.status = "minutes_approved"
            repo.history(s, meeting, "minutes_approved", actor, "closed", "minutes_approved", at=now,
                     data={"version": row.version})
            uow.emit("minutes_approved", meeting.org_id, {
                "meeting_id": meeting.id, "minutes_id": row.id, "version": row.version,
                "approved_by": actor.person_id, "approved_at": now})
        return self._meeting_view(meeting_id)

    def issue_document(self, actor, meeting_id, data):
        """M10: the office prepares a summary or document for a scope; it is issued once the secretary signs it off."""
        now = clock.now()
        with self.db.uow() as uow:
            s = uow.session
            meeting = repo.meeting_for(s, actor, meeting_id)
            domain.check_issue_document(actor.roles, meeting.status)
            row = models.Document(id=repo.new_id(), meeting_id=meeting.id, org_id=meeting.org_id, kind=data["kind"],
                                  title=data["title"], body=data["body"], scope=list(dict.fromkeys(data["scope"])),
                                  status="awaiting_sign_off", created_by=actor.person_id, created_at=now)
            s.add(row)
            return repo.document_view(row, repo.timezone_of(s, meeting))

    def sign_off(self, actor, document_id):
        """M10: the secretary signs off; the document is then issued to its scope with its issue
        number 〔year〕n号: the next of its organization's year (in the organization's time zone)."""
        now = clock.now()
        with self.db.uow() as uow:
            s = uow.session
            # the document's row is locked: two sign-offs of one document never both number it
            row = repo.document_for(s, actor, document_id, lock=True)
            domain.check_sign_off(actor.roles, row.status)
            meeting = s.get(models.Meeting, row.meeting_id)
            tz = repo.timezone_of(s, meeting)
            row.number_year = now.astimezone(tz).year
            row.number_seq = repo.next_document_number(s, row.org_id, row.number_year)
            row.status, row.signed_off_by, row.signed_off_at = "issued", actor.person_id, now
            number = domain.document_number(row.number_year, row.number_seq)
            repo.history(s, meeting, "document_issued", actor, meeting.status, meeting.status, at=now,
                     data={"document_id": row.id, "document_number": number})
            uow.emit("document_issued", row.org_id, {
                "document_id": row.id, "meeting_id": row.meeting_id, "kind": row.kind, "title": row.title,
                "body": row.body, "scope": row.scope, "prepared_by": row.created_by,
                "signed_off_by": actor.person_id, "issued_at": now, "document_number": number,
                "number_year": row.number_year, "number_seq": row.number_seq})
            return repo.document_view(row, tz)

    def list_documents(self, actor, org_id, year):
        """M10: an organization's numbered (issued) documents of a year, in number order: the
        register of issue numbers.  Each reader sees the documents they may read (their scope)."""
        actor.require_org(org_id, cross_org_read=True)
        year = domain.check_document_year(year)
        with self.db.read() as s:
            org = s.get(models.Organization, org_id)
            if org is None:
                raise NotFound("org_id: no such organization", field="org_id")
            tz = ZoneInfo(org.timezone)
            D = models.Document
            rows = s.execute(sa.select(D).where(D.org_id == org_id, D.number_year == year)
                             .order_by(D.number_seq)).scalars().all()
            items = [repo.document_view(d, tz, body=False) for d in rows
                     if domain.may_read_document(actor.person_id, actor.roles, d.status, d.scope)]
            return {"org_id": org_id, "year": year, "timezone": org.timezone, "items": items}

    def documents_awaiting_sign_off(self, actor, org_id):
        """M10: the documents the office prepared that the secretary has not signed off yet, oldest
        first: the secretary's pile (read by the secretary, the office and the confidential secretary)."""
        actor.require_org(org_id)
        actor.require("secretary", "office", "confidential_secretary", rule="M10",
                      action="listing documents awaiting sign-off")
        with self.db.read() as s:
            org = s.get(models.Organization, org_id)
            if org is None:
                raise NotFound("org_id: no such organization", field="org_id")
            D = models.Document
            rows = s.execute(sa.select(D).where(D.org_id == org_id, D.status == "awaiting_sign_off")
                             .order_by(D.created_at, D.id).limit(500)).scalars().all()
            tz = ZoneInfo(org.timezone)
            return {"org_id": org_id, "timezone": org.timezone,
                    "items": [repo.document_view(d, tz, body=False) for d in rows]}

    def get_document(self, actor, document_id):
        """M10: readable by the secretary, office and confidential secretary, and by persons in its scope once issued."""
        with self.db.read() as s:
            row = repo.document_for(s, actor, document_id)
            if not domain.may_read_document(actor.person_id, actor.roles, row.status, row.scope):
                raise Forbidden("M10: the document is transmitted only to its approved scope", field="actor",
                                rule="M10")
            return repo.document_view(row, repo.timezone_of(s, s.get(models.Meeting, row.meeting_id)))

    # ------------------------------------------------------------ democratic life meeting (M11)

    def record_democratic_life_step(self, actor, meeting_id, data):
        """M11 (§四): one step of the democratic life meeting (see ``domain.DL_STEPS``)."""
        now = clock.now()
        with self.db.uow() as uow:
            s = uow.session
            meeting = repo.meeting_for(s, actor, meeting_id)
            group = repo.group_of(s, meeting)
            secretary = next((pid for pid, role in group.items() if role == "secretary"), None)
            person_id = data["person_id"]
            if data["step"] == "outline":
                person_id = person_id or actor.person_id
                if person_id not in group:
                    raise RuleViolation("M11: a speaking outline is filed by a group member", field="person_id",
                                        rule="M11")
            elif data["step"] not in ("summary",):
                actor.require("secretary", "office", "confidential_secretary", rule="M11",
                              action=f"recording the {data['step']} step")
            if data["step"] in ("speech", "criticism") and person_id not in group:
                raise ValidationFailed("person_id: the group member speaking", field="person_id", rule="M11")
            domain.check_dl_step(data["step"], meeting.kind, meeting.status, actor.person_id, actor.roles, secretary,
                                 repo.dl_steps(s, meeting.id), person_id=person_id, data=data["data"])
            row = models.DemocraticLifeStep(id=repo.new_id(), meeting_id=meeting.id, step=data["step"],
                                            person_id=person_id, text=data["text"], data=data["data"] or None,
                                            recorded_by=actor.person_id, recorded_at=now)
            s.add(row)
            # A1/M11: each step of the democratic life meeting is kept by the archive
            uow.emit("democratic_life_step_recorded", meeting.org_id, {
                "step_id": row.id, "meeting_id": meeting.id, "theme": meeting.theme, "step": row.step,
                "person_id": row.person_id, "text": row.text, "data": row.data,
                "recorded_by": row.recorded_by, "recorded_at": row.recorded_at})
            return repo.dl_step_view(row, repo.timezone_of(s, meeting))

    def complete_rectification(self, actor, step_id, data):
        """M11: a rectification measure tracked to completion."""
        with self.db.uow() as uow:
            s = uow.session
            row = s.get(models.DemocraticLifeStep, step_id) if isinstance(step_id, str) else None
            meeting = s.get(models.Meeting, row.meeting_id) if row else None
            if row is None or row.step != "rectification" or not repo.may_see(actor, meeting.org_id):
                raise NotFound("step_id: no such rectification measure", field="step_id")
            actor.require("secretary", "office", rule="M11", action="completing a rectification measure")
            if row.completed_at is not None:
                raise Conflict("M11: the measure is already completed", field="step_id", rule="M11")
            row.completed_at, row.completion = clock.now(), data["text"]
            uow.emit("rectification_completed", meeting.org_id, {
                "step_id": row.id, "meeting_id": meeting.id, "theme": meeting.theme, "measure": row.text,
                "completion": row.completion, "completed_by": actor.person_id, "completed_at": row.completed_at})
            return repo.dl_step_view(row, repo.timezone_of(s, meeting))

    def get_democratic_life(self, actor, meeting_id):
        with self.db.read() as s:
            meeting = repo.meeting_for(s, actor, meeting_id, cross_org_read=True)
            tz = repo.timezone_of(s, meeting)
            rows = s.execute(sa.select(models.DemocraticLifeStep).where(
                models.DemocraticLifeStep.meeting_id == meeting.id).order_by(models.DemocraticLifeStep.recorded_at,
                                                                             models.DemocraticLifeStep.id)).scalars()
            steps = [repo.dl_step_view(r, tz) for r in rows]
            measures = [st for st in steps if st["step"] == "rectification"]
            return {"meeting_id": meeting.id, "theme": meeting.theme, "steps": steps,
                    "rectification_open": sum(1 for m in measures if m["completed_at"] is None),
                    "rectification_completed": sum(1 for m in measures if m["completed_at"] is not None)}

    # ------------------------------------------------------------ compliance (M2, M11)

    def compliance_check(self, actor, org_id, month):
        """M2/M11 findings for one calendar month (and, for December, its year)."""
        actor.require_org(org_id, cross_org_read=True)
        actor.require("secretary", "deputy_secretary", "discipline", "office", "org_department",
                      "discipline_commission", rule="M2", action="checking compliance")
        first = domain.parse_month(month)
        with self.db.read() as s:
            org = s.get(models.Organization, org_id)
            if org is None:
                raise NotFound("org_id: no such organization", field="org_id")
            held, dl_years = repo.held(s, org)
            today = repo.local_day(clock.now(), org.timezone)
        return [dict(f, org_id=org_id) for f in domain.compliance_findings(first, today, held, dl_years)]

    def scan_compliance(self, actor, as_of=None):
        """What the timer does, on demand (the suite itself only): -> the findings newly raised."""
        if "system" not in actor.roles:
            raise Forbidden("AUTH: the compliance scan is run by the suite itself", field="actor", rule="AUTH")
        try:
            now = dt.datetime.fromisoformat(as_of) if as_of else clock.now()
        except (TypeError, ValueError):
            raise ValidationFailed("as_of: must be an ISO 8601 instant", field="as_of") from None
        if now.tzinfo is None:
            raise ValidationFailed("as_of: must carry a time zone", field="as_of")
        return self.scan(now)

    def scan(self, now):
        """M2/M11: raise each missing-meeting alert of the month before ``now`` once per organization
        and period (every replica runs this) -> the findings newly raised."""
        raised = []
        with self.db.read() as s:
            orgs = [(o.id, o.timezone, o.created_at) for o in s.execute(sa.select(models.Organization)).scalars()]
        for org_id, timezone, created_at in orgs:
            today = repo.local_day(now, timezone)
            month = domain.previous_month(today)
            if repo.local_day(created_at, timezone) > month:
                continue        # only whole months the organization existed
            with self.db.read() as s:
                held, dl_years = repo.held(s, s.get(models.Organization, org_id))
            for finding in domain.compliance_findings(month, today, held, dl_years):
                if finding["severity"] != "breach":
                    continue
                if self._raise_once(org_id, finding, now):
                    raised.append(dict(finding, org_id=org_id))
        return raised

    def _raise_once(self, org_id, finding, now):
        """One row per (org, period, rule): a second replica's insert fails and emits nothing."""
        try:
            with self.db.uow() as uow:
                uow.session.add(models.ComplianceFinding(org_id=org_id, period=finding["period"],
                                                         rule=finding["rule"], detected_at=now))
                uow.session.flush()
                if finding["rule"] == "M2":
                    uow.emit("meeting_missing_detected", org_id, {"org_id": org_id, "month": finding["period"]})
                else:
                    uow.emit("democratic_life_missing_detected", org_id,
                             {"org_id": org_id, "year": int(finding["period"])})
            return True
        except IntegrityError:
            return False

    # ------------------------------------------------------------ reads for voting and views

    def get_meeting(self, actor, meeting_id):
        with self.db.read() as s:
            # one read transaction: the access check uses the row the view is made from
            return self._meeting_view(meeting_id, s, visible_to=actor)

    def list_meetings(self, actor, org_id, date_from=None, date_to=None, status=None):
        """The organization's meetings scheduled in [date_from, date_to) (ISO dates, the
        organization's calendar), oldest first: the secretary's calendar."""
        actor.require_org(org_id, cross_org_read=True)
        with self.db.read() as s:
            org = s.get(models.Organization, org_id)
            if org is None:
                raise NotFound("org_id: no such organization", field="org_id")
            tz = ZoneInfo(org.timezone)
            query = sa.select(models.Meeting).where(models.Meeting.org_id == org_id)
            for value, name, op in ((date_from, "from", "ge"), (date_to, "to", "lt")):
                if value is None:
                    continue
                try:
                    day = dt.date.fromisoformat(value)
                except (TypeError, ValueError):
                    raise ValidationFailed(f"{name}: must be a date (YYYY-MM-DD)", field=name) from None
                instant = dt.datetime.combine(day, dt.time(), tzinfo=tz)
                column = models.Meeting.scheduled_at
                query = query.where(column >= instant if op == "ge" else column < instant)
            if status is not None:
                query = query.where(models.Meeting.status == status)
            rows = s.execute(query.order_by(models.Meeting.scheduled_at).limit(500)).scalars().all()
            return {"org_id": org_id, "timezone": org.timezone, "items": [repo.meeting_summary(m, tz) for m in rows]}

    def search(self, actor, org_id, text):
        """Issue 19: the organization's meetings and topics whose title contains ``text``, newest
        first (at most ``SEARCH_LIMIT`` of each)."""
        text = search_text(text)
        actor.require_org(org_id, cross_org_read=True)
        with self.db.read() as s:
            org = s.get(models.Organization, org_id)
            if org is None:
                raise NotFound("org_id: no such organization", field="org_id")
            tz = ZoneInfo(org.timezone)
            meetings = s.execute(sa.select(models.Meeting).where(
                models.Meeting.org_id == org_id, contains(models.Meeting.title, text))
                .order_by(models.Meeting.scheduled_at.desc()).limit(SEARCH_LIMIT)).scalars().all()
            topics = s.execute(sa.select(models.Topic).where(
                models.Topic.org_id == org_id, contains(models.Topic.title, text))
                .order_by(models.Topic.created_at.desc()).limit(SEARCH_LIMIT)).scalars().all()
            return {
                "meetings": [repo.meeting_summary(m, tz) for m in meetings],
                "topics": [{"topic_id": t.id, "title": t.title, "category": t.category, "status": t.status,
                            "meeting_id": t.meeting_id} for t in topics],
            }

    def presence_now(self, actor, meeting_id, person_id):
        """V1: where a person stands in the meeting right now -> {meeting_id, meeting_status, presence}
        with presence "present" | "absent" | "leave" | None (not on the roll).  Voting asks on every vote."""
        with self.db.read() as s:
            meeting = repo.meeting_for(s, actor, meeting_id)
            row = s.get(models.Attendance, (meeting.id, person_id)) if isinstance(person_id, str) else None
            return {"meeting_id": meeting.id, "meeting_status": meeting.status,
                    "presence": row.status if row is not None else None}

    def attendance_snapshot(self, actor, meeting_id, topic_id):
        """What voting copies into a ballot when it opens (V1, V3): N, who is present now, on leave."""
        with self.db.read() as s:
            meeting = repo.meeting_for(s, actor, meeting_id)
            topic = s.get(models.Topic, topic_id) if isinstance(topic_id, str) else None
            if topic is None or topic.meeting_id != meeting.id or topic.status != "accepted":
                raise RuleViolation("M4: only a topic on this meeting's agenda may be voted",
                                    field="topic_id", rule="M4")
            if meeting.status != "opened":
                raise RuleViolation("M8: ballots open only in an opened meeting", field="meeting_id", rule="M8")
            domain.check_votable(meeting.kind, meeting.scheduled_at, meeting.noticed_at, topic.category)
            rows = s.execute(sa.select(models.Attendance).where(models.Attendance.meeting_id == meeting.id)).scalars()
            group = repo.group_of(s, meeting)
            members = [{
                "person_id": row.person_id, "role": group.get(row.person_id, "member"), "presence": row.status,
                "written_opinion": (row.written_opinions or {}).get(topic.id),
            } for row in rows]
            members.sort(key=lambda m: m["person_id"])
            return {
                "org_id": meeting.org_id, "meeting_id": meeting.id, "meeting_kind": meeting.kind,
                "emergency": meeting.kind == "emergency", "chair_person_id": meeting.chair_person_id,
                "topic": {"topic_id": topic.id, "title": topic.title, "category": topic.category,
                          "candidate_person_id": topic.candidate_person_id},   # V4: the item's candidate
                "n": meeting.group_size, "present": sum(1 for m in members if m["presence"] == "present"),
                "members": members,
            }

    def _meeting_view(self, meeting_id, s=None, visible_to=None):
        """The meeting view (``repository.meeting_view``), in its own read unless given one."""
        if s is None:
            with self.db.read() as s:
                return repo.meeting_view(s, meeting_id, visible_to)
        return repo.meeting_view(s, meeting_id, visible_to)


# ---------------------------------------------------------------- shared by the handlers

def require_topic_editable(s, topic):
    """M3/M5: a rejected topic, or one that went out with a notice, is not edited any more."""
    if topic.status == "rejected":
        raise Conflict("M3: the topic was rejected", field="topic_id", rule="M3")
    meeting = s.get(models.Meeting, topic.meeting_id) if topic.meeting_id else None
    if meeting is not None and meeting.status != "draft":
        raise RuleViolation("M5: the topic went out with the notice; its records are frozen",
                            field="topic_id", rule="M5")


def emit_preparation(uow, topic, parts=("precoordination", "preparation")):
    """A1/M3: the archive keeps each record of a topic's preparation as it is written: the leader in
    charge's pre-coordination and the research, opinions solicited, risk and legal review (§三(二))."""
    for part in parts:
        record = getattr(topic, part)
        if record is None:
            continue
        uow.emit("topic_preparation_recorded", topic.org_id, dict(record, **{
            "topic_id": topic.id, "meeting_id": topic.meeting_id, "title": topic.title,
            "category": topic.category, "part": part}))


def emit_term(uow, org_id, term):
    """§二: a term begun or ended; a group role's (N, quorum: ``membership_changed``) or a staff
    role's (``staff_appointment_changed``: A1 keeps it, C7 finds the discipline inspector by it)."""
    if term["role"] in domain.GROUP_ROLES:
        uow.emit("membership_changed", org_id, term)
    else:
        uow.emit("staff_appointment_changed", org_id, term)


def approve_handling(s, uow, row, approver, now):
    """M6: an approved provisional handling becomes a mandatory report on the next meeting's agenda."""
    row.status, row.approved_by, row.approved_at = "approved", approver, now
    topic = models.Topic(id=repo.new_id(), meeting_id=None, org_id=row.org_id, position=0,
                         title=f"临时处置情况报告：{row.title}"[:300], category="report",
                         description=row.description, proposed_by=row.handled_by, created_at=now,
                         status="accepted", broad=False, prepared_by="office",
                         decided_by=approver, decided_at=now, provisional_handling_id=row.id)
    s.add(topic)
    row.topic_id = topic.id
    s.flush()
    nxt = s.execute(sa.select(models.Meeting).where(
        models.Meeting.org_id == row.org_id, models.Meeting.status == "draft",
        models.Meeting.kind != "democratic_life", models.Meeting.scheduled_at > now)
        .order_by(models.Meeting.scheduled_at).limit(1)).scalar()
    if nxt is not None:
        repo.place(s, topic, nxt)
    uow.emit("provisional_handling_recorded", row.org_id, {
        "handling_id": row.id, "title": row.title, "description": row.description,
        "handled_by": row.handled_by, "approved_by": row.approved_by, "recorded_at": row.recorded_at,
        "report_topic_id": topic.id, "report_meeting_id": topic.meeting_id,
    })
    return topic


def require_chair(actor, meeting, action):
    """M1: the meeting's chair (or the suite itself) opens and closes it."""
    if actor.person_id != meeting.chair_person_id and "system" not in actor.roles:
        raise RuleViolation(f"M1: {action} is for the meeting's chair", field="actor", rule="M1")


def require_convener(actor, meeting, action):
    """M1: the secretary convenes; the chair (a delegated deputy) may also move or cancel the meeting."""
    if actor.person_id != meeting.chair_person_id and not actor.has("secretary"):
        raise Forbidden(f"M1: {action} is for the secretary or the meeting's chair", field="actor", rule="M1")


# ---------------------------------------------------------------- checks made before the input is read

def admin_only(action):
    """§2: the administrator keeps the roster; anyone else is refused before their input is read."""
    def check(actor, **_arguments):
        actor.require("admin", action=action)
    return check


def meeting_id_is_text(actor, meeting_id, **_arguments):
    """A meeting is named by its id (a string); anything else is no such meeting, whatever the input."""
    if not isinstance(meeting_id, str):
        raise NotFound("meeting_id: no such meeting", field="meeting_id")
