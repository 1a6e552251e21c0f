"""accountability: deadline reminders of implementation tasks (C5)

``implementation_reminders`` keeps one row per (task, deadline) reminded, so that every
replica's sweep emits ``implementation_due_soon`` once.

Revision ID: 0004
Revises: idem0003
Create Date: 2026-12-03
"""
import sqlalchemy as sa
from alembic import op

from shared.db import UTCDateTime

revision = "0004"
down_revision = "idem0003"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "implementation_reminders",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("task_id", sa.String(36), sa.ForeignKey("implementation_tasks.id"), nullable=False),
        sa.Column("deadline", sa.Date, nullable=False),
        sa.Column("reminded_at", UTCDateTime, nullable=False),
        sa.UniqueConstraint("task_id", "deadline", name="uq_implementation_reminders_task_deadline"),
    )


def downgrade():
    op.drop_table("implementation_reminders")
