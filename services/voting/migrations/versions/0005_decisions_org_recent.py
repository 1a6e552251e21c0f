"""voting: index for keyset paging of an organization's decisions, newest first

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03
"""
import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade():
    # list_decisions: (org_id, decided_at DESC, id) is the list's order, so a page is a range scan
    op.create_index("ix_decisions_org_recent", "decisions", ["org_id", sa.text("decided_at DESC"), "id"])


def downgrade():
    op.drop_index("ix_decisions_org_recent", "decisions")
