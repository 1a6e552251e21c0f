"""Archive storage (SQLAlchemy 2).

A1: records are append-only — the code has no path that updates or deletes one;
a correction is a new record whose ``corrects`` names the old one.
A2: ``chain_heads`` keeps each organization's last seq and hash: appends lock
that row, and verification compares the end of the chain with it.
"""
import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import JSONText, UTCDateTime, messaging_tables


class Base(DeclarativeBase):
    pass


class Record(Base):
    __tablename__ = "records"
    __table_args__ = (
        sa.UniqueConstraint("org_id", "seq", name="uq_records_org_seq"),
        sa.UniqueConstraint("source_event_id", name="uq_records_source_event_id"),
    )

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)            # record_id
    org_id: Mapped[str] = mapped_column(sa.String(64))
    seq: Mapped[int] = mapped_column(sa.Integer)                                 # 1, 2, 3 … per org
    kind: Mapped[str] = mapped_column(sa.String(40))                             # decision, …
    subject_id: Mapped[str | None] = mapped_column(sa.String(64), nullable=True, index=True)  # decision_id …
    source_event_id: Mapped[str] = mapped_column(sa.String(36))
    classification: Mapped[str] = mapped_column(sa.String(20))                   # A3
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    content: Mapped[dict] = mapped_column(JSONText)
    corrects: Mapped[str | None] = mapped_column(sa.String(36), nullable=True)   # A1: record corrected
    prev_hash: Mapped[str] = mapped_column(sa.String(64))
    hash: Mapped[str] = mapped_column(sa.String(64))
    algorithm: Mapped[str] = mapped_column(sa.String(20))


class ChainHead(Base):
    __tablename__ = "chain_heads"

    org_id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    last_seq: Mapped[int] = mapped_column(sa.Integer)
    last_hash: Mapped[str] = mapped_column(sa.String(64))
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


outbox, inbox = messaging_tables(Base.metadata)
