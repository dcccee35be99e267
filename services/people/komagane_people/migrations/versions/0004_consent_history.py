"""Consent history: every grant and withdrawal, for the person's own consents page.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "consent_change",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("person_id", sa.String(36), nullable=False),
        sa.Column("purpose", sa.String(80), nullable=False),
        sa.Column("action", sa.String(10), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_consent_change_person_id", "consent_change", ["person_id"])


def downgrade() -> None:
    op.drop_index("ix_consent_change_person_id", "consent_change")
    op.drop_table("consent_change")
