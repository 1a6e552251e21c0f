"""gateway: one account per person, how it was bound, enrolment codes, the account audit log

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
    # accounts made before this revision keep their roles: they were made by the demo seed or by
    # the administrator under the earlier rules: "legacy" keeps them working (docs/security.md)
    with op.batch_alter_table("accounts") as batch:
        batch.add_column(sa.Column("bound_by", sa.String(20), nullable=False, server_default="legacy"))
        batch.create_unique_constraint("uq_accounts_person_id", ["person_id"])
    op.create_table(
        "enrolments",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("code_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("person_id", sa.String(64), nullable=False),
        sa.Column("org_id", sa.String(64), nullable=False),
        sa.Column("issued_by", sa.String(64), nullable=False),
        sa.Column("issued_at", UTCDateTime, nullable=False),
        sa.Column("expires_at", UTCDateTime, nullable=False),
        sa.Column("used_at", UTCDateTime, nullable=True),
        sa.Column("revoked_at", UTCDateTime, nullable=True),
        sa.Column("account_id", sa.String(36), nullable=True),
    )
    op.create_index("ix_enrolments_person_id", "enrolments", ["person_id"])
    op.create_table(
        "account_audit",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("at", UTCDateTime, nullable=False),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("person_id", sa.String(64), nullable=True),
        sa.Column("org_id", sa.String(64), nullable=True),
        sa.Column("account_id", sa.String(36), nullable=True),
        sa.Column("detail", sa.Text, nullable=True),
    )
    op.create_index("ix_account_audit_at", "account_audit", ["at"])
    op.create_index("ix_account_audit_person_id", "account_audit", ["person_id"])


def downgrade():
    op.drop_index("ix_account_audit_person_id", "account_audit")
    op.drop_index("ix_account_audit_at", "account_audit")
    op.drop_table("account_audit")
    op.drop_index("ix_enrolments_person_id", "enrolments")
    op.drop_table("enrolments")
    with op.batch_alter_table("accounts") as batch:
        batch.drop_constraint("uq_accounts_person_id", type_="unique")
        batch.drop_column("bound_by")
