"""Pieces of the migrations every service shares (outbox and inbox tables, idempotency keys)."""
import sqlalchemy as sa
from alembic import op

from shared.db import UTCDateTime


def create_messaging_tables():
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("event_id", sa.String(36), nullable=False, unique=True),
        sa.Column("event_type", sa.String(80), nullable=False),
        sa.Column("org_id", sa.String(64), nullable=True),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("published_at", UTCDateTime, nullable=True),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("unroutable", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("last_error", sa.Text, nullable=True),
    )
    op.create_index("ix_outbox_published_at", "outbox", ["published_at"])
    op.create_table(
        "inbox",
        sa.Column("event_id", sa.String(36), primary_key=True),
        sa.Column("handler", sa.String(120), primary_key=True),
        sa.Column("processed_at", UTCDateTime, nullable=False),
    )


def drop_messaging_tables():
    op.drop_table("inbox")
    op.drop_index("ix_outbox_published_at", "outbox")
    op.drop_table("outbox")


def add_idempotency_columns():
    """The inbox keeps, for a command's idempotency key, the request's hash and its result."""
    with op.batch_alter_table("inbox") as batch:
        batch.add_column(sa.Column("request_hash", sa.String(64), nullable=True))
        batch.add_column(sa.Column("result", sa.Text, nullable=True))


def drop_idempotency_columns():
    with op.batch_alter_table("inbox") as batch:
        batch.drop_column("result")
        batch.drop_column("request_hash")
