"""Meetings storage (SQLAlchemy 2). Memberships are never deleted (SPEC §2)."""
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


class Meeting(Base):
    __tablename__ = "meetings"
    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    org_id: Mapped[str] = mapped_column(sa.ForeignKey("organizations.id"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(20))          # regular | emergency
    title: Mapped[str] = mapped_column(sa.String(300))
    scheduled_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(sa.String(20))        # draft | noticed | opened | closed
    chair_person_id: Mapped[str] = mapped_column(sa.String(36))
    delegated_by: Mapped[str | None] = mapped_column(sa.String(36), nullable=True)   # M1
    created_by: Mapped[str] = mapped_column(sa.String(36))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    noticed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    opened_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    group_size: Mapped[int | None] = mapped_column(sa.Integer, nullable=True)       # N at opening (M8)


class Topic(Base):
    """An agenda item: only these may be discussed or voted (M4)."""
    __tablename__ = "topics"
    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    meeting_id: Mapped[str] = mapped_column(sa.ForeignKey("meetings.id"), index=True)
    org_id: Mapped[str] = mapped_column(sa.String(36), index=True)
    title: Mapped[str] = mapped_column(sa.String(300))
    category: Mapped[str] = mapped_column(sa.String(40))
    position: Mapped[int] = mapped_column(sa.Integer)
    proposed_by: Mapped[str] = mapped_column(sa.String(36))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class Attendance(Base):
    __tablename__ = "attendance"
    meeting_id: Mapped[str] = mapped_column(sa.ForeignKey("meetings.id"), primary_key=True)
    person_id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    status: Mapped[str] = mapped_column(sa.String(20))        # present | leave | absent
    written_opinions: Mapped[dict | None] = mapped_column(JSONText, nullable=True)   # M9: topic_id -> text
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


outbox, inbox = messaging_tables(Base.metadata)
