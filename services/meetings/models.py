"""Meetings storage (SQLAlchemy 2). Memberships (terms) are never deleted (docs/rules.md)."""
import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import JSONText, UTCDateTime, messaging_tables


class Base(DeclarativeBase):
    pass


class Organization(Base):
    __tablename__ = "organizations"
    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    timezone: Mapped[str] = mapped_column(sa.String(64), default="Asia/Shanghai")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class Person(Base):
    __tablename__ = "persons"
    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)   # lifelong person_id
    name: Mapped[str] = mapped_column(sa.String(200))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class Appointment(Base):
    """A role held in an organization from ``start_date`` to ``end_date`` (inclusive).

    Group roles (secretary, deputy_secretary, member) make a person a voter;
    staff roles (office, hr, confidential_secretary, discipline, …) do not.
    """
    __tablename__ = "appointments"
    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    org_id: Mapped[str] = mapped_column(sa.ForeignKey("organizations.id"), index=True)
    person_id: Mapped[str] = mapped_column(sa.ForeignKey("persons.id"), index=True)
    role: Mapped[str] = mapped_column(sa.String(40))
    start_date: Mapped[dt.date] = mapped_column(sa.Date)
    end_date: Mapped[dt.date | None] = mapped_column(sa.Date, nullable=True)
    division_of_work: Mapped[str | None] = mapped_column(sa.Text, nullable=True)   # 分管, §二(三)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    # §二: a term is ended (end_date, reason), never deleted
    end_reason: Mapped[str | None] = mapped_column(sa.String(40), nullable=True)
    ended_by: Mapped[str | None] = mapped_column(sa.String(36), nullable=True)
    ended_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)


class Meeting(Base):
    __tablename__ = "meetings"
    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    org_id: Mapped[str] = mapped_column(sa.ForeignKey("organizations.id"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(20))          # regular | emergency | expanded | democratic_life
    title: Mapped[str] = mapped_column(sa.String(300))
    scheduled_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    # draft -> noticed -> opened -> closed -> minutes_approved; draft/noticed -> cancelled
    status: Mapped[str] = mapped_column(sa.String(20))
    chair_person_id: Mapped[str] = mapped_column(sa.String(36))
    delegated_by: Mapped[str | None] = mapped_column(sa.String(36), nullable=True)   # M1
    created_by: Mapped[str] = mapped_column(sa.String(36))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    noticed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    opened_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    group_size: Mapped[int | None] = mapped_column(sa.Integer, nullable=True)       # N at opening (M8)
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    cancelled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    cancel_reason: Mapped[str | None] = mapped_column(sa.Text, nullable=True)
    theme: Mapped[str | None] = mapped_column(sa.String(300), nullable=True)          # M11
    emergency_reason: Mapped[str | None] = mapped_column(sa.Text, nullable=True)      # M6: why no 48 h notice


class Topic(Base):
    """A topic (M3); an accepted one on a meeting is an agenda item: only these may be
    discussed or voted (M4).  ``meeting_id`` is empty until it is scheduled."""
    __tablename__ = "topics"
    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    meeting_id: Mapped[str | None] = mapped_column(sa.ForeignKey("meetings.id"), index=True, nullable=True)
    org_id: Mapped[str] = mapped_column(sa.String(36), index=True)
    title: Mapped[str] = mapped_column(sa.String(300))
    category: Mapped[str] = mapped_column(sa.String(40))
    position: Mapped[int] = mapped_column(sa.Integer)          # 0 while not on an agenda
    proposed_by: Mapped[str] = mapped_column(sa.String(36))    # who proposed or suggested it
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(sa.String(20), server_default="accepted")   # suggested|accepted|rejected
    description: Mapped[str | None] = mapped_column(sa.Text, nullable=True)
    broad: Mapped[bool] = mapped_column(sa.Boolean, server_default=sa.false())      # M3 broad/major
    prepared_by: Mapped[str] = mapped_column(sa.String(20), server_default="office")  # office | hr (M3)
    candidate_person_id: Mapped[str | None] = mapped_column(sa.String(36), nullable=True)   # V4
    subordinate_org: Mapped[str | None] = mapped_column(sa.String(200), nullable=True)
    precoordination: Mapped[dict | None] = mapped_column(JSONText, nullable=True)   # M3
    preparation: Mapped[dict | None] = mapped_column(JSONText, nullable=True)       # M3 三重一大
    decided_by: Mapped[str | None] = mapped_column(sa.String(36), nullable=True)
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    decision_reason: Mapped[str | None] = mapped_column(sa.Text, nullable=True)
    provisional_handling_id: Mapped[str | None] = mapped_column(sa.String(36), nullable=True)   # M6 report


class Material(Base):
    """A topic's material (M3, M5), stored in the database with its checksum."""
    __tablename__ = "materials"
    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    topic_id: Mapped[str] = mapped_column(sa.ForeignKey("topics.id"), index=True)
    org_id: Mapped[str] = mapped_column(sa.String(36), index=True)
    filename: Mapped[str] = mapped_column(sa.String(255))
    content_type: Mapped[str] = mapped_column(sa.String(120))
    size: Mapped[int] = mapped_column(sa.Integer)
    sha256: Mapped[str] = mapped_column(sa.String(64))
    content: Mapped[bytes] = mapped_column(sa.LargeBinary)
    uploaded_by: Mapped[str] = mapped_column(sa.String(36))
    prepared_as: Mapped[str] = mapped_column(sa.String(20))   # office | hr
    uploaded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class MeetingEvent(Base):
    """Every transition of a meeting, timestamped, with its actor (history)."""
    __tablename__ = "meeting_events"
    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    meeting_id: Mapped[str] = mapped_column(sa.ForeignKey("meetings.id"), index=True)
    action: Mapped[str] = mapped_column(sa.String(40))
    from_status: Mapped[str | None] = mapped_column(sa.String(20), nullable=True)
    to_status: Mapped[str | None] = mapped_column(sa.String(20), nullable=True)
    actor_person_id: Mapped[str] = mapped_column(sa.String(64))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    reason: Mapped[str | None] = mapped_column(sa.Text, nullable=True)
    data: Mapped[dict | None] = mapped_column(JSONText, nullable=True)


class Objection(Base):
    """M5: a member's objection, raised at least 24 h before the meeting."""
    __tablename__ = "objections"
    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    meeting_id: Mapped[str] = mapped_column(sa.ForeignKey("meetings.id"), index=True)
    topic_id: Mapped[str | None] = mapped_column(sa.String(36), nullable=True)
    person_id: Mapped[str] = mapped_column(sa.String(36))
    text: Mapped[str] = mapped_column(sa.Text)
    raised_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    # M5: the chair's answer (accepted | not_accepted) with a reply, once
    disposition: Mapped[str | None] = mapped_column(sa.String(20), nullable=True)
    reply: Mapped[str | None] = mapped_column(sa.Text, nullable=True)
    disposed_by: Mapped[str | None] = mapped_column(sa.String(36), nullable=True)
    disposed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)


class LeaveRequest(Base):
    """M9: leave asked in advance, decided by the chair, with an opinion per topic."""
    __tablename__ = "leave_requests"
    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    meeting_id: Mapped[str] = mapped_column(sa.ForeignKey("meetings.id"), index=True)
    person_id: Mapped[str] = mapped_column(sa.String(36))
    reason: Mapped[str] = mapped_column(sa.Text)
    opinions: Mapped[dict] = mapped_column(JSONText)
    status: Mapped[str] = mapped_column(sa.String(20))        # requested | approved | refused
    requested_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    decided_by: Mapped[str | None] = mapped_column(sa.String(36), nullable=True)
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    decision_reason: Mapped[str | None] = mapped_column(sa.Text, nullable=True)


class ProvisionalHandling(Base):
    """M6: a matter handled provisionally with the secretary's approval, reported at the next meeting."""
    __tablename__ = "provisional_handlings"
    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    org_id: Mapped[str] = mapped_column(sa.ForeignKey("organizations.id"), index=True)
    title: Mapped[str] = mapped_column(sa.String(300))
    description: Mapped[str] = mapped_column(sa.Text)
    handled_by: Mapped[str] = mapped_column(sa.String(36))
    approved_by: Mapped[str | None] = mapped_column(sa.String(36), nullable=True)   # the secretary, by acting
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(sa.String(20), server_default="approved")   # awaiting_approval | approved
    approved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    topic_id: Mapped[str | None] = mapped_column(sa.String(36), nullable=True)
    reported_meeting_id: Mapped[str | None] = mapped_column(sa.String(36), nullable=True)
    reported_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)


class Observer(Base):
    """M7: a person invited to one meeting; never counts, never votes."""
    __tablename__ = "meeting_observers"
    meeting_id: Mapped[str] = mapped_column(sa.ForeignKey("meetings.id"), primary_key=True)
    person_id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    reason: Mapped[str] = mapped_column(sa.Text)
    invited_by: Mapped[str] = mapped_column(sa.String(36))
    invited_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class Minutes(Base):
    """M10: minutes by the confidential secretary, approved by the chair."""
    __tablename__ = "minutes"
    meeting_id: Mapped[str] = mapped_column(sa.ForeignKey("meetings.id"), primary_key=True)
    id: Mapped[str] = mapped_column(sa.String(36), unique=True)
    text: Mapped[str] = mapped_column(sa.Text)
    version: Mapped[int] = mapped_column(sa.Integer)
    recorded_by: Mapped[str] = mapped_column(sa.String(36))
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    approved_by: Mapped[str | None] = mapped_column(sa.String(36), nullable=True)
    approved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)


class Document(Base):
    """M10: a meeting summary or document, issued only after the secretary's sign-off, to its scope,
    with its issue number 〔number_year〕number_seq号 (per organization and year, gap-free)."""
    __tablename__ = "documents"
    __table_args__ = (
        sa.UniqueConstraint("org_id", "number_year", "number_seq", name="uq_documents_org_number"),
    )
    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    meeting_id: Mapped[str] = mapped_column(sa.ForeignKey("meetings.id"), index=True)
    org_id: Mapped[str] = mapped_column(sa.String(36), index=True)
    kind: Mapped[str] = mapped_column(sa.String(20))          # summary | document
    title: Mapped[str] = mapped_column(sa.String(300))
    body: Mapped[str] = mapped_column(sa.Text)
    scope: Mapped[list] = mapped_column(JSONText)
    status: Mapped[str] = mapped_column(sa.String(20))        # awaiting_sign_off | issued
    created_by: Mapped[str] = mapped_column(sa.String(36))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    signed_off_by: Mapped[str | None] = mapped_column(sa.String(36), nullable=True)
    signed_off_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    number_year: Mapped[int | None] = mapped_column(sa.Integer, nullable=True)
    number_seq: Mapped[int | None] = mapped_column(sa.Integer, nullable=True)


class DocumentCounter(Base):
    """M10: the last issue number given in an organization's year; the sign-off increments it in
    its own transaction (one row per organization and year, so numbers are gap-free and never shared)."""
    __tablename__ = "document_counters"
    org_id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    year: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=False)
    last: Mapped[int] = mapped_column(sa.Integer)


class ComplianceFinding(Base):
    """M2/M11: one row per (org, period, rule): the timer raises each alert once, across replicas."""
    __tablename__ = "compliance_findings"
    __table_args__ = (sa.UniqueConstraint("org_id", "period", "rule", name="uq_compliance_org_period_rule"),)
    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    org_id: Mapped[str] = mapped_column(sa.String(36))
    period: Mapped[str] = mapped_column(sa.String(7))         # YYYY-MM (M2) or YYYY (M11)
    rule: Mapped[str] = mapped_column(sa.String(8))
    detected_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class DemocraticLifeStep(Base):
    """M11 (§四): the steps of a democratic life meeting, checked in ``domain.check_dl_step``."""
    __tablename__ = "democratic_life"
    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    meeting_id: Mapped[str] = mapped_column(sa.ForeignKey("meetings.id"), index=True)
    step: Mapped[str] = mapped_column(sa.String(30))
    person_id: Mapped[str | None] = mapped_column(sa.String(36), nullable=True)
    text: Mapped[str] = mapped_column(sa.Text)
    data: Mapped[dict | None] = mapped_column(JSONText, nullable=True)
    recorded_by: Mapped[str] = mapped_column(sa.String(36))
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    completed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)   # rectification
    completion: Mapped[str | None] = mapped_column(sa.Text, nullable=True)


class Attendance(Base):
    __tablename__ = "attendance"
    meeting_id: Mapped[str] = mapped_column(sa.ForeignKey("meetings.id"), primary_key=True)
    person_id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    status: Mapped[str] = mapped_column(sa.String(20))        # present | leave | absent
    written_opinions: Mapped[dict | None] = mapped_column(JSONText, nullable=True)   # M9: topic_id -> text
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    arrived_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)     # M8
    departed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)


outbox, inbox = messaging_tables(Base.metadata)
