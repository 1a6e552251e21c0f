"""voting: minutes approvals learnt from meetings, closing reserved opinions after the decision (V6)

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02
"""
import sqlalchemy as sa
from alembic import op

from shared.db import UTCDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "minutes_approvals",
        sa.Column("meeting_id", sa.String(64), primary_key=True),
        sa.Column("org_id", sa.String(64), nullable=False),
        sa.Column("approved_at", UTCDateTime, nullable=False),
    )


def downgrade():
    op.drop_table("minutes_approvals")
