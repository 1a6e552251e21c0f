"""meetings: an emergency meeting's recorded reason (M6), terms ended with a reason (§二, M1, M8),
provisional handlings approved by the secretary as an action (M6)

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02
"""
import sqlalchemy as sa
from alembic import op

from shared.db import UTCDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("meetings", sa.Column("emergency_reason", sa.Text, nullable=True))
    op.add_column("appointments", sa.Column("end_reason", sa.String(40), nullable=True))
    op.add_column("appointments", sa.Column("ended_by", sa.String(36), nullable=True))
    op.add_column("appointments", sa.Column("ended_at", UTCDateTime, nullable=True))
    # handlings recorded before this revision named their approver: they stay approved
    with op.batch_alter_table("provisional_handlings") as batch:
        batch.alter_column("approved_by", existing_type=sa.String(36), nullable=True)
        batch.add_column(sa.Column("status", sa.String(20), nullable=False, server_default="approved"))
        batch.add_column(sa.Column("approved_at", UTCDateTime, nullable=True))
    op.execute("UPDATE provisional_handlings SET approved_at = recorded_at WHERE approved_at IS NULL")


def downgrade():
    with op.batch_alter_table("provisional_handlings") as batch:
        batch.drop_column("approved_at")
        batch.drop_column("status")
    op.drop_column("appointments", "ended_at")
    op.drop_column("appointments", "ended_by")
    op.drop_column("appointments", "end_reason")
    op.drop_column("meetings", "emergency_reason")
