"""probe tables

Revision ID: p0001
Revises:
"""
import sqlalchemy as sa
from alembic import op

from shared.migration_helpers import create_messaging_tables

revision = "p0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "effects",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("event_id", sa.String(36), nullable=False),
        sa.Column("value", sa.String(100), nullable=False),
    )
    create_messaging_tables()


def downgrade():
    op.drop_table("effects")
