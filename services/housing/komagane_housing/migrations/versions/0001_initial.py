"""Properties, inquiries, trial stays (no overlapping bookings), migration cases and their history,
moves, relocations, workation stays, relationships; outbox, inbox, people replica, idempotency keys.

On PostgreSQL the overlap rule for trial stays is an exclusion constraint, which needs the
btree_gist extension (for `property_id WITH =` in a GiST index; a trusted extension, so the
database owner may create it). SQLite has no exclusion constraints: there the service
serialises bookings instead (see komagane_housing.api.trial_stays).

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

NO_OVERLAP = """
ALTER TABLE trial_stay ADD CONSTRAINT ex_trial_stay_no_overlap
EXCLUDE USING gist (property_id WITH =, daterange(check_in, check_out, '[)') WITH &&)
WHERE (status <> 'CANCELLED')
"""


def upgrade() -> None:
    op.create_table(
        "property",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("area", sa.String(length=100), nullable=False),
        sa.Column("rooms", sa.Integer(), nullable=False),
        sa.Column("max_occupants", sa.Integer(), nullable=True),
        sa.Column("barrier_free", sa.Boolean(), nullable=False),
        sa.Column("accessibility_notes", sa.String(length=1000), nullable=True),
        sa.Column("owner_kind", sa.String(length=20), nullable=False),
        sa.Column("owner_person_id", sa.String(length=36), nullable=True),
        sa.Column("owner_name", sa.String(length=200), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("lock_version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "migration_case",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("person_id", sa.String(length=36), nullable=False),
        sa.Column("stage", sa.String(length=20), nullable=False),
        sa.Column("household_size", sa.Integer(), nullable=False),
        sa.Column("origin", sa.String(length=10), nullable=True),
        sa.Column("opened_on", sa.Date(), nullable=False),
        sa.Column("note", sa.String(length=2000), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "migration_stage_record",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("case_id", sa.String(length=36), nullable=False),
        sa.Column("previous_stage", sa.String(length=20), nullable=True),
        sa.Column("stage", sa.String(length=20), nullable=False),
        sa.Column("occurred_on", sa.Date(), nullable=False),
        sa.Column("recorded_by", sa.String(length=100), nullable=False),
        sa.Column("property_ids", sa.Text(), nullable=False),
        sa.Column("note", sa.String(length=2000), nullable=True),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["migration_case.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "property_inquiry",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("property_id", sa.String(length=36), nullable=False),
        sa.Column("person_id", sa.String(length=36), nullable=False),
        sa.Column("case_id", sa.String(length=36), nullable=True),
        sa.Column("message", sa.String(length=2000), nullable=True),
        sa.Column("inquired_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["property_id"], ["property.id"]),
        sa.ForeignKeyConstraint(["case_id"], ["migration_case.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "trial_stay",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("property_id", sa.String(length=36), nullable=False),
        sa.Column("person_id", sa.String(length=36), nullable=False),
        sa.Column("case_id", sa.String(length=36), nullable=True),
        sa.Column("check_in", sa.Date(), nullable=False),
        sa.Column("check_out", sa.Date(), nullable=False),
        sa.Column("household_size", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("checked_in_on", sa.Date(), nullable=True),
        sa.Column("completed_on", sa.Date(), nullable=True),
        sa.Column("cancelled_on", sa.Date(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("check_out > check_in", name="ck_trial_stay_dates"),
        sa.ForeignKeyConstraint(["property_id"], ["property.id"]),
        sa.ForeignKeyConstraint(["case_id"], ["migration_case.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "move",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("person_id", sa.String(length=36), nullable=False),
        sa.Column("case_id", sa.String(length=36), nullable=True),
        sa.Column("property_id", sa.String(length=36), nullable=True),
        sa.Column("household_size", sa.Integer(), nullable=False),
        sa.Column("origin", sa.String(length=10), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("area", sa.String(length=100), nullable=False),
        sa.Column("moved_in_on", sa.Date(), nullable=False),
        sa.Column("settled_on", sa.Date(), nullable=True),
        sa.Column("settlement_recorded_by", sa.String(length=100), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["migration_case.id"]),
        sa.ForeignKeyConstraint(["property_id"], ["property.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "relocation",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("person_id", sa.String(length=36), nullable=False),
        sa.Column("from_area", sa.String(length=100), nullable=False),
        sa.Column("to_area", sa.String(length=100), nullable=False),
        sa.Column("into_town_centre", sa.Boolean(), nullable=False),
        sa.Column("property_id", sa.String(length=36), nullable=True),
        sa.Column("relocated_on", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(["property_id"], ["property.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "workation_stay",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("person_id", sa.String(length=36), nullable=False),
        sa.Column("property_id", sa.String(length=36), nullable=True),
        sa.Column("started_on", sa.Date(), nullable=False),
        sa.Column("ended_on", sa.Date(), nullable=False),
        sa.Column("purpose", sa.String(length=500), nullable=True),
        sa.CheckConstraint("ended_on > started_on", name="ck_workation_stay_dates"),
        sa.ForeignKeyConstraint(["property_id"], ["property.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "relationship",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("person_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("note", sa.String(length=1000), nullable=True),
        sa.Column("registered_on", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("person_id", "kind", name="uq_relationship_person_kind"),
    )
    op.create_index("ix_property_kind", "property", ["kind"], unique=False)
    op.create_index("ix_property_status", "property", ["status"], unique=False)
    op.create_index("ix_migration_case_person_id", "migration_case", ["person_id"], unique=False)
    op.create_index("ix_migration_case_stage", "migration_case", ["stage"], unique=False)
    op.create_index("ix_migration_stage_record_case_id", "migration_stage_record", ["case_id"], unique=False)
    op.create_index("ix_property_inquiry_property_id", "property_inquiry", ["property_id"], unique=False)
    op.create_index("ix_property_inquiry_person_id", "property_inquiry", ["person_id"], unique=False)
    op.create_index("ix_trial_stay_property_id", "trial_stay", ["property_id"], unique=False)
    op.create_index("ix_trial_stay_person_id", "trial_stay", ["person_id"], unique=False)
    op.create_index("ix_move_person_id", "move", ["person_id"], unique=False)
    op.create_index("ix_relocation_person_id", "relocation", ["person_id"], unique=False)
    op.create_index("ix_workation_stay_person_id", "workation_stay", ["person_id"], unique=False)
    op.create_index("ix_relationship_person_id", "relationship", ["person_id"], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
        op.execute(NO_OVERLAP)
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
        "relationship",
        "workation_stay",
        "relocation",
        "move",
        "trial_stay",
        "property_inquiry",
        "migration_stage_record",
        "migration_case",
        "property",
    ):
        op.drop_table(table)
