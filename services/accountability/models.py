"""Accountability storage (SQLAlchemy 2).

C2: decisions and responsibility links are never deleted or rewritten; the
service has no path that deletes or updates them.
"""
import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import JSONText, UTCDateTime, messaging_tables


class Base(DeclarativeBase):
    pass


class Decision(Base):
    """The summary of a decided result (V9) that links point at."""
    __tablename__ = "decisions"
    id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)      # decision_id
    org_id: Mapped[str] = mapped_column(sa.String(64), index=True)
    meeting_id: Mapped[str] = mapped_column(sa.String(64), index=True)
    ballot_id: Mapped[str | None] = mapped_column(sa.String(64), nullable=True)
    agenda_item_id: Mapped[str | None] = mapped_column(sa.String(64), nullable=True)
    title: Mapped[str] = mapped_column(sa.String(300))
    category: Mapped[str] = mapped_column(sa.String(40))
    method: Mapped[str] = mapped_column(sa.String(20))
    emergency: Mapped[bool] = mapped_column(sa.Boolean)
    outcome: Mapped[str] = mapped_column(sa.String(20))
    n: Mapped[int] = mapped_column(sa.Integer)
    present: Mapped[int] = mapped_column(sa.Integer)
    yes: Mapped[int] = mapped_column(sa.Integer)
    no: Mapped[int] = mapped_column(sa.Integer)
    abstain: Mapped[int] = mapped_column(sa.Integer)
    superseded_decision_id: Mapped[str | None] = mapped_column(sa.String(64), nullable=True)
    decided_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    source_event_id: Mapped[str] = mapped_column(sa.String(36))
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class ResponsibilityLink(Base):
    """C1: one group member's part in one decision."""
    __tablename__ = "responsibility_links"
    __table_args__ = (
        sa.UniqueConstraint("decision_id", "person_id", name="uq_responsibility_links_decision_person"),
    )
    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    decision_id: Mapped[str] = mapped_column(sa.ForeignKey("decisions.id"))
    person_id: Mapped[str] = mapped_column(sa.String(64))
    org_id: Mapped[str] = mapped_column(sa.String(64))
    presence: Mapped[str] = mapped_column(sa.String(20))            # present | leave | absent
    stance: Mapped[str | None] = mapped_column(sa.String(20), nullable=True)   # None for secret ballots (V8)
    voted: Mapped[bool] = mapped_column(sa.Boolean)
    reserved_opinion: Mapped[str | None] = mapped_column(sa.Text, nullable=True)
    written_opinion: Mapped[str | None] = mapped_column(sa.Text, nullable=True)
    participant: Mapped[bool] = mapped_column(sa.Boolean)
    decided_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


# C2: a person's lifetime record, newest first, is one index range scan (keyset or offset paging)
sa.Index("ix_responsibility_links_person_recent", ResponsibilityLink.person_id,
         ResponsibilityLink.decided_at.desc(), ResponsibilityLink.decision_id)


class ImplementationTask(Base):
    """C5 §三(七): who implements a passed decision, with which units, by when."""
    __tablename__ = "implementation_tasks"
    __table_args__ = (sa.Index("ix_implementation_tasks_open_deadline", "state", "deadline"),)
    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    org_id: Mapped[str] = mapped_column(sa.String(64), index=True)
    decision_id: Mapped[str] = mapped_column(sa.ForeignKey("decisions.id"), index=True)
    leader_person_id: Mapped[str] = mapped_column(sa.String(64))
    units: Mapped[list] = mapped_column(JSONText)
    deadline: Mapped[dt.date] = mapped_column(sa.Date)
    important: Mapped[bool] = mapped_column(sa.Boolean)
    state: Mapped[str] = mapped_column(sa.String(20))              # open | completed | not_executable
    percent: Mapped[int] = mapped_column(sa.Integer)
    special_report_filed: Mapped[bool] = mapped_column(sa.Boolean)
    assigned_by: Mapped[str] = mapped_column(sa.String(64))
    assigned_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)


class ImplementationEntry(Base):
    """C5: the task's history, append-only: progress reports, special reports,
    supervision and feedback, postponements and declarations with their explanation."""
    __tablename__ = "implementation_entries"
    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    task_id: Mapped[str] = mapped_column(sa.ForeignKey("implementation_tasks.id"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(30))   # progress | supervision | postponement | not_executable
    author_person_id: Mapped[str] = mapped_column(sa.String(64))
    content: Mapped[dict] = mapped_column(JSONText)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class ImplementationReminder(Base):
    """C5 §三(七): one row per (task, deadline) reminded before its deadline: every replica's timer
    tries, only the insert that wins emits ``implementation_due_soon``."""
    __tablename__ = "implementation_reminders"
    __table_args__ = (sa.UniqueConstraint("task_id", "deadline", name="uq_implementation_reminders_task_deadline"),)
    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    task_id: Mapped[str] = mapped_column(sa.ForeignKey("implementation_tasks.id"))
    deadline: Mapped[dt.date] = mapped_column(sa.Date)
    reminded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class ImplementationOverdue(Base):
    """C5: one row per (task, deadline) found overdue: every replica's timer tries,
    only the insert that wins emits ``implementation_overdue``."""
    __tablename__ = "implementation_overdue"
    __table_args__ = (sa.UniqueConstraint("task_id", "deadline", name="uq_implementation_overdue_task_deadline"),)
    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    task_id: Mapped[str] = mapped_column(sa.ForeignKey("implementation_tasks.id"))
    deadline: Mapped[dt.date] = mapped_column(sa.Date)
    detected_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class Case(Base):
    """C4: an accountability case under one of the eight triggers of §五(二)."""
    __tablename__ = "cases"
    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    org_id: Mapped[str] = mapped_column(sa.String(64), index=True)
    trigger: Mapped[int] = mapped_column(sa.Integer)
    decision_id: Mapped[str | None] = mapped_column(sa.ForeignKey("decisions.id"), nullable=True)
    person_id: Mapped[str | None] = mapped_column(sa.String(64), nullable=True)
    summary: Mapped[str] = mapped_column(sa.Text)
    major_error: Mapped[bool] = mapped_column(sa.Boolean)
    group_broke_rules: Mapped[bool] = mapped_column(sa.Boolean)
    secretary_person_id: Mapped[str | None] = mapped_column(sa.String(64), nullable=True)
    proposals: Mapped[dict] = mapped_column(JSONText)              # C3 per person
    status: Mapped[str] = mapped_column(sa.String(20))             # open | concluded
    outcomes: Mapped[dict | None] = mapped_column(JSONText, nullable=True)
    note: Mapped[str | None] = mapped_column(sa.Text, nullable=True)
    opened_by: Mapped[str] = mapped_column(sa.String(64))
    opened_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    concluded_by: Mapped[str | None] = mapped_column(sa.String(64), nullable=True)
    concluded_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)


class Duty(Base):
    """C6: a report owed by a person or by the group, with its due date."""
    __tablename__ = "duties"
    __table_args__ = (sa.Index("ix_duties_org_year", "org_id", "year"),)
    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    org_id: Mapped[str] = mapped_column(sa.String(64))
    kind: Mapped[str] = mapped_column(sa.String(40))
    person_id: Mapped[str | None] = mapped_column(sa.String(64), nullable=True)
    year: Mapped[int] = mapped_column(sa.Integer)
    due_date: Mapped[dt.date] = mapped_column(sa.Date)
    document_ref: Mapped[str | None] = mapped_column(sa.String(300), nullable=True)
    filed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    filed_by: Mapped[str | None] = mapped_column(sa.String(64), nullable=True)
    created_by: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class MeetingFact(Base):
    """C7: what the meetings service told us about a meeting (scheduled, noticed, opened)."""
    __tablename__ = "meeting_facts"
    meeting_id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    org_id: Mapped[str] = mapped_column(sa.String(64), index=True)
    kind: Mapped[str | None] = mapped_column(sa.String(30), nullable=True)
    title: Mapped[str | None] = mapped_column(sa.String(300), nullable=True)
    scheduled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    noticed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    opened_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    n: Mapped[int | None] = mapped_column(sa.Integer, nullable=True)
    present: Mapped[int | None] = mapped_column(sa.Integer, nullable=True)


class ComplianceAlert(Base):
    """C7: an alert, kept for ever; unique per (org, rule, subject)."""
    __tablename__ = "compliance_alerts"
    __table_args__ = (
        sa.UniqueConstraint("org_id", "rule", "subject_type", "subject_id", name="uq_compliance_alerts_subject"),
        sa.Index("ix_compliance_alerts_org_raised", "org_id", "raised_at"),
    )
    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    org_id: Mapped[str] = mapped_column(sa.String(64))
    rule: Mapped[str] = mapped_column(sa.String(10))
    subject_type: Mapped[str] = mapped_column(sa.String(40))
    subject_id: Mapped[str] = mapped_column(sa.String(120))
    message: Mapped[str] = mapped_column(sa.Text)
    message_zh: Mapped[str | None] = mapped_column(sa.Text, nullable=True)     # the same, in Chinese
    raised_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    acknowledged_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    acknowledged_by: Mapped[str | None] = mapped_column(sa.String(64), nullable=True)
    acknowledgement_note: Mapped[str | None] = mapped_column(sa.Text, nullable=True)


class WitnessedCheckpoint(Base):
    """A2 (rollback): every checkpoint the archive published (``checkpoint_signed``), kept outside
    the archive's database so that a chain moved back, or rewritten after it was signed, is
    caught by comparing with it.  Insert-only; the first head seen at a seq is kept."""
    __tablename__ = "witnessed_checkpoints"

    org_id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    seq: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    head_hash: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[str] = mapped_column(sa.String(40))       # the signed text, kept as signed
    signature: Mapped[str] = mapped_column(sa.String(120))
    public_key: Mapped[str] = mapped_column(sa.String(64))
    algorithm: Mapped[str] = mapped_column(sa.String(20))
    tree_root: Mapped[str | None] = mapped_column(sa.String(64), nullable=True)   # RFC 6962, records 1..seq
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


outbox, inbox = messaging_tables(Base.metadata)
