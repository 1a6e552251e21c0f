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
        sa.Index("uq_records_corrects", "corrects", unique=True),      # A1: a version is corrected once
        sa.Index("ix_records_org_created", "org_id", "created_at"),
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
    algorithm: Mapped[str] = mapped_column(sa.String(20))                        # A2: sha256 | sm3
    # 0002: search aids (meeting) and a correction's hashed reason and author
    meeting_id: Mapped[str | None] = mapped_column(sa.String(64), nullable=True, index=True)
    reason: Mapped[str | None] = mapped_column(sa.Text, nullable=True)
    recorded_by: Mapped[str | None] = mapped_column(sa.String(64), nullable=True)
    # 0003: retention period (A1), hashed; NULL on records made before it existed (derived from kind)
    retention: Mapped[str | None] = mapped_column(sa.String(20), nullable=True)


class RecordPerson(Base):
    """Search aid: every person a record names (members, recipients, chair)."""
    __tablename__ = "record_persons"
    __table_args__ = (sa.Index("ix_record_persons_org_person", "org_id", "person_id"),)

    record_id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    person_id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    org_id: Mapped[str] = mapped_column(sa.String(64))


class HashSetting(Base):
    """A2: an organization's hash algorithm, as a history (the latest row wins; append-only)."""
    __tablename__ = "hash_settings"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    org_id: Mapped[str] = mapped_column(sa.String(64), index=True)
    algorithm: Mapped[str] = mapped_column(sa.String(20))
    set_by: Mapped[str] = mapped_column(sa.String(64))
    set_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class SigningKey(Base):
    """A2: the key generated when the configuration provides none (one row, never replaced)."""
    __tablename__ = "signing_keys"

    key_id: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    private_key: Mapped[str] = mapped_column(sa.Text)          # base64 of the raw 32 bytes
    public_key: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class Checkpoint(Base):
    """A2: an Ed25519 signature over {org_id, seq, head_hash, created_at}."""
    __tablename__ = "checkpoints"
    __table_args__ = (sa.UniqueConstraint("org_id", "seq", name="uq_checkpoints_org_seq"),)

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    org_id: Mapped[str] = mapped_column(sa.String(64))
    seq: Mapped[int] = mapped_column(sa.Integer)
    head_hash: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    signature: Mapped[str] = mapped_column(sa.String(120))
    public_key: Mapped[str] = mapped_column(sa.String(64))
    algorithm: Mapped[str] = mapped_column(sa.String(20))     # ed25519
    signed_by: Mapped[str] = mapped_column(sa.String(64))


class ReadLog(Base):
    """A3: every read of a confidential record, granted or refused (append-only)."""
    __tablename__ = "read_log"
    __table_args__ = (sa.Index("ix_read_log_org_id", "org_id", "id"),)

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    person_id: Mapped[str] = mapped_column(sa.String(64))
    actor_org_id: Mapped[str | None] = mapped_column(sa.String(64), nullable=True)
    roles: Mapped[str] = mapped_column(sa.String(400))           # comma-separated
    org_id: Mapped[str] = mapped_column(sa.String(64))           # the record's organization
    record_id: Mapped[str] = mapped_column(sa.String(36))
    action: Mapped[str] = mapped_column(sa.String(40))           # get_record, list_records, export, …
    granted: Mapped[bool] = mapped_column(sa.Boolean)


class ChainHead(Base):
    __tablename__ = "chain_heads"

    org_id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    last_seq: Mapped[int] = mapped_column(sa.Integer)
    last_hash: Mapped[str] = mapped_column(sa.String(64))
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


outbox, inbox = messaging_tables(Base.metadata)
