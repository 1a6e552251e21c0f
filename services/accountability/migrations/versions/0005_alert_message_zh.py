"""accountability: each compliance alert's text in Chinese too (C7)

The discipline inspector reads alerts in the Chinese interface; ``message`` stays the English
text integrators and the record have always had.  Alerts raised before this change keep only
``message`` (the pages show it).

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
    with op.batch_alter_table("compliance_alerts") as batch:
        batch.add_column(sa.Column("message_zh", sa.Text, nullable=True))


def downgrade():
    with op.batch_alter_table("compliance_alerts") as batch:
        batch.drop_column("message_zh")
