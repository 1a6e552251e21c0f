"""voting: secret choices sealed at rest (V8): the box keeps a ciphertext, the ballot its key's id

Revision ID: 0006
Revises: 0005
Create Date: 2027-01-15

A box entry written from now on holds only a Paillier ciphertext (``sealed``); ``choice``
becomes nullable and stays set only on entries an earlier version wrote in clear: their
ballot still closes (plain and sealed entries are counted together) and its close rewrites
the box sealed.  The key is in a file, not in the database, so this migration cannot seal
them itself.
"""
import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("ballots", sa.Column("box_key", sa.String(16), nullable=True))
    # SQLite rebuilds the table: keep it WITHOUT ROWID (no insertion sequence, V8)
    with op.batch_alter_table("ballot_box", table_kwargs={"sqlite_with_rowid": False}) as batch:
        batch.alter_column("choice", existing_type=sa.String(10), nullable=True)
        batch.add_column(sa.Column("sealed", sa.Text, nullable=True))


def downgrade():
    bind = op.get_bind()
    if bind.execute(sa.text("SELECT count(*) FROM ballot_box WHERE sealed IS NOT NULL")).scalar():
        raise RuntimeError("voting 0005: the ballot box holds sealed entries, which the earlier schema "
                           "cannot hold; restore the backup taken before the upgrade instead")
    with op.batch_alter_table("ballot_box", table_kwargs={"sqlite_with_rowid": False}) as batch:
        batch.drop_column("sealed")
        batch.alter_column("choice", existing_type=sa.String(10), nullable=False)
    with op.batch_alter_table("ballots") as batch:
        batch.drop_column("box_key")
