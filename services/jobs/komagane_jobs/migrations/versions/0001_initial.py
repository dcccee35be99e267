"""Opportunities, applications, engagements, shifts, steps, skills, match proposals, まちゼミ
seminars and 地域おこし協力隊 cooperators; outbox, inbox, people replica and idempotency keys.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

from komagane_kit.migrations import create_idempotency_table, create_inbox_table, create_known_person_table, create_outbox_table

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "cooperator",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("person_id", sa.String(length=36), nullable=False),
        sa.Column("mission", sa.String(length=300), nullable=False),
        sa.Column("area", sa.String(length=100), nullable=True),
        sa.Column("term_starts_on", sa.Date(), nullable=False),
        sa.Column("term_ends_on", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("completed_on", sa.Date(), nullable=True),
        sa.Column("settled", sa.Boolean(), nullable=True),
        sa.Column("started_business", sa.Boolean(), nullable=True),
        sa.Column("lock_version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_cooperator_person_id", "cooperator", ["person_id"], unique=False)
    op.create_table(
        "opportunity",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("organisation", sa.String(length=200), nullable=False),
        sa.Column("hub_id", sa.String(length=36), nullable=True),
        sa.Column("area", sa.String(length=100), nullable=True),
        sa.Column("arrangement", sa.String(length=20), nullable=False),
        sa.Column("paid", sa.Boolean(), nullable=False),
        sa.Column("weekly_slots", sa.Text(), nullable=False),
        sa.Column("min_weekly_hours", sa.Float(), nullable=False),
        sa.Column("skills_wanted", sa.Text(), nullable=False),
        sa.Column("accommodations", sa.Text(), nullable=False),
        sa.Column("languages", sa.Text(), nullable=False),
        sa.Column("description", sa.String(length=2000), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("closed_on", sa.Date(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_opportunity_arrangement", "opportunity", ["arrangement"], unique=False)
    op.create_index("ix_opportunity_status", "opportunity", ["status"], unique=False)
    op.create_table(
        "person_skills",
        sa.Column("person_id", sa.String(length=36), nullable=False),
        sa.Column("skills", sa.Text(), nullable=False),
        sa.Column("languages", sa.Text(), nullable=False),
        sa.Column("availability", sa.Text(), nullable=False),
        sa.Column("accessibility_needs", sa.Text(), nullable=False),
        sa.Column("area", sa.String(length=100), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("person_id"),
    )
    op.create_table(
        "seminar",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("organisation", sa.String(length=200), nullable=False),
        sa.Column("instructor_person_id", sa.String(length=36), nullable=False),
        sa.Column("hub_id", sa.String(length=36), nullable=True),
        sa.Column("area", sa.String(length=100), nullable=True),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("enrolled_count", sa.Integer(), nullable=False),
        sa.Column("languages", sa.Text(), nullable=False),
        sa.Column("description", sa.String(length=2000), nullable=True),
        sa.Column("lock_version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_seminar_instructor_person_id", "seminar", ["instructor_person_id"], unique=False)
    op.create_table(
        "application",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("opportunity_id", sa.String(length=36), nullable=False),
        sa.Column("person_id", sa.String(length=36), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("message", sa.String(length=2000), nullable=True),
        sa.Column("note", sa.String(length=1000), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("decided_at", sa.DateTime(), nullable=True),
        sa.Column("lock_version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["opportunity_id"],
            ["opportunity.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("opportunity_id", "person_id", name="uq_application_opportunity_person"),
    )
    op.create_index("ix_application_opportunity_id", "application", ["opportunity_id"], unique=False)
    op.create_index("ix_application_person_id", "application", ["person_id"], unique=False)
    op.create_table(
        "match_proposal",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("person_id", sa.String(length=36), nullable=False),
        sa.Column("opportunity_id", sa.String(length=36), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("staff_id", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["opportunity_id"],
            ["opportunity.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_match_proposal_person_id", "match_proposal", ["person_id"], unique=False)
    op.create_table(
        "seminar_enrollment",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("seminar_id", sa.String(length=36), nullable=False),
        sa.Column("person_id", sa.String(length=36), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["seminar_id"],
            ["seminar.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("seminar_id", "person_id", name="uq_enrollment_seminar_person"),
    )
    op.create_index("ix_seminar_enrollment_seminar_id", "seminar_enrollment", ["seminar_id"], unique=False)
    op.create_table(
        "seminar_session",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("seminar_id", sa.String(length=36), nullable=False),
        sa.Column("held_on", sa.Date(), nullable=False),
        sa.Column("hours", sa.Float(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["seminar_id"],
            ["seminar.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_seminar_session_seminar_id", "seminar_session", ["seminar_id"], unique=False)
    op.create_table(
        "engagement",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("opportunity_id", sa.String(length=36), nullable=False),
        sa.Column("person_id", sa.String(length=36), nullable=False),
        sa.Column("application_id", sa.String(length=36), nullable=True),
        sa.Column("arrangement", sa.String(length=20), nullable=False),
        sa.Column("paid", sa.Boolean(), nullable=False),
        sa.Column("hub_id", sa.String(length=36), nullable=True),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("ended_on", sa.Date(), nullable=True),
        sa.Column("end_reason", sa.String(length=20), nullable=True),
        sa.Column("lock_version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["application.id"],
        ),
        sa.ForeignKeyConstraint(
            ["opportunity_id"],
            ["opportunity.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_engagement_opportunity_id", "engagement", ["opportunity_id"], unique=False)
    op.create_index("ix_engagement_person_id", "engagement", ["person_id"], unique=False)
    op.create_table(
        "seminar_attendance",
        sa.Column("seminar_session_id", sa.String(length=36), nullable=False),
        sa.Column("person_id", sa.String(length=36), nullable=False),
        sa.ForeignKeyConstraint(
            ["seminar_session_id"],
            ["seminar_session.id"],
        ),
        sa.PrimaryKeyConstraint("seminar_session_id", "person_id"),
    )
    op.create_index("ix_seminar_attendance_person_id", "seminar_attendance", ["person_id"], unique=False)
    op.create_table(
        "arrangement_step",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("engagement_id", sa.String(length=36), nullable=False),
        sa.Column("from_arrangement", sa.String(length=20), nullable=False),
        sa.Column("to_arrangement", sa.String(length=20), nullable=False),
        sa.Column("stepped_on", sa.Date(), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(
            ["engagement_id"],
            ["engagement.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_arrangement_step_engagement_id", "arrangement_step", ["engagement_id"], unique=False)
    op.create_table(
        "work_shift",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("engagement_id", sa.String(length=36), nullable=False),
        sa.Column("person_id", sa.String(length=36), nullable=False),
        sa.Column("worked_on", sa.Date(), nullable=False),
        sa.Column("hours", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["engagement_id"],
            ["engagement.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_work_shift_engagement_id", "work_shift", ["engagement_id"], unique=False)
    op.create_index("ix_work_shift_person_id", "work_shift", ["person_id"], unique=False)
    create_outbox_table()
    create_inbox_table()
    create_known_person_table()
    create_idempotency_table()


def downgrade() -> None:
    for table in (
        "idempotency_key",
        "known_person",
        "inbox",
        "outbox",
        "work_shift",
        "arrangement_step",
        "seminar_attendance",
        "engagement",
        "seminar_session",
        "seminar_enrollment",
        "match_proposal",
        "application",
        "seminar",
        "person_skills",
        "opportunity",
        "cooperator",
    ):
        op.drop_table(table)
