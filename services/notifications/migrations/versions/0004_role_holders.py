"""notifications: who holds which role, for facts addressed to a role (C7)

Revision ID: 0004
Revises: idem0003
Create Date: 2026-12-03
"""
import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "idem0003"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "role_holders",
        sa.Column("org_id", sa.String(64), primary_key=True),
        sa.Column("person_id", sa.String(64), primary_key=True),
        sa.Column("role", sa.String(40), primary_key=True),
        sa.Column("start_date", sa.Date, primary_key=True),
        sa.Column("end_date", sa.Date, nullable=True),
    )


def downgrade():
    op.drop_table("role_holders")
