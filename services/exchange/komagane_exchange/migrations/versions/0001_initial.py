"""Hubs, activities, sessions, reservations, attendance, groups, volunteering; outbox, inbox,
people replica and idempotency keys.

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
        "hub",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("name_ja", sa.String(length=200), nullable=False),
        sa.Column("name_en", sa.String(length=200), nullable=True),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("capabilities", sa.Text(), nullable=False),
        sa.Column("area", sa.String(length=100), nullable=False),
        sa.Column("opening_hours", sa.String(length=500), nullable=True),
        sa.Column("accessibility_notes", sa.String(length=1000), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "activity",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("hub_id", sa.String(length=36), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("category", sa.String(length=30), nullable=False),
        sa.Column("organiser_kind", sa.String(length=20), nullable=False),
        sa.Column("organiser_person_id", sa.String(length=36), nullable=True),
        sa.Column("organiser_name", sa.String(length=200), nullable=True),
        sa.Column("languages", sa.Text(), nullable=False),
        sa.Column("is_kayoinoba", sa.Boolean(), nullable=False),
        sa.Column("support_specific", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["hub_id"],
            ["hub.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "citizen_group",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=50), nullable=False),
        sa.Column("hub_id", sa.String(length=36), nullable=True),
        sa.Column("is_kayoinoba", sa.Boolean(), nullable=False),
        sa.Column("support_specific", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["hub_id"],
            ["hub.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "headcount",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("hub_id", sa.String(length=36), nullable=False),
        sa.Column("counted_on", sa.Date(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("occasion", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["hub_id"],
            ["hub.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "hub_visit",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("hub_id", sa.String(length=36), nullable=False),
        sa.Column("person_id", sa.String(length=36), nullable=False),
        sa.Column("visited_at", sa.DateTime(), nullable=False),
        sa.Column("purpose", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(
            ["hub_id"],
            ["hub.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "exchange_session",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("activity_id", sa.String(length=36), nullable=False),
        sa.Column("hub_id", sa.String(length=36), nullable=False),
        sa.Column("starts_at", sa.DateTime(), nullable=False),
        sa.Column("ends_at", sa.DateTime(), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("reserved_count", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("check_in_code", sa.String(length=12), nullable=False),
        sa.Column("lock_version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["activity_id"],
            ["activity.id"],
        ),
        sa.ForeignKeyConstraint(
            ["hub_id"],
            ["hub.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "membership",
        sa.Column("group_id", sa.String(length=36), nullable=False),
        sa.Column("person_id", sa.String(length=36), nullable=False),
        sa.Column("officer_role", sa.String(length=50), nullable=True),
        sa.Column("joined_on", sa.Date(), nullable=False),
        sa.Column("left_on", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["citizen_group.id"],
        ),
        sa.PrimaryKeyConstraint("group_id", "person_id"),
    )
    op.create_table(
        "volunteer_shift",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("person_id", sa.String(length=36), nullable=False),
        sa.Column("hub_id", sa.String(length=36), nullable=True),
        sa.Column("activity_id", sa.String(length=36), nullable=True),
        sa.Column("worked_on", sa.Date(), nullable=False),
        sa.Column("hours", sa.Float(), nullable=False),
        sa.Column("description", sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(
            ["activity_id"],
            ["activity.id"],
        ),
        sa.ForeignKeyConstraint(
            ["hub_id"],
            ["hub.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "attendance",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("session_id", sa.String(length=36), nullable=False),
        sa.Column("person_id", sa.String(length=36), nullable=False),
        sa.Column("mode", sa.String(length=20), nullable=False),
        sa.Column("attended_at", sa.DateTime(), nullable=False),
        sa.Column("recorded_by", sa.String(length=100), nullable=True),
        sa.Column("proxy_reason", sa.String(length=300), nullable=True),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["exchange_session.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("session_id", "person_id", name="uq_attendance_session_person"),
    )
    op.create_table(
        "reservation",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("session_id", sa.String(length=36), nullable=False),
        sa.Column("person_id", sa.String(length=36), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["exchange_session.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("session_id", "person_id", name="uq_reservation_session_person"),
    )
    op.create_index("ix_activity_hub_id", "activity", ["hub_id"], unique=False)
    op.create_index("ix_headcount_hub_id", "headcount", ["hub_id"], unique=False)
    op.create_index("ix_hub_visit_hub_id", "hub_visit", ["hub_id"], unique=False)
    op.create_index("ix_hub_visit_person_id", "hub_visit", ["person_id"], unique=False)
    op.create_index("ix_exchange_session_activity_id", "exchange_session", ["activity_id"], unique=False)
    op.create_index("ix_exchange_session_hub_id", "exchange_session", ["hub_id"], unique=False)
    op.create_index("ix_exchange_session_starts_at", "exchange_session", ["starts_at"], unique=False)
    op.create_index("ix_volunteer_shift_person_id", "volunteer_shift", ["person_id"], unique=False)
    op.create_index("ix_attendance_person_id", "attendance", ["person_id"], unique=False)
    op.create_index("ix_attendance_session_id", "attendance", ["session_id"], unique=False)
    op.create_index("ix_reservation_session_id", "reservation", ["session_id"], unique=False)
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
        "volunteer_shift",
        "membership",
        "attendance",
        "reservation",
        "exchange_session",
        "citizen_group",
        "activity",
        "headcount",
        "hub_visit",
        "hub",
    ):
        op.drop_table(table)
