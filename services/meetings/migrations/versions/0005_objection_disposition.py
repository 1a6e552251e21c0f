"""meetings: the chair's disposition of an objection (M5)

Revision ID: 0005
Revises: idem0003
Create Date: 2026-12-03
"""
import sqlalchemy as sa
from alembic import op

from shared.db import UTCDateTime

revision = "0005"
down_revision = "idem0003"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("objections") as batch:
        batch.add_column(sa.Column("disposition", sa.String(20), nullable=True))
        batch.add_column(sa.Column("reply", sa.Text, nullable=True))
        batch.add_column(sa.Column("disposed_by", sa.String(36), nullable=True))
        batch.add_column(sa.Column("disposed_at", UTCDateTime, nullable=True))


def downgrade():
    with op.batch_alter_table("objections") as batch:
        for column in ("disposed_at", "disposed_by", "reply", "disposition"):
            batch.drop_column(column)
