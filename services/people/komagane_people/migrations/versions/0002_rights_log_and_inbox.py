"""The rights log (corrections, disclosures) and the inbox of the housing-topic consumer.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

from komagane_kit.migrations import create_inbox_table

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rights_request",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("person_id", sa.String(36), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("actor_role", sa.String(100), nullable=False),
        sa.Column("reason", sa.String(500), nullable=True),
        sa.Column("detail", sa.String(500), nullable=False),
    )
    op.create_index("ix_rights_request_person_id", "rights_request", ["person_id"])
    create_inbox_table()


def downgrade() -> None:
    op.drop_table("inbox")
    op.drop_index("ix_rights_request_person_id", "rights_request")
    op.drop_table("rights_request")
