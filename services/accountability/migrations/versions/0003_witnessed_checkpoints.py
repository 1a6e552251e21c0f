"""accountability: the archive's checkpoints, witnessed (A2)

``witnessed_checkpoints`` keeps every ``archive.checkpoint_signed`` received, outside the
archive's database, so that verification can refuse a chain rolled back behind, or rewritten
under, a checkpoint signed earlier.  Insert-only.

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
    op.create_table(
        "witnessed_checkpoints",
        sa.Column("org_id", sa.String(64), primary_key=True),
        sa.Column("seq", sa.Integer, primary_key=True),
        sa.Column("head_hash", sa.String(64), nullable=False),
        sa.Column("created_at", sa.String(40), nullable=False),
        sa.Column("signature", sa.String(120), nullable=False),
        sa.Column("public_key", sa.String(64), nullable=False),
        sa.Column("algorithm", sa.String(20), nullable=False),
        sa.Column("tree_root", sa.String(64), nullable=True),
        sa.Column("received_at", UTCDateTime, nullable=False),
    )


def downgrade():
    op.drop_table("witnessed_checkpoints")
