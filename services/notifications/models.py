"""Notifications storage (SQLAlchemy 2).

N2: (source_event_id, person_id, channel) is unique for inbox notifications and
(source_event_id, recipient, channel) for every delivery (inbox, e-mail,
webhook), so one event notifies a recipient at most once per channel even when
it is delivered twice.  Deliveries are written in the same transaction as the
inbox rows and sent after commit by a sender that claims them with a lease.
"""
import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import JSONText, UTCDateTime, messaging_tables


class Base(DeclarativeBase):
    pass


class Notification(Base):
    __tablename__ = "notifications"
    __table_args__ = (
        sa.UniqueConstraint("source_event_id", "person_id", "channel",
                            name="uq_notifications_event_person_channel"),
        sa.Index("ix_notifications_recipient", "person_id", "org_id", "created_at"),
    )
    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    org_id: Mapped[str] = mapped_column(sa.String(64))
    person_id: Mapped[str] = mapped_column(sa.String(64))
    channel: Mapped[str] = mapped_column(sa.String(20))          # inbox (N2)
    kind: Mapped[str] = mapped_column(sa.String(40))             # meeting_notice, …
    title: Mapped[str] = mapped_column(sa.String(400))
    body: Mapped[str] = mapped_column(sa.Text)
    meeting_id: Mapped[str | None] = mapped_column(sa.String(64), nullable=True)
    source_event_id: Mapped[str] = mapped_column(sa.String(36))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    read_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    ref_id: Mapped[str | None] = mapped_column(sa.String(64), nullable=True)        # ballot, decision, …
    acknowledged_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)  # M5 proof


class Delivery(Base):
    """N2: one notification on one channel to one recipient (person or webhook endpoint)."""
    __tablename__ = "deliveries"
    __table_args__ = (
        sa.UniqueConstraint("source_event_id", "recipient", "channel", name="uq_deliveries_event_recipient_channel"),
        sa.Index("ix_deliveries_due", "status", "next_attempt_at"),
        sa.Index("ix_deliveries_org", "org_id", "created_at"),
    )
    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    org_id: Mapped[str] = mapped_column(sa.String(64))
    source_event_id: Mapped[str] = mapped_column(sa.String(36))
    channel: Mapped[str] = mapped_column(sa.String(20))            # inbox, email, webhook
    recipient: Mapped[str] = mapped_column(sa.String(64))          # person id or webhook id
    person_id: Mapped[str | None] = mapped_column(sa.String(64), nullable=True)
    webhook_id: Mapped[str | None] = mapped_column(sa.String(36), nullable=True)
    notification_id: Mapped[str | None] = mapped_column(sa.String(36), nullable=True)
    kind: Mapped[str] = mapped_column(sa.String(40))
    status: Mapped[str] = mapped_column(sa.String(20))             # pending, sent, failed
    payload: Mapped[dict | None] = mapped_column(JSONText, nullable=True)
    attempts: Mapped[int] = mapped_column(sa.Integer)
    next_attempt_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    claimed_by: Mapped[str | None] = mapped_column(sa.String(64), nullable=True)
    claimed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_error: Mapped[str | None] = mapped_column(sa.Text, nullable=True)


class DeliveryAttempt(Base):
    """N2: the delivery log, one row per attempt."""
    __tablename__ = "delivery_attempts"
    __table_args__ = (sa.Index("ix_delivery_attempts_delivery", "delivery_id", "attempt"),)
    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    delivery_id: Mapped[str] = mapped_column(sa.String(36))
    attempt: Mapped[int] = mapped_column(sa.Integer)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    ok: Mapped[bool] = mapped_column(sa.Boolean)
    status_code: Mapped[int | None] = mapped_column(sa.Integer, nullable=True)   # HTTP or SMTP reply code
    error: Mapped[str | None] = mapped_column(sa.Text, nullable=True)
    duration_ms: Mapped[int] = mapped_column(sa.Integer)


class Recipient(Base):
    """N2: a person's e-mail address and channel/language preferences."""
    __tablename__ = "recipients"
    person_id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    email: Mapped[str | None] = mapped_column(sa.String(254), nullable=True)
    language: Mapped[str] = mapped_column(sa.String(10))
    email_on: Mapped[bool] = mapped_column(sa.Boolean)
    inbox_on: Mapped[bool] = mapped_column(sa.Boolean)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class Webhook(Base):
    """N2: an integrator's endpoint; the secret signs every payload (Standard Webhooks)."""
    __tablename__ = "webhooks"
    __table_args__ = (sa.Index("ix_webhooks_org", "org_id", "active"),)
    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    org_id: Mapped[str] = mapped_column(sa.String(64))
    url: Mapped[str] = mapped_column(sa.String(2000))
    event_types: Mapped[list] = mapped_column(JSONText)
    secret: Mapped[str] = mapped_column(sa.String(200))
    description: Mapped[str | None] = mapped_column(sa.String(200), nullable=True)
    active: Mapped[bool] = mapped_column(sa.Boolean)
    created_by: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class RoleHolder(Base):
    """Who holds which role in an organization, from when to when (from
    ``meetings.membership_changed``): the recipients of facts addressed to a role (C7)."""
    __tablename__ = "role_holders"
    org_id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    person_id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    role: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    start_date: Mapped[dt.date] = mapped_column(sa.Date, primary_key=True)
    end_date: Mapped[dt.date | None] = mapped_column(sa.Date, nullable=True)


class MeetingReminder(Base):
    """M5/N1: the latest notice of a meeting, kept to remind its recipients of the objection deadline."""
    __tablename__ = "meeting_reminders"
    __table_args__ = (sa.Index("ix_meeting_reminders_due", "sent_at", "due_at"),)
    meeting_id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    org_id: Mapped[str] = mapped_column(sa.String(64))
    notice_event_id: Mapped[str] = mapped_column(sa.String(36))
    noticed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    data: Mapped[dict] = mapped_column(JSONText)                       # the notice's event data
    objection_deadline: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    due_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)


outbox, inbox = messaging_tables(Base.metadata)
