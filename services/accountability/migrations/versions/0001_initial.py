"""accountability: decisions, responsibility links, outbox/inbox

Revision ID: 0001
Revises:
Create Date: 2026-11-28
"""
import sqlalchemy as sa
from alembic import op

from shared.db import UTCDateTime
from shared.migration_helpers import create_messaging_tables, drop_messaging_tables

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "decisions",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("org_id", sa.String(64), nullable=False, index=True),
        sa.Column("meeting_id", sa.String(64), nullable=False, index=True),
        sa.Column("ballot_id", sa.String(64), nullable=True),
        sa.Column("agenda_item_id", sa.String(64), nullable=True),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("category", sa.String(40), nullable=False),
        sa.Column("method", sa.String(20), nullable=False),
        sa.Column("emergency", sa.Boolean, nullable=False),
        sa.Column("outcome", sa.String(20), nullable=False),
        sa.Column("n", sa.Integer, nullable=False),
        sa.Column("present", sa.Integer, nullable=False),
        sa.Column("yes", sa.Integer, nullable=False),
        sa.Column("no", sa.Integer, nullable=False),
        sa.Column("abstain", sa.Integer, nullable=False),
        sa.Column("superseded_decision_id", sa.String(64), nullable=True),
        sa.Column("decided_at", UTCDateTime, nullable=False),
        sa.Column("source_event_id", sa.String(36), nullable=False),
        sa.Column("recorded_at", UTCDateTime, nullable=False),
    )
    op.create_table(
        "responsibility_links",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("decision_id", sa.String(64), sa.ForeignKey("decisions.id"), nullable=False),
        sa.Column("person_id", sa.String(64), nullable=False),
        sa.Column("org_id", sa.String(64), nullable=False),
        sa.Column("presence", sa.String(20), nullable=False),
        sa.Column("stance", sa.String(20), nullable=True),
        sa.Column("voted", sa.Boolean, nullable=False),
        sa.Column("reserved_opinion", sa.Text, nullable=True),
        sa.Column("written_opinion", sa.Text, nullable=True),
        sa.Column("participant", sa.Boolean, nullable=False),
        sa.Column("decided_at", UTCDateTime, nullable=False),
        sa.UniqueConstraint("decision_id", "person_id", name="uq_responsibility_links_decision_person"),
    )
    op.create_index("ix_responsibility_links_person_decided", "responsibility_links",
                    ["person_id", "decided_at"])
    create_messaging_tables()


def downgrade():
    drop_messaging_tables()
    op.drop_index("ix_responsibility_links_person_decided", "responsibility_links")
    op.drop_table("responsibility_links")
    op.drop_table("decisions")
