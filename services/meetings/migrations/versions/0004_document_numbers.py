"""meetings: document issue numbers 〔year〕n号 per organization and year, given at sign-off (M10)

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03
"""
import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "document_counters",
        sa.Column("org_id", sa.String(36), primary_key=True),
        sa.Column("year", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("last", sa.Integer, nullable=False),
    )
    # documents issued before this revision keep no number: numbers are given at sign-off only
    with op.batch_alter_table("documents") as batch:
        batch.add_column(sa.Column("number_year", sa.Integer, nullable=True))
        batch.add_column(sa.Column("number_seq", sa.Integer, nullable=True))
        batch.create_unique_constraint("uq_documents_org_number", ["org_id", "number_year", "number_seq"])


def downgrade():
    with op.batch_alter_table("documents") as batch:
        batch.drop_constraint("uq_documents_org_number", type_="unique")
        batch.drop_column("number_seq")
        batch.drop_column("number_year")
    op.drop_table("document_counters")
