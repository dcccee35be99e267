"""The kit's tables: outbox, inbox, people replica and idempotency keys.

Revision ID: 0001
Revises:
"""

from komagane_kit.migrations import create_idempotency_table, create_inbox_table, create_known_person_table, create_outbox_table

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_outbox_table()
    create_inbox_table()
    create_known_person_table()
    create_idempotency_table()


def downgrade() -> None:
    from alembic import op

    for table in ("idempotency_key", "known_person", "inbox", "outbox"):
        op.drop_table(table)
