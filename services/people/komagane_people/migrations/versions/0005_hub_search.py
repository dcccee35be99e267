"""The hub search: kana, member numbers, the hubs that know a person, and the search audit log.

Existing people get their member numbers here, in registration order, and their folded search
keys; the counter continues after the last number given.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

from komagane_people.search_keys import fold

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("person") as batch:
        batch.add_column(sa.Column("name_kana", sa.String(200), nullable=True))
        batch.add_column(sa.Column("member_number", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("name_key", sa.String(200), nullable=False, server_default=""))
        batch.add_column(sa.Column("kana_key", sa.String(200), nullable=False, server_default=""))
    person = sa.table(
        "person",
        sa.column("id", sa.String),
        sa.column("display_name", sa.String),
        sa.column("created_at", sa.DateTime),
        sa.column("member_number", sa.Integer),
        sa.column("name_key", sa.String),
    )
    connection = op.get_bind()
    rows = connection.execute(sa.select(person.c.id, person.c.display_name).order_by(person.c.created_at, person.c.id)).all()
    for number, (person_id, name) in enumerate(rows, start=1):
        connection.execute(person.update().where(person.c.id == person_id).values(member_number=number, name_key=fold(name)[:200]))
    op.create_index("ix_person_member_number", "person", ["member_number"], unique=True)
    op.create_table("member_counter", sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False), sa.Column("last", sa.Integer(), nullable=False))
    op.execute(sa.text("INSERT INTO member_counter (id, last) VALUES (1, :last)").bindparams(last=len(rows)))
    op.create_table(
        "person_hub",
        sa.Column("person_id", sa.String(36), primary_key=True),
        sa.Column("hub_id", sa.String(36), primary_key=True),
        sa.Column("since", sa.DateTime(), nullable=False),
        sa.Column("how", sa.String(20), nullable=False),
    )
    op.create_index("ix_person_hub_hub_id", "person_hub", ["hub_id"])
    op.create_table(
        "people_search",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("actor_role", sa.String(100), nullable=False),
        sa.Column("hubs", sa.String(500), nullable=False),
        sa.Column("query", sa.String(100), nullable=False),
        sa.Column("reason", sa.String(500), nullable=True),
        sa.Column("found", sa.Integer(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("people_search")
    op.drop_index("ix_person_hub_hub_id", "person_hub")
    op.drop_table("person_hub")
    op.drop_table("member_counter")
    op.drop_index("ix_person_member_number", "person")
    with op.batch_alter_table("person") as batch:
        for column in ("kana_key", "name_key", "member_number", "name_kana"):
            batch.drop_column(column)
