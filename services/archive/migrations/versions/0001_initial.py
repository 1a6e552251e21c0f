"""archive: records (hash chain), chain heads, outbox/inbox

Revision ID: 0001
Revises:
Create Date: 2026-11-28
"""
import sqlalchemy as sa
from alembic import op

from shared.db import JSONText, UTCDateTime
from shared.migration_helpers import create_messaging_tables, drop_messaging_tables

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "records",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("org_id", sa.String(64), nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("subject_id", sa.String(64), nullable=True),
        sa.Column("source_event_id", sa.String(36), nullable=False),
        sa.Column("classification", sa.String(20), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("content", JSONText, nullable=False),
        sa.Column("corrects", sa.String(36), nullable=True),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("algorithm", sa.String(20), nullable=False),
        sa.UniqueConstraint("org_id", "seq", name="uq_records_org_seq"),
        sa.UniqueConstraint("source_event_id", name="uq_records_source_event_id"),
    )
    op.create_index("ix_records_subject_id", "records", ["subject_id"])
    op.create_table(
        "chain_heads",
        sa.Column("org_id", sa.String(64), primary_key=True),
        sa.Column("last_seq", sa.Integer, nullable=False),
        sa.Column("last_hash", sa.String(64), nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
    )
    create_messaging_tables()


def downgrade():
    drop_messaging_tables()
    op.drop_table("chain_heads")
    op.drop_index("ix_records_subject_id", "records")
    op.drop_table("records")
