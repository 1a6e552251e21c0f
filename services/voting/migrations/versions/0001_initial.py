"""voting: ballots, electorate, participation roll, open votes, secret ballot box, decisions, outbox/inbox

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
        "ballots",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("org_id", sa.String(64), nullable=False, index=True),
        sa.Column("meeting_id", sa.String(64), nullable=False, index=True),
        sa.Column("agenda_item_id", sa.String(64), nullable=False, index=True),
        sa.Column("open_item_id", sa.String(64), nullable=True, unique=True),   # V4
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("category", sa.String(40), nullable=False),
        sa.Column("method", sa.String(20), nullable=False),
        sa.Column("emergency", sa.Boolean, nullable=False),
        sa.Column("chair_person_id", sa.String(64), nullable=False),
        sa.Column("n", sa.Integer, nullable=False),
        sa.Column("present", sa.Integer, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("opened_by", sa.String(64), nullable=False),
        sa.Column("opened_at", UTCDateTime, nullable=False),
        sa.Column("closed_at", UTCDateTime, nullable=True),
    )
    op.create_table(
        "electorate",
        sa.Column("ballot_id", sa.String(36), sa.ForeignKey("ballots.id"), primary_key=True),
        sa.Column("person_id", sa.String(64), primary_key=True),
        sa.Column("role", sa.String(40), nullable=False),
        sa.Column("presence", sa.String(20), nullable=False),
        sa.Column("written_opinion", sa.Text, nullable=True),
    )
    op.create_table(
        "participations",
        sa.Column("ballot_id", sa.String(36), sa.ForeignKey("ballots.id"), primary_key=True),
        sa.Column("person_id", sa.String(64), primary_key=True),
        sa.Column("reserved_opinion", sa.Text, nullable=True),
    )
    op.create_table(
        "open_votes",
        sa.Column("ballot_id", sa.String(36), sa.ForeignKey("ballots.id"), primary_key=True),
        sa.Column("person_id", sa.String(64), primary_key=True),
        sa.Column("choice", sa.String(10), nullable=False),
    )
    # V8: random key, no timestamp, no row id
    op.create_table(
        "ballot_box",
        sa.Column("id", sa.String(36), primary_key=True, autoincrement=False),
        sa.Column("ballot_id", sa.String(36), sa.ForeignKey("ballots.id"), nullable=False, index=True),
        sa.Column("choice", sa.String(10), nullable=False),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "decisions",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("ballot_id", sa.String(36), sa.ForeignKey("ballots.id"), nullable=False, unique=True),
        sa.Column("org_id", sa.String(64), nullable=False, index=True),
        sa.Column("meeting_id", sa.String(64), nullable=False, index=True),
        sa.Column("agenda_item_id", sa.String(64), nullable=False, index=True),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("category", sa.String(40), nullable=False),
        sa.Column("method", sa.String(20), nullable=False),
        sa.Column("emergency", sa.Boolean, nullable=False),
        sa.Column("n", sa.Integer, nullable=False),
        sa.Column("present", sa.Integer, nullable=False),
        sa.Column("yes", sa.Integer, nullable=False),
        sa.Column("no", sa.Integer, nullable=False),
        sa.Column("abstain", sa.Integer, nullable=False),
        sa.Column("threshold", sa.Integer, nullable=False),
        sa.Column("outcome", sa.String(20), nullable=False),
        sa.Column("superseded_decision_id", sa.String(36), nullable=True),
        sa.Column("explanation", sa.Text, nullable=False),
        sa.Column("decided_at", UTCDateTime, nullable=False),
    )
    create_messaging_tables()


def downgrade():
    drop_messaging_tables()
    for table in ("decisions", "ballot_box", "open_votes", "participations", "electorate", "ballots"):
        op.drop_table(table)
