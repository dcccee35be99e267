"""Care staff's follow-ups of lapse alerts (komagane_people.care), and idempotency keys: the
follow-up is the service's first POST that is not itself idempotent by nature.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

from komagane_kit.migrations import create_idempotency_table

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "care_follow_up",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("person_id", sa.String(36), nullable=False),
        sa.Column("outcome", sa.String(40), nullable=False),
        sa.Column("note", sa.String(1000), nullable=True),
        sa.Column("followed_up_at", sa.DateTime(), nullable=False),
        sa.Column("recorded_by", sa.String(100), nullable=False),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_care_follow_up_person_id", "care_follow_up", ["person_id"])
    create_idempotency_table()


def downgrade() -> None:
    op.drop_table("idempotency_key")
    op.drop_index("ix_care_follow_up_person_id", "care_follow_up")
    op.drop_table("care_follow_up")
