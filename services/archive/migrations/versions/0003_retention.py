"""archive: retention period per record

A1: ``records.retention`` (permanent | 30y | 10y) is hashed with every record made
from now on.  Records made before keep NULL: their hash was computed without the
field, so they verify as they are, and their period is derived from their kind
when shown or exported (nothing hashed changes).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02
"""
import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("records") as batch:
        batch.add_column(sa.Column("retention", sa.String(20), nullable=True))


def downgrade():
    with op.batch_alter_table("records") as batch:
        batch.drop_column("retention")
