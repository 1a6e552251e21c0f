"""meetings: topics from suggestion to agenda (M3), materials, objections (M5), leave (M9),
provisional handling (M6), observers (M7), arrivals/departures (M8), lifecycle history,
minutes and documents (M10), compliance findings (M2, M11), democratic life steps (M11)

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29
"""
import sqlalchemy as sa
from alembic import op

from shared.db import JSONText, UTCDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade():
    # meetings: plain added columns (no table copy on SQLite: other tables reference it)
    op.add_column("meetings", sa.Column("closed_at", UTCDateTime, nullable=True))
    op.add_column("meetings", sa.Column("cancelled_at", UTCDateTime, nullable=True))
    op.add_column("meetings", sa.Column("cancel_reason", sa.Text, nullable=True))
    op.add_column("meetings", sa.Column("theme", sa.String(300), nullable=True))
    op.add_column("attendance", sa.Column("arrived_at", UTCDateTime, nullable=True))
    op.add_column("attendance", sa.Column("departed_at", UTCDateTime, nullable=True))

    # topics: a suggested topic has no meeting yet (the table is copied on SQLite; nothing references it yet)
    with op.batch_alter_table("topics") as batch:
        batch.alter_column("meeting_id", existing_type=sa.String(36), nullable=True)
        batch.add_column(sa.Column("status", sa.String(20), nullable=False, server_default="accepted"))
        batch.add_column(sa.Column("description", sa.Text, nullable=True))
        batch.add_column(sa.Column("broad", sa.Boolean, nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("prepared_by", sa.String(20), nullable=False, server_default="office"))
        batch.add_column(sa.Column("candidate_person_id", sa.String(36), nullable=True))
        batch.add_column(sa.Column("subordinate_org", sa.String(200), nullable=True))
        batch.add_column(sa.Column("precoordination", JSONText, nullable=True))
        batch.add_column(sa.Column("preparation", JSONText, nullable=True))
        batch.add_column(sa.Column("decided_by", sa.String(36), nullable=True))
        batch.add_column(sa.Column("decided_at", UTCDateTime, nullable=True))
        batch.add_column(sa.Column("decision_reason", sa.Text, nullable=True))
        batch.add_column(sa.Column("provisional_handling_id", sa.String(36), nullable=True))
    op.execute("UPDATE topics SET prepared_by = 'hr' WHERE category = 'personnel'")

    op.create_table(
        "materials",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("topic_id", sa.String(36), sa.ForeignKey("topics.id"), nullable=False, index=True),
        sa.Column("org_id", sa.String(36), nullable=False, index=True),
        sa.Column("filename", sa.String(255), nullable=False),
        sa.Column("content_type", sa.String(120), nullable=False),
        sa.Column("size", sa.Integer, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("content", sa.LargeBinary, nullable=False),
        sa.Column("uploaded_by", sa.String(36), nullable=False),
        sa.Column("prepared_as", sa.String(20), nullable=False),
        sa.Column("uploaded_at", UTCDateTime, nullable=False),
    )
    op.create_table(
        "meeting_events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("meeting_id", sa.String(36), sa.ForeignKey("meetings.id"), nullable=False, index=True),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("from_status", sa.String(20), nullable=True),
        sa.Column("to_status", sa.String(20), nullable=True),
        sa.Column("actor_person_id", sa.String(64), nullable=False),
        sa.Column("at", UTCDateTime, nullable=False),
        sa.Column("reason", sa.Text, nullable=True),
        sa.Column("data", JSONText, nullable=True),
    )
    op.create_table(
        "objections",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("meeting_id", sa.String(36), sa.ForeignKey("meetings.id"), nullable=False, index=True),
        sa.Column("topic_id", sa.String(36), nullable=True),
        sa.Column("person_id", sa.String(36), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("raised_at", UTCDateTime, nullable=False),
    )
    op.create_table(
        "leave_requests",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("meeting_id", sa.String(36), sa.ForeignKey("meetings.id"), nullable=False, index=True),
        sa.Column("person_id", sa.String(36), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("opinions", JSONText, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("requested_at", UTCDateTime, nullable=False),
        sa.Column("decided_by", sa.String(36), nullable=True),
        sa.Column("decided_at", UTCDateTime, nullable=True),
        sa.Column("decision_reason", sa.Text, nullable=True),
    )
    op.create_table(
        "provisional_handlings",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("org_id", sa.String(36), sa.ForeignKey("organizations.id"), nullable=False, index=True),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("handled_by", sa.String(36), nullable=False),
        sa.Column("approved_by", sa.String(36), nullable=False),
        sa.Column("recorded_at", UTCDateTime, nullable=False),
        sa.Column("topic_id", sa.String(36), nullable=True),
        sa.Column("reported_meeting_id", sa.String(36), nullable=True),
        sa.Column("reported_at", UTCDateTime, nullable=True),
    )
    op.create_table(
        "meeting_observers",
        sa.Column("meeting_id", sa.String(36), sa.ForeignKey("meetings.id"), primary_key=True),
        sa.Column("person_id", sa.String(36), primary_key=True),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("invited_by", sa.String(36), nullable=False),
        sa.Column("invited_at", UTCDateTime, nullable=False),
    )
    op.create_table(
        "minutes",
        sa.Column("meeting_id", sa.String(36), sa.ForeignKey("meetings.id"), primary_key=True),
        sa.Column("id", sa.String(36), nullable=False, unique=True),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("recorded_by", sa.String(36), nullable=False),
        sa.Column("recorded_at", UTCDateTime, nullable=False),
        sa.Column("approved_by", sa.String(36), nullable=True),
        sa.Column("approved_at", UTCDateTime, nullable=True),
    )
    op.create_table(
        "documents",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("meeting_id", sa.String(36), sa.ForeignKey("meetings.id"), nullable=False, index=True),
        sa.Column("org_id", sa.String(36), nullable=False, index=True),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("scope", JSONText, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("created_by", sa.String(36), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("signed_off_by", sa.String(36), nullable=True),
        sa.Column("signed_off_at", UTCDateTime, nullable=True),
    )
    op.create_table(
        "compliance_findings",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("org_id", sa.String(36), nullable=False),
        sa.Column("period", sa.String(7), nullable=False),
        sa.Column("rule", sa.String(8), nullable=False),
        sa.Column("detected_at", UTCDateTime, nullable=False),
        sa.UniqueConstraint("org_id", "period", "rule", name="uq_compliance_org_period_rule"),
    )
    op.create_table(
        "democratic_life",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("meeting_id", sa.String(36), sa.ForeignKey("meetings.id"), nullable=False, index=True),
        sa.Column("step", sa.String(30), nullable=False),
        sa.Column("person_id", sa.String(36), nullable=True),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("data", JSONText, nullable=True),
        sa.Column("recorded_by", sa.String(36), nullable=False),
        sa.Column("recorded_at", UTCDateTime, nullable=False),
        sa.Column("completed_at", UTCDateTime, nullable=True),
        sa.Column("completion", sa.Text, nullable=True),
    )


def downgrade():
    for table in ("democratic_life", "compliance_findings", "documents", "minutes", "meeting_observers",
                  "provisional_handlings", "leave_requests", "objections", "meeting_events", "materials"):
        op.drop_table(table)
    op.execute("DELETE FROM topics WHERE meeting_id IS NULL")
    with op.batch_alter_table("topics") as batch:
        for column in ("provisional_handling_id", "decision_reason", "decided_at", "decided_by", "preparation",
                       "precoordination", "subordinate_org", "candidate_person_id", "prepared_by", "broad",
                       "description", "status"):
            batch.drop_column(column)
        batch.alter_column("meeting_id", existing_type=sa.String(36), nullable=False)
    for column in ("departed_at", "arrived_at"):
        op.drop_column("attendance", column)
    for column in ("theme", "cancel_reason", "cancelled_at", "closed_at"):
        op.drop_column("meetings", column)
