"""voting: chair-recorded votes (V2), personnel candidate (V4), deferral, re-vote and policy (V5),
reserved opinions after the decision (V6), reconsideration links (V7)

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02
"""
import sqlalchemy as sa
from alembic import op

from shared.db import UTCDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

BALLOT_COLUMNS = (
    ("candidate_person_id", sa.String(64)),        # V4
    ("previous_ballot_id", sa.String(36)),         # V5
    ("reconsiders_decision_id", sa.String(36)),    # V7
    ("open_reconsideration_of", sa.String(36)),    # V7
    ("reconsideration_reason", sa.Text()),         # V7
    ("disagreement_ratio", sa.String(16)),         # V5
    ("count_yes", sa.Integer()),                   # V2
    ("count_no", sa.Integer()),
    ("count_abstain", sa.Integer()),
    ("counts_recorded_by", sa.String(64)),
)
DECISION_COLUMNS = (
    ("candidate_person_id", sa.String(64)),        # V4
    ("previous_ballot_id", sa.String(36)),         # V5
    ("reconsidered_decision_id", sa.String(36)),   # V7
    ("superseded_by", sa.String(36)),              # V7
    ("superseded_at", UTCDateTime()),
    ("confirm_reason", sa.Text()),                 # V5
    ("deferred_reason", sa.Text()),                # V5
)


def upgrade():
    for name, type_ in BALLOT_COLUMNS:
        op.add_column("ballots", sa.Column(name, type_, nullable=True))
    op.create_index("ix_ballots_previous_ballot_id", "ballots", ["previous_ballot_id"], unique=True)
    op.create_index("ix_ballots_open_reconsideration_of", "ballots", ["open_reconsideration_of"], unique=True)
    op.add_column("open_votes", sa.Column("recorded_by", sa.String(64), nullable=True))   # V2
    for name, type_ in DECISION_COLUMNS:
        op.add_column("decisions", sa.Column(name, type_, nullable=True))
    op.add_column("decisions", sa.Column("serious_disagreement", sa.Boolean(), nullable=False,
                                         server_default=sa.false()))                       # V5
    op.add_column("decisions", sa.Column("counts_only", sa.Boolean(), nullable=False,
                                         server_default=sa.false()))                       # V2
    op.create_table(
        "reserved_opinions",                                                               # V6
        sa.Column("decision_id", sa.String(36), sa.ForeignKey("decisions.id"), primary_key=True),
        sa.Column("person_id", sa.String(64), primary_key=True),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("recorded_at", UTCDateTime, nullable=False),
    )
    op.create_table(
        "policies",                                                                        # V5
        sa.Column("org_id", sa.String(64), primary_key=True),
        sa.Column("disagreement_ratio", sa.String(16), nullable=False),
        sa.Column("updated_by", sa.String(64), nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
    )


def downgrade():
    op.drop_table("policies")
    op.drop_table("reserved_opinions")
    with op.batch_alter_table("decisions") as batch:
        for name in ("counts_only", "serious_disagreement") + tuple(n for n, _ in reversed(DECISION_COLUMNS)):
            batch.drop_column(name)
    with op.batch_alter_table("open_votes") as batch:
        batch.drop_column("recorded_by")
    op.drop_index("ix_ballots_open_reconsideration_of", "ballots")
    op.drop_index("ix_ballots_previous_ballot_id", "ballots")
    with op.batch_alter_table("ballots") as batch:
        for name, _ in reversed(BALLOT_COLUMNS):
            batch.drop_column(name)
