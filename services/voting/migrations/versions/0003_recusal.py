"""voting: recusal (回避) of an item's candidate and of members who declare a conflict (V4)

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
    op.add_column("electorate", sa.Column("recused", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.create_table(
        "conflict_declarations",
        sa.Column("agenda_item_id", sa.String(64), primary_key=True),
        sa.Column("person_id", sa.String(64), primary_key=True),
        sa.Column("org_id", sa.String(64), nullable=False),
        sa.Column("meeting_id", sa.String(64), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("declared_at", UTCDateTime, nullable=False),
    )


def downgrade():
    op.drop_table("conflict_declarations")
    with op.batch_alter_table("electorate") as batch:
        batch.drop_column("recused")
