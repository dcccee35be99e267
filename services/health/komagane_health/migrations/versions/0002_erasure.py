"""The erasure registry (APPI 利用停止・消去), and the audit log's one allowed change.

The audit log stays append-only, except that an erasure may replace the person id in its
entries by a pseudonym (komagane_kit.erasure): the fact of each read stays, the link goes. The
triggers let an UPDATE through only while `erasure_in_progress` holds a row, which happens only
inside an erasure's own transaction; DELETE and TRUNCATE stay refused.

Revision ID: 0002
Revises: 0001
"""

from alembic import op

from komagane_kit.migrations import create_erased_person_table

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_APPEND_ONLY = "audit log is append-only"
_ERASING = "EXISTS (SELECT 1 FROM erasure_in_progress)"


def upgrade() -> None:
    create_erased_person_table()
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE OR REPLACE FUNCTION audit_entry_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            f"IF TG_OP = 'UPDATE' AND {_ERASING} THEN RETURN NEW; END IF; RAISE EXCEPTION '{_APPEND_ONLY}'; END $$"
        )
    else:
        op.execute("DROP TRIGGER audit_entry_no_update")
        op.execute(f"CREATE TRIGGER audit_entry_no_update BEFORE UPDATE ON audit_entry WHEN NOT {_ERASING} BEGIN SELECT RAISE(ABORT, '{_APPEND_ONLY}'); END")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            f"CREATE OR REPLACE FUNCTION audit_entry_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION '{_APPEND_ONLY}'; END $$"
        )
    else:
        op.execute("DROP TRIGGER audit_entry_no_update")
        op.execute(f"CREATE TRIGGER audit_entry_no_update BEFORE UPDATE ON audit_entry BEGIN SELECT RAISE(ABORT, '{_APPEND_ONLY}'); END")
    op.drop_table("erasure_in_progress")
    op.drop_table("erased_person")
