"""notifications: e-mail and webhook channels, tracked deliveries, preferences, reminders

N2: every delivery (inbox, e-mail, webhook) is a row, unique per (source event,
recipient, channel), with a log of attempts; M5: acknowledgement of receipt of
a meeting notice; N1: the latest notice of each meeting for the objection
deadline reminder.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28
"""
import sqlalchemy as sa
from alembic import op

from shared.db import UTCDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("notifications") as batch:
        batch.add_column(sa.Column("ref_id", sa.String(64), nullable=True))
        batch.add_column(sa.Column("acknowledged_at", UTCDateTime, nullable=True))

    op.create_table(
        "deliveries",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("org_id", sa.String(64), nullable=False),
        sa.Column("source_event_id", sa.String(36), nullable=False),
        sa.Column("channel", sa.String(20), nullable=False),
        sa.Column("recipient", sa.String(64), nullable=False),
        sa.Column("person_id", sa.String(64), nullable=True),
        sa.Column("webhook_id", sa.String(36), nullable=True),
        sa.Column("notification_id", sa.String(36), nullable=True),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("payload", sa.Text, nullable=True),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt_at", UTCDateTime, nullable=True),
        sa.Column("claimed_by", sa.String(64), nullable=True),
        sa.Column("claimed_at", UTCDateTime, nullable=True),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("sent_at", UTCDateTime, nullable=True),
        sa.Column("last_error", sa.Text, nullable=True),
        sa.UniqueConstraint("source_event_id", "recipient", "channel",
                            name="uq_deliveries_event_recipient_channel"),
    )
    op.create_index("ix_deliveries_due", "deliveries", ["status", "next_attempt_at"])
    op.create_index("ix_deliveries_org", "deliveries", ["org_id", "created_at"])

    op.create_table(
        "delivery_attempts",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("delivery_id", sa.String(36), nullable=False),
        sa.Column("attempt", sa.Integer, nullable=False),
        sa.Column("at", UTCDateTime, nullable=False),
        sa.Column("ok", sa.Boolean, nullable=False),
        sa.Column("status_code", sa.Integer, nullable=True),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("duration_ms", sa.Integer, nullable=False),
    )
    op.create_index("ix_delivery_attempts_delivery", "delivery_attempts", ["delivery_id", "attempt"])

    op.create_table(
        "recipients",
        sa.Column("person_id", sa.String(64), primary_key=True),
        sa.Column("email", sa.String(254), nullable=True),
        sa.Column("language", sa.String(10), nullable=False),
        sa.Column("email_on", sa.Boolean, nullable=False),
        sa.Column("inbox_on", sa.Boolean, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
    )

    op.create_table(
        "webhooks",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("org_id", sa.String(64), nullable=False),
        sa.Column("url", sa.String(2000), nullable=False),
        sa.Column("event_types", sa.Text, nullable=False),
        sa.Column("secret", sa.String(200), nullable=False),
        sa.Column("description", sa.String(200), nullable=True),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
    )
    op.create_index("ix_webhooks_org", "webhooks", ["org_id", "active"])

    op.create_table(
        "meeting_reminders",
        sa.Column("meeting_id", sa.String(64), primary_key=True),
        sa.Column("org_id", sa.String(64), nullable=False),
        sa.Column("notice_event_id", sa.String(36), nullable=False),
        sa.Column("noticed_at", UTCDateTime, nullable=True),
        sa.Column("data", sa.Text, nullable=False),
        sa.Column("objection_deadline", UTCDateTime, nullable=False),
        sa.Column("due_at", UTCDateTime, nullable=False),
        sa.Column("sent_at", UTCDateTime, nullable=True),
    )
    op.create_index("ix_meeting_reminders_due", "meeting_reminders", ["sent_at", "due_at"])


def downgrade():
    op.drop_index("ix_meeting_reminders_due", "meeting_reminders")
    op.drop_table("meeting_reminders")
    op.drop_index("ix_webhooks_org", "webhooks")
    op.drop_table("webhooks")
    op.drop_table("recipients")
    op.drop_index("ix_delivery_attempts_delivery", "delivery_attempts")
    op.drop_table("delivery_attempts")
    op.drop_index("ix_deliveries_org", "deliveries")
    op.drop_index("ix_deliveries_due", "deliveries")
    op.drop_table("deliveries")
    with op.batch_alter_table("notifications") as batch:
        batch.drop_column("acknowledged_at")
        batch.drop_column("ref_id")
