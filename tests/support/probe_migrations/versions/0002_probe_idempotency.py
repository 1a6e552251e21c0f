"""probe: idempotency keys in the inbox

Revision ID: p0002
Revises: p0001
"""
from shared.migration_helpers import add_idempotency_columns, drop_idempotency_columns

revision = "p0002"
down_revision = "p0001"
branch_labels = None
depends_on = None


def upgrade():
    add_idempotency_columns()


def downgrade():
    drop_idempotency_columns()
