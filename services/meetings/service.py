"""Meetings service: the nameko entrypoints, thin.

Each entrypoint turns the caller's actor into an ``Actor`` and reads ``data`` by its schema
(``actor_rpc``), then calls its handler in ``application`` on the worker's ``db`` (a
command carrying an idempotency key is carried out once: the handler works on the
worker's ``KeyedWork``).  The handlers check the actor, run the rules (``domain``) over the
queries (``repository``), and write state and its events in one transaction (outbox).
"""
import datetime as dt
from pathlib import Path

from nameko.dependency_providers import Config
from nameko.exceptions import UnknownService
from nameko.timer import timer

from services.meetings import application, domain, models, schemas
from shared import clock
from shared.errors import ServiceUnavailable, UpstreamTimeout
from shared.nameko_ext import Database, HealthMixin, ServiceRpc, actor_rpc


COMPLIANCE_INTERVAL = 3600   # seconds between M2/M11 compliance scans (each alert is raised once)


class MeetingsService(HealthMixin):
    name = "meetings"
    db = Database(models, Path(__file__).parent / "migrations")
    config = Config()
    voting = ServiceRpc("voting")     # V1/M8: no meeting closes while its ballots are open

    @property
    def meetings(self):
        """The handlers, over this worker's ``db``."""
        return application.Meetings(self.db, open_tolerance=self._open_tolerance, open_ballots=self._open_ballots)

    def _open_tolerance(self):
        """M5: how long before its noticed time a meeting may open (MEETING_OPEN_TOLERANCE_MINUTES, default 30)."""
        minutes = self.config.get("MEETING_OPEN_TOLERANCE_MINUTES")
        return domain.OPEN_TOLERANCE if minutes in (None, "") else dt.timedelta(minutes=float(minutes))

    def _open_ballots(self, actor, meeting_id):
        """The ids of the meeting's open ballots, from voting; voting unreachable: fail closed."""
        try:
            return list(self.voting.open_ballots(actor, meeting_id))
        except (UnknownService, UpstreamTimeout, ServiceUnavailable):
            raise ServiceUnavailable("V1: the voting service cannot tell whether ballots are open; the meeting "
                                     "stays open until it can", field="meeting_id", rule="V1") from None

    @timer(interval=COMPLIANCE_INTERVAL)
    def compliance_timer(self):
        """M2/M11: raise each missing-meeting alert once per organization and period (every replica runs this)."""
        self.meetings.scan(clock.now())

    # ------------------------------------------------------------ roster (SPEC §2)

    @actor_rpc(schemas.OrganizationIn, check=application.admin_only("creating an organization"))
    def create_organization(self, actor, data):
        return self.meetings.create_organization(actor, data)

    @actor_rpc()
    def get_organization(self, actor, org_id):
        return self.meetings.get_organization(actor, org_id)

    @actor_rpc()
    def list_organizations(self, actor):
        return self.meetings.list_organizations(actor)

    @actor_rpc()
    def list_persons(self, actor):
        return self.meetings.list_persons(actor)

    @actor_rpc(schemas.PersonIn, check=application.admin_only("registering a person"))
    def register_person(self, actor, data):
        return self.meetings.register_person(actor, data)

    @actor_rpc(schemas.AppointmentIn, check=application.admin_only("appointing"))
    def appoint(self, actor, data):
        return self.meetings.appoint(actor, data)

    @actor_rpc(schemas.EndTermIn, check=application.admin_only("ending a term"))
    def end_term(self, actor, appointment_id, data):
        return self.meetings.end_term(actor, appointment_id, data)

    @actor_rpc()
    def list_appointments(self, actor, org_id, person_id=None):
        return self.meetings.list_appointments(actor, org_id, person_id)

    @actor_rpc()
    def roles_of(self, actor, person_id, org_id, on=None):
        return self.meetings.roles_of(actor, person_id, org_id, on)

    @actor_rpc()
    def list_members(self, actor, org_id, on=None):
        return self.meetings.list_members(actor, org_id, on)

    # ------------------------------------------------------------ meetings (M1, M4, M5, M8)

    @actor_rpc(schemas.MeetingIn)
    def schedule_meeting(self, actor, data):
        return self.meetings.schedule_meeting(actor, data)

    # ------------------------------------------------------------ topics (M3, M4, V4)

    @actor_rpc(schemas.TopicIn, check=application.meeting_id_is_text)
    def add_topic(self, actor, meeting_id, data):
        return self.meetings.add_topic(actor, meeting_id, data)

    @actor_rpc(schemas.TopicIn)
    def propose_topic(self, actor, meeting_id, data):
        return self.meetings.propose_topic(actor, meeting_id, data)

    @actor_rpc(schemas.TopicIn)
    def suggest_topic(self, actor, meeting_id, data):
        return self.meetings.suggest_topic(actor, meeting_id, data)

    @actor_rpc(schemas.DecideTopicIn)
    def decide_topic(self, actor, topic_id, data):
        return self.meetings.decide_topic(actor, topic_id, data)

    @actor_rpc()
    def schedule_topic(self, actor, topic_id, meeting_id):
        return self.meetings.schedule_topic(actor, topic_id, meeting_id)

    @actor_rpc(schemas.PrecoordinationIn)
    def record_precoordination(self, actor, topic_id, data):
        return self.meetings.record_precoordination(actor, topic_id, data)

    @actor_rpc(schemas.PreparationIn)
    def record_preparation(self, actor, topic_id, data):
        return self.meetings.record_preparation(actor, topic_id, data)

    @actor_rpc()
    def get_topic(self, actor, topic_id):
        return self.meetings.get_topic(actor, topic_id)

    @actor_rpc()
    def list_topics(self, actor, org_id, status=None):
        return self.meetings.list_topics(actor, org_id, status)

    @actor_rpc(schemas.MaterialIn)
    def attach_material(self, actor, topic_id, data):
        return self.meetings.attach_material(actor, topic_id, data)

    @actor_rpc()
    def get_material(self, actor, material_id):
        return self.meetings.get_material(actor, material_id)

    # ------------------------------------------------------------ objections (M5), leave (M9)

    @actor_rpc(schemas.ObjectionIn)
    def raise_objection(self, actor, meeting_id, data):
        return self.meetings.raise_objection(actor, meeting_id, data)

    @actor_rpc()
    def list_objections(self, actor, meeting_id):
        return self.meetings.list_objections(actor, meeting_id)

    @actor_rpc(schemas.ObjectionDispositionIn)
    def dispose_objection(self, actor, objection_id, data):
        return self.meetings.dispose_objection(actor, objection_id, data)

    @actor_rpc(schemas.LeaveRequestIn)
    def request_leave(self, actor, meeting_id, data):
        return self.meetings.request_leave(actor, meeting_id, data)

    @actor_rpc(schemas.LeaveDecisionIn)
    def decide_leave(self, actor, leave_id, data):
        return self.meetings.decide_leave(actor, leave_id, data)

    @actor_rpc()
    def list_leave(self, actor, meeting_id):
        return self.meetings.list_leave(actor, meeting_id)

    # ------------------------------------------------------------ provisional handling (M6)

    @actor_rpc(schemas.ProvisionalIn)
    def record_provisional_handling(self, actor, data):
        return self.meetings.record_provisional_handling(actor, data)

    @actor_rpc()
    def approve_provisional_handling(self, actor, handling_id):
        return self.meetings.approve_provisional_handling(actor, handling_id)

    @actor_rpc()
    def list_provisional_handlings(self, actor, org_id, status=None):
        return self.meetings.list_provisional_handlings(actor, org_id, status)

    # ------------------------------------------------------------ notice, observers (M5, M7)

    @actor_rpc(schemas.ObserverIn)
    def invite_observer(self, actor, meeting_id, data):
        return self.meetings.invite_observer(actor, meeting_id, data)

    @actor_rpc()
    def notice_meeting(self, actor, meeting_id):
        return self.meetings.notice_meeting(actor, meeting_id)

    # ------------------------------------------------------------ opening, attendance (M8, M9, M11)

    @actor_rpc(schemas.OpenIn)
    def open_meeting(self, actor, meeting_id, data):
        return self.meetings.open_meeting(actor, meeting_id, data)

    @actor_rpc()
    def record_arrival(self, actor, meeting_id, person_id):
        return self.meetings.record_arrival(actor, meeting_id, person_id)

    @actor_rpc()
    def record_departure(self, actor, meeting_id, person_id):
        return self.meetings.record_departure(actor, meeting_id, person_id)

    @actor_rpc()
    def quorum_now(self, actor, meeting_id):
        return self.meetings.quorum_now(actor, meeting_id)

    # ------------------------------------------------------------ lifecycle

    @actor_rpc()
    def close_meeting(self, actor, meeting_id):
        return self.meetings.close_meeting(actor, meeting_id)

    @actor_rpc(schemas.ReasonIn)
    def cancel_meeting(self, actor, meeting_id, data):
        return self.meetings.cancel_meeting(actor, meeting_id, data)

    @actor_rpc(schemas.RescheduleIn)
    def reschedule_meeting(self, actor, meeting_id, data):
        return self.meetings.reschedule_meeting(actor, meeting_id, data)

    @actor_rpc()
    def meeting_history(self, actor, meeting_id):
        return self.meetings.meeting_history(actor, meeting_id)

    # ------------------------------------------------------------ minutes and documents (M10)

    @actor_rpc(schemas.MinutesIn)
    def record_minutes(self, actor, meeting_id, data):
        return self.meetings.record_minutes(actor, meeting_id, data)

    @actor_rpc()
    def get_minutes(self, actor, meeting_id):
        return self.meetings.get_minutes(actor, meeting_id)

    @actor_rpc()
    def approve_minutes(self, actor, meeting_id):
        return self.meetings.approve_minutes(actor, meeting_id)

    @actor_rpc(schemas.DocumentIn)
    def issue_document(self, actor, meeting_id, data):
        return self.meetings.issue_document(actor, meeting_id, data)

    @actor_rpc()
    def sign_off(self, actor, document_id):
        return self.meetings.sign_off(actor, document_id)

    @actor_rpc()
    def list_documents(self, actor, org_id, year):
        return self.meetings.list_documents(actor, org_id, year)

    @actor_rpc()
    def documents_awaiting_sign_off(self, actor, org_id):
        return self.meetings.documents_awaiting_sign_off(actor, org_id)

    @actor_rpc()
    def get_document(self, actor, document_id):
        return self.meetings.get_document(actor, document_id)

    # ------------------------------------------------------------ democratic life meeting (M11)

    @actor_rpc(schemas.DemocraticLifeStepIn)
    def record_democratic_life_step(self, actor, meeting_id, data):
        return self.meetings.record_democratic_life_step(actor, meeting_id, data)

    @actor_rpc(schemas.CompletionIn)
    def complete_rectification(self, actor, step_id, data):
        return self.meetings.complete_rectification(actor, step_id, data)

    @actor_rpc()
    def get_democratic_life(self, actor, meeting_id):
        return self.meetings.get_democratic_life(actor, meeting_id)

    # ------------------------------------------------------------ compliance (M2, M11)

    @actor_rpc()
    def compliance_check(self, actor, org_id, month):
        return self.meetings.compliance_check(actor, org_id, month)

    @actor_rpc()
    def scan_compliance(self, actor, as_of=None):
        return self.meetings.scan_compliance(actor, as_of)

    # ------------------------------------------------------------ reads for voting and views

    @actor_rpc()
    def get_meeting(self, actor, meeting_id):
        return self.meetings.get_meeting(actor, meeting_id)

    @actor_rpc()
    def list_meetings(self, actor, org_id, date_from=None, date_to=None, status=None):
        return self.meetings.list_meetings(actor, org_id, date_from, date_to, status)

    @actor_rpc()
    def search(self, actor, org_id, text):
        return self.meetings.search(actor, org_id, text)

    @actor_rpc()
    def presence_now(self, actor, meeting_id, person_id):
        return self.meetings.presence_now(actor, meeting_id, person_id)

    @actor_rpc()
    def attendance_snapshot(self, actor, meeting_id, topic_id):
        return self.meetings.attendance_snapshot(actor, meeting_id, topic_id)
