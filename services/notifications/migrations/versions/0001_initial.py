"""notifications: inbox notifications, outbox/inbox

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
        "notifications",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("org_id", sa.String(64), nullable=False),
        sa.Column("person_id", sa.String(64), nullable=False),
        sa.Column("channel", sa.String(20), nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("title", sa.String(400), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("meeting_id", sa.String(64), nullable=True),
        sa.Column("source_event_id", sa.String(36), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("read_at", UTCDateTime, nullable=True),
        sa.UniqueConstraint("source_event_id", "person_id", "channel",
                            name="uq_notifications_event_person_channel"),
    )
    op.create_index("ix_notifications_recipient", "notifications", ["person_id", "org_id", "created_at"])
    create_messaging_tables()


def downgrade():
    drop_messaging_tables()
    op.drop_index("ix_notifications_recipient", "notifications")
    op.drop_table("notifications")
