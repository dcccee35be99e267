"""Person-level events waiting a short grace for a PARTNER consent still on its way.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "consent_wait",
        sa.Column("event_id", sa.String(length=64), primary_key=True),
        sa.Column("partner_id", sa.String(length=63), primary_key=True),
        sa.Column("person_id", sa.String(length=36), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("held_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ce_headers", sa.Text(), nullable=False),
        sa.Column("data", sa.Text(), nullable=False),
    )
    op.create_index("ix_consent_wait_person_id", "consent_wait", ["person_id"])
    op.create_index("ix_consent_wait_held_at", "consent_wait", ["held_at"])


def downgrade() -> None:
    op.drop_table("consent_wait")
