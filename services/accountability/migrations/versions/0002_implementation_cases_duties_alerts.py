"""accountability: lifetime index (C2), implementation (C5), cases (C4), duties (C6),
meeting facts and compliance alerts (C7)

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01
"""
import sqlalchemy as sa
from alembic import op

from shared.db import JSONText, UTCDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade():
    # C2: newest-first range scan per person; the tie-breaker makes paging stable
    op.drop_index("ix_responsibility_links_person_decided", "responsibility_links")
    op.create_index("ix_responsibility_links_person_recent", "responsibility_links",
                    ["person_id", sa.text("decided_at DESC"), "decision_id"])

    op.create_table(
        "implementation_tasks",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("org_id", sa.String(64), nullable=False),
        sa.Column("decision_id", sa.String(64), sa.ForeignKey("decisions.id"), nullable=False),
        sa.Column("leader_person_id", sa.String(64), nullable=False),
        sa.Column("units", JSONText, nullable=False),
        sa.Column("deadline", sa.Date, nullable=False),
        sa.Column("important", sa.Boolean, nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("percent", sa.Integer, nullable=False),
        sa.Column("special_report_filed", sa.Boolean, nullable=False),
        sa.Column("assigned_by", sa.String(64), nullable=False),
        sa.Column("assigned_at", UTCDateTime, nullable=False),
        sa.Column("closed_at", UTCDateTime, nullable=True),
    )
    op.create_index("ix_implementation_tasks_org_id", "implementation_tasks", ["org_id"])
    op.create_index("ix_implementation_tasks_decision_id", "implementation_tasks", ["decision_id"])
    op.create_index("ix_implementation_tasks_open_deadline", "implementation_tasks", ["state", "deadline"])

    op.create_table(
        "implementation_entries",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("task_id", sa.String(36), sa.ForeignKey("implementation_tasks.id"), nullable=False),
        sa.Column("kind", sa.String(30), nullable=False),
        sa.Column("author_person_id", sa.String(64), nullable=False),
        sa.Column("content", JSONText, nullable=False),
        sa.Column("at", UTCDateTime, nullable=False),
    )
    op.create_index("ix_implementation_entries_task_id", "implementation_entries", ["task_id"])

    op.create_table(
        "implementation_overdue",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("task_id", sa.String(36), sa.ForeignKey("implementation_tasks.id"), nullable=False),
        sa.Column("deadline", sa.Date, nullable=False),
        sa.Column("detected_at", UTCDateTime, nullable=False),
        sa.UniqueConstraint("task_id", "deadline", name="uq_implementation_overdue_task_deadline"),
    )

    op.create_table(
        "cases",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("org_id", sa.String(64), nullable=False),
        sa.Column("trigger", sa.Integer, nullable=False),
        sa.Column("decision_id", sa.String(64), sa.ForeignKey("decisions.id"), nullable=True),
        sa.Column("person_id", sa.String(64), nullable=True),
        sa.Column("summary", sa.Text, nullable=False),
        sa.Column("major_error", sa.Boolean, nullable=False),
        sa.Column("group_broke_rules", sa.Boolean, nullable=False),
        sa.Column("secretary_person_id", sa.String(64), nullable=True),
        sa.Column("proposals", JSONText, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("outcomes", JSONText, nullable=True),
        sa.Column("note", sa.Text, nullable=True),
        sa.Column("opened_by", sa.String(64), nullable=False),
        sa.Column("opened_at", UTCDateTime, nullable=False),
        sa.Column("concluded_by", sa.String(64), nullable=True),
        sa.Column("concluded_at", UTCDateTime, nullable=True),
    )
    op.create_index("ix_cases_org_id", "cases", ["org_id"])

    op.create_table(
        "duties",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("org_id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("person_id", sa.String(64), nullable=True),
        sa.Column("year", sa.Integer, nullable=False),
        sa.Column("due_date", sa.Date, nullable=False),
        sa.Column("document_ref", sa.String(300), nullable=True),
        sa.Column("filed_at", UTCDateTime, nullable=True),
        sa.Column("filed_by", sa.String(64), nullable=True),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
    )
    op.create_index("ix_duties_org_year", "duties", ["org_id", "year"])

    op.create_table(
        "meeting_facts",
        sa.Column("meeting_id", sa.String(64), primary_key=True),
        sa.Column("org_id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(30), nullable=True),
        sa.Column("title", sa.String(300), nullable=True),
        sa.Column("scheduled_at", UTCDateTime, nullable=True),
        sa.Column("noticed_at", UTCDateTime, nullable=True),
        sa.Column("opened_at", UTCDateTime, nullable=True),
        sa.Column("n", sa.Integer, nullable=True),
        sa.Column("present", sa.Integer, nullable=True),
    )
    op.create_index("ix_meeting_facts_org_id", "meeting_facts", ["org_id"])

    op.create_table(
        "compliance_alerts",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("org_id", sa.String(64), nullable=False),
        sa.Column("rule", sa.String(10), nullable=False),
        sa.Column("subject_type", sa.String(40), nullable=False),
        sa.Column("subject_id", sa.String(120), nullable=False),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("raised_at", UTCDateTime, nullable=False),
        sa.Column("acknowledged_at", UTCDateTime, nullable=True),
        sa.Column("acknowledged_by", sa.String(64), nullable=True),
        sa.Column("acknowledgement_note", sa.Text, nullable=True),
        sa.UniqueConstraint("org_id", "rule", "subject_type", "subject_id", name="uq_compliance_alerts_subject"),
    )
    op.create_index("ix_compliance_alerts_org_raised", "compliance_alerts", ["org_id", "raised_at"])


def downgrade():
    op.drop_index("ix_compliance_alerts_org_raised", "compliance_alerts")
    op.drop_table("compliance_alerts")
    op.drop_index("ix_meeting_facts_org_id", "meeting_facts")
    op.drop_table("meeting_facts")
    op.drop_index("ix_duties_org_year", "duties")
    op.drop_table("duties")
    op.drop_index("ix_cases_org_id", "cases")
    op.drop_table("cases")
    op.drop_table("implementation_overdue")
    op.drop_index("ix_implementation_entries_task_id", "implementation_entries")
    op.drop_table("implementation_entries")
    op.drop_index("ix_implementation_tasks_open_deadline", "implementation_tasks")
    op.drop_index("ix_implementation_tasks_decision_id", "implementation_tasks")
    op.drop_index("ix_implementation_tasks_org_id", "implementation_tasks")
    op.drop_table("implementation_tasks")
    op.drop_index("ix_responsibility_links_person_recent", "responsibility_links")
    op.create_index("ix_responsibility_links_person_decided", "responsibility_links",
                    ["person_id", "decided_at"])
