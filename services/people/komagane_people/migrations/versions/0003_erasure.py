"""The erasure registry (APPI 利用停止・消去): digests of erased person ids. (The inbox of the
service's consumer, which acts on PersonErased too, came with 0002.)

Revision ID: 0003
Revises: 0002
"""

from alembic import op

from komagane_kit.migrations import create_erased_person_table

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_erased_person_table()


def downgrade() -> None:
    op.drop_table("erasure_in_progress")
    op.drop_table("erased_person")
