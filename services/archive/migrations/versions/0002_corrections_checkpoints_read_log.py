"""archive: corrections, search aids, hash settings, signing keys, checkpoints, read log

A1: records get ``meeting_id`` (search), ``reason`` and ``recorded_by`` (hashed
parts of a correction) and a unique index on ``corrects`` (a version is
corrected once); ``record_persons`` indexes who a record names.
A2: ``hash_settings`` (per-organization algorithm history), ``signing_keys``
(generated key when none is configured), ``checkpoints`` (signed heads).
A3: ``read_log`` (every read of a confidential record).

Every new table is append-only for the service: the runtime role needs only
SELECT and INSERT on them.  Existing records get their search aids filled in
(from their content; nothing hashed changes).

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-12
"""
import json

import sqlalchemy as sa
from alembic import op

from shared.db import UTCDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def _persons(content):
    found = set()
    for member in content.get("members") or ():
        if isinstance(member, dict) and isinstance(member.get("person_id"), str):
            found.add(member["person_id"])
    for person in content.get("recipients") or ():
        if isinstance(person, str):
            found.add(person)
    for key in ("chair_person_id", "person_id"):
        if isinstance(content.get(key), str):
            found.add(content[key])
    return {p for p in found if 0 < len(p) <= 64}


def _backfill():
    """Search aids of records archived before this migration (frozen copy of the rule)."""
    conn = op.get_bind()
    rows = conn.execute(sa.text("SELECT id, org_id, content FROM records")).all()
    for record_id, org_id, text in rows:
        try:
            content = json.loads(text)
        except (TypeError, ValueError):
            continue
        if not isinstance(content, dict):
            continue
        meeting = content.get("meeting_id")
        if isinstance(meeting, str) and 0 < len(meeting) <= 64:
            conn.execute(sa.text("UPDATE records SET meeting_id = :m WHERE id = :i"), {"m": meeting, "i": record_id})
        for person in sorted(_persons(content)):
            conn.execute(sa.text("INSERT INTO record_persons (record_id, person_id, org_id) VALUES (:r, :p, :o)"),
                         {"r": record_id, "p": person, "o": org_id})


def upgrade():
    with op.batch_alter_table("records") as batch:
        batch.add_column(sa.Column("meeting_id", sa.String(64), nullable=True))
        batch.add_column(sa.Column("reason", sa.Text, nullable=True))
        batch.add_column(sa.Column("recorded_by", sa.String(64), nullable=True))
    op.create_index("ix_records_meeting_id", "records", ["meeting_id"])
    op.create_index("uq_records_corrects", "records", ["corrects"], unique=True)
    op.create_index("ix_records_org_created", "records", ["org_id", "created_at"])
    op.create_table(
        "record_persons",
        sa.Column("record_id", sa.String(36), primary_key=True),
        sa.Column("person_id", sa.String(64), primary_key=True),
        sa.Column("org_id", sa.String(64), nullable=False),
    )
    op.create_index("ix_record_persons_org_person", "record_persons", ["org_id", "person_id"])
    op.create_table(
        "hash_settings",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("org_id", sa.String(64), nullable=False),
        sa.Column("algorithm", sa.String(20), nullable=False),
        sa.Column("set_by", sa.String(64), nullable=False),
        sa.Column("set_at", UTCDateTime, nullable=False),
    )
    op.create_index("ix_hash_settings_org_id", "hash_settings", ["org_id"])
    op.create_table(
        "signing_keys",
        sa.Column("key_id", sa.String(40), primary_key=True),
        sa.Column("private_key", sa.Text, nullable=False),
        sa.Column("public_key", sa.String(64), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
    )
    op.create_table(
        "checkpoints",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("org_id", sa.String(64), nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("head_hash", sa.String(64), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("signature", sa.String(120), nullable=False),
        sa.Column("public_key", sa.String(64), nullable=False),
        sa.Column("algorithm", sa.String(20), nullable=False),
        sa.Column("signed_by", sa.String(64), nullable=False),
        sa.UniqueConstraint("org_id", "seq", name="uq_checkpoints_org_seq"),
    )
    op.create_table(
        "read_log",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", UTCDateTime, nullable=False),
        sa.Column("person_id", sa.String(64), nullable=False),
        sa.Column("actor_org_id", sa.String(64), nullable=True),
        sa.Column("roles", sa.String(400), nullable=False),
        sa.Column("org_id", sa.String(64), nullable=False),
        sa.Column("record_id", sa.String(36), nullable=False),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("granted", sa.Boolean, nullable=False),
    )
    op.create_index("ix_read_log_org_id", "read_log", ["org_id", "id"])
    _backfill()


def downgrade():
    op.drop_index("ix_read_log_org_id", "read_log")
    op.drop_table("read_log")
    op.drop_table("checkpoints")
    op.drop_table("signing_keys")
    op.drop_index("ix_hash_settings_org_id", "hash_settings")
    op.drop_table("hash_settings")
    op.drop_index("ix_record_persons_org_person", "record_persons")
    op.drop_table("record_persons")
    op.drop_index("ix_records_org_created", "records")
    op.drop_index("uq_records_corrects", "records")
    op.drop_index("ix_records_meeting_id", "records")
    with op.batch_alter_table("records") as batch:
        batch.drop_column("recorded_by")
        batch.drop_column("reason")
        batch.drop_column("meeting_id")
