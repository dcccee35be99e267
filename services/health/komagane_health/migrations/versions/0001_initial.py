"""Health station groups and enrolments, daily activity, measurements, advice, programmes, points,
the HEALTH consent replica and the append-only audit log; outbox, inbox, people replica and
idempotency keys.

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

_APPEND_ONLY = "audit log is append-only"


def upgrade() -> None:
    op.create_table(
        "station_group",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("area", sa.String(100), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "station_enrollment",
        sa.Column("person_id", sa.String(36), primary_key=True),
        sa.Column("group_id", sa.String(36), sa.ForeignKey("station_group.id"), nullable=False, index=True),
        sa.Column("enrolled_on", sa.Date(), nullable=False),
    )
    op.create_table(
        "daily_activity",
        sa.Column("person_id", sa.String(36), primary_key=True),
        sa.Column("day", sa.Date(), primary_key=True),
        sa.Column("steps", sa.Integer(), nullable=False),
        sa.Column("brisk_walk_minutes", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "measurement",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("person_id", sa.String(36), nullable=False, index=True),
        sa.Column("kind", sa.String(30), nullable=False),
        sa.Column("measured_at", sa.DateTime(), nullable=False),
        sa.Column("weight_kg", sa.Float(), nullable=True),
        sa.Column("systolic_mmhg", sa.Integer(), nullable=True),
        sa.Column("diastolic_mmhg", sa.Integer(), nullable=True),
        sa.Column("pulse_bpm", sa.Integer(), nullable=True),
        sa.Column("body_fat_percent", sa.Float(), nullable=True),
        sa.Column("muscle_mass_kg", sa.Float(), nullable=True),
        sa.Column("recorded_by", sa.String(100), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "advice_session",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("group_id", sa.String(36), sa.ForeignKey("station_group.id"), nullable=False, index=True),
        sa.Column("held_on", sa.Date(), nullable=False),
        sa.Column("physiotherapist", sa.String(100), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "advice_record",
        sa.Column("advice_session_id", sa.String(36), sa.ForeignKey("advice_session.id"), primary_key=True),
        sa.Column("person_id", sa.String(36), primary_key=True, index=True),
        sa.Column("advice", sa.Text(), nullable=False),
    )
    op.create_table(
        "health_program",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(30), nullable=False),
        sa.Column("hub_id", sa.String(36), nullable=True),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("completion_points", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "program_enrollment",
        sa.Column("program_id", sa.String(36), sa.ForeignKey("health_program.id"), primary_key=True),
        sa.Column("person_id", sa.String(36), primary_key=True, index=True),
        sa.Column("enrolled_on", sa.Date(), nullable=False),
        sa.Column("completed_on", sa.Date(), nullable=True),
    )
    op.create_table(
        "point_award",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("person_id", sa.String(36), nullable=False, index=True),
        sa.Column("source", sa.String(80), nullable=False),
        sa.Column("reason", sa.String(30), nullable=False),
        sa.Column("points", sa.Integer(), nullable=False),
        sa.Column("awarded_for", sa.Date(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("person_id", "source", name="uq_point_award_person_source"),
    )
    op.create_table(
        "health_consent",
        sa.Column("person_id", sa.String(36), primary_key=True),
        sa.Column("granted", sa.Boolean(), nullable=False),
        sa.Column("changed_at", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "audit_entry",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("at", sa.DateTime(), nullable=False, index=True),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("actor_role", sa.String(50), nullable=False),
        sa.Column("purpose", sa.String(100), nullable=False),
        sa.Column("reason", sa.String(500), nullable=False),
        sa.Column("person_id", sa.String(36), nullable=False, index=True),
        sa.Column("resource", sa.String(50), nullable=False),
        sa.Column("records", sa.Integer(), nullable=False),
    )
    _forbid_audit_changes()
    create_outbox_table()
    create_inbox_table()
    create_known_person_table()
    create_idempotency_table()


def _forbid_audit_changes() -> None:
    """Defence in depth: even a bug or a manual session cannot rewrite or remove an audit entry."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"CREATE FUNCTION audit_entry_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION '{_APPEND_ONLY}'; END $$")
        op.execute("CREATE TRIGGER audit_entry_append_only BEFORE UPDATE OR DELETE ON audit_entry FOR EACH ROW EXECUTE FUNCTION audit_entry_append_only()")
        op.execute("CREATE TRIGGER audit_entry_no_truncate BEFORE TRUNCATE ON audit_entry FOR EACH STATEMENT EXECUTE FUNCTION audit_entry_append_only()")
    else:
        for action in ("UPDATE", "DELETE"):
            op.execute(f"CREATE TRIGGER audit_entry_no_{action.lower()} BEFORE {action} ON audit_entry BEGIN SELECT RAISE(ABORT, '{_APPEND_ONLY}'); END")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TABLE audit_entry")
        op.execute("DROP FUNCTION audit_entry_append_only()")
    else:
        op.drop_table("audit_entry")
    for table in (
        "health_consent",
        "point_award",
        "program_enrollment",
        "health_program",
        "advice_record",
        "advice_session",
        "measurement",
        "daily_activity",
        "station_enrollment",
        "station_group",
        "idempotency_key",
        "known_person",
        "inbox",
        "outbox",
    ):
        op.drop_table(table)
