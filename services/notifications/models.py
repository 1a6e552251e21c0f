"""Notifications storage (SQLAlchemy 2).

N2: (source_event_id, person_id, channel) is unique, so one event notifies a
recipient at most once per channel even when it is delivered twice.
"""
import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import UTCDateTime, messaging_tables


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


outbox, inbox = messaging_tables(Base.metadata)
