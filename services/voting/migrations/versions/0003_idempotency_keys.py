"""idempotency keys: the inbox keeps a command's key with its request hash and result

Revision ID: idem0003
Revises: 0005
Create Date: 2026-12-02
"""
from shared.migration_helpers import add_idempotency_columns, drop_idempotency_columns

revision = "idem0003"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade():
    add_idempotency_columns()


def downgrade():
    drop_idempotency_columns()
