"""Agreements, deliveries, provision records (append-only), replicas; outbox, inbox, idempotency keys.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

from komagane_kit.migrations import create_idempotency_table, create_inbox_table, create_outbox_table

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# Provision records are a legal record: the database itself refuses to change or remove one.
POSTGRES_APPEND_ONLY = [
    """CREATE FUNCTION provision_record_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN RAISE EXCEPTION 'provision records are append-only'; END $$""",
    """CREATE TRIGGER provision_record_no_change BEFORE UPDATE OR DELETE ON provision_record
    FOR EACH ROW EXECUTE FUNCTION provision_record_append_only()""",
]
SQLITE_APPEND_ONLY = [
    """CREATE TRIGGER provision_record_no_update BEFORE UPDATE ON provision_record
    BEGIN SELECT RAISE(ABORT, 'provision records are append-only'); END""",
    """CREATE TRIGGER provision_record_no_delete BEFORE DELETE ON provision_record
    BEGIN SELECT RAISE(ABORT, 'provision records are append-only'); END""",
]


def _bigint_id() -> sa.Column:  # type: ignore[type-arg]
    return sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True)


def upgrade() -> None:
    op.create_table(
        "agreement",
        sa.Column("id", sa.String(length=36), primary_key=True),
        sa.Column("partner_id", sa.String(length=63), nullable=False),
        sa.Column("feed", sa.String(length=41), nullable=False),
        sa.Column("partner_name", sa.String(length=200), nullable=False),
        sa.Column("purpose", sa.String(length=500), nullable=False),
        sa.Column("legal_basis", sa.String(length=20), nullable=False),
        sa.Column("max_sensitivity", sa.String(length=2), nullable=False),
        sa.Column("pseudonym_key_id", sa.String(length=40), nullable=False),
        sa.Column("retention_days", sa.Integer(), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("topic", sa.String(length=200), nullable=False),
        sa.Column("event_types_json", sa.Text(), nullable=False),
        sa.Column("fields_json", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.UniqueConstraint("partner_id", "feed", name="uq_agreement_partner_feed"),
    )
    op.create_table(
        "delivery",
        _bigint_id(),
        sa.Column("agreement_id", sa.String(length=36), nullable=False, index=True),
        sa.Column("event_type", sa.String(length=200), nullable=False),
        sa.Column("event_date", sa.Date(), nullable=False),
        sa.Column("pseudonym_key_id", sa.String(length=40), nullable=False),
    )
    op.create_table(
        "provision_record",
        _bigint_id(),
        sa.Column("agreement_id", sa.String(length=36), nullable=False, index=True),
        sa.Column("partner_id", sa.String(length=63), nullable=False, index=True),
        sa.Column("topic", sa.String(length=200), nullable=False),
        sa.Column("legal_basis", sa.String(length=20), nullable=False),
        sa.Column("pseudonym_key_id", sa.String(length=40), nullable=False),
        sa.Column("event_types_json", sa.Text(), nullable=False),
        sa.Column("fields_json", sa.Text(), nullable=False),
        sa.Column("period_from", sa.Date(), nullable=False),
        sa.Column("period_to", sa.Date(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
    )
    for statement in POSTGRES_APPEND_ONLY if op.get_bind().dialect.name == "postgresql" else SQLITE_APPEND_ONLY:
        op.execute(statement)
    op.create_table(
        "partner_person",
        sa.Column("person_id", sa.String(length=36), primary_key=True),
        sa.Column("age_decade", sa.String(length=8), nullable=True),
    )
    op.create_table(
        "partner_consent",
        sa.Column("person_id", sa.String(length=36), primary_key=True),
        sa.Column("partner_id", sa.String(length=63), primary_key=True),
        sa.Column("granted_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "hub_name",
        sa.Column("hub_id", sa.String(length=36), primary_key=True),
        sa.Column("name_ja", sa.String(length=200), nullable=False),
    )
    create_outbox_table()
    create_inbox_table()
    create_idempotency_table()


def downgrade() -> None:
    for table in ("idempotency_key", "inbox", "outbox", "hub_name", "partner_consent", "partner_person", "provision_record", "delivery", "agreement"):
        op.drop_table(table)
