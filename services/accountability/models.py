"""Accountability storage (SQLAlchemy 2).

C2: decisions and responsibility links are never deleted or rewritten; the
service has no path that deletes or updates them.
"""
import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import UTCDateTime, messaging_tables


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
        # C2: a person's lifetime record is one indexed query
        sa.Index("ix_responsibility_links_person_decided", "person_id", "decided_at"),
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


outbox, inbox = messaging_tables(Base.metadata)
