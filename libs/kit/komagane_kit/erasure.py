"""Forgetting an erased person (APPI 利用停止・消去), the same way in every service's database.

`PersonErased` on the people topic is the one signal. A service that receives it calls
`forget_person`, which leaves no row that links to the person id:

- rows that are only about the person (the `known_person` replica, any table whose primary key
  is the person id alone, and the tables a service names) are deleted;
- outbox rows not yet published are deleted (nothing more about them goes out), stored
  Idempotency-Key answers that mention them are deleted;
- everywhere else — published outbox rows, participation rows, audit logs — every text column
  that contains the id gets a pseudonym in its place: a random id drawn for this erasure and
  kept nowhere, so counts and the audit facts stay while nothing maps back to the person. An
  append-only table (the health audit log) refuses every change except this one: its trigger
  lets an UPDATE through only while `erasure_in_progress` holds a row, which only the erasure's
  own transaction ever sees.

The erasure registry (`erased_person`) keeps a SHA-256 digest of the id, never the id itself:
enough to refuse a later write about them and to ignore their events in a replay, while a
registry row alone names nobody (a person id is a random UUID, so the digest cannot be
reversed by trying ids). See docs/erasure.md.
"""

from __future__ import annotations

import hashlib
import uuid
import weakref
from collections.abc import Iterable
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Field, Session, SQLModel

from komagane_contracts.envelope import CloudEvent
from komagane_contracts.events.people import PersonErased
from komagane_kit.errors import Problem

ERASED_TABLE = "erased_person"
# Holds a row only inside an erasure's own transaction (so no other transaction ever sees one):
# append-only tables (the health audit log) let their triggers accept an UPDATE while it does.
IN_PROGRESS_TABLE = "erasure_in_progress"
# Tables the sweep never rewrites: the registry itself, migration bookkeeping, event ids.
_SKIPPED = frozenset({ERASED_TABLE, IN_PROGRESS_TABLE, "alembic_version", "inbox"})
_IN_PROGRESS = sa.table(IN_PROGRESS_TABLE, sa.column("digest"))


class ErasedPerson(SQLModel, table=True):
    __tablename__ = ERASED_TABLE

    digest: str = Field(primary_key=True, max_length=64)
    erased_at: datetime = Field(default_factory=lambda: datetime.now(UTC))


def erasure_digest(person_id: str) -> str:
    """What the registries keep of an erased person: a digest, not the id."""
    return hashlib.sha256(b"komagane-erased:" + person_id.encode()).hexdigest()


def erased_at(session: Session, person_id: str) -> datetime | None:
    row = session.get(ErasedPerson, erasure_digest(person_id))
    return row.erased_at if row is not None else None


def is_erased(session: Session, person_id: str) -> bool:
    return erased_at(session, person_id) is not None


def person_erased(person_id: str, field: str = "person_id") -> Problem:
    """The answer to a write (or read) about a person who was erased: 410, never a silent 422."""
    return Problem(
        410,
        "person-erased",
        f"Person {person_id} was erased at their request; nothing more is recorded about them.",
        title="Person erased",
        errors=[{"field": field, "message": "person erased", "type": "person_erased"}],
    )


def remember_erased(session: Session, person_id: str, when: datetime | None = None) -> None:
    """Note the erasure in this database's registry (idempotent)."""
    if session.get(ErasedPerson, erasure_digest(person_id)) is None:
        session.add(ErasedPerson(digest=erasure_digest(person_id), erased_at=when or datetime.now(UTC)))


class _Table:
    """What the sweep needs to know of one table."""

    def __init__(self, table: sa.Table) -> None:
        self.table = table
        # Text and VARCHAR alike; not enumerations (a native enum takes no REPLACE, holds no id).
        self.text = [c for c in table.columns if isinstance(c.type, sa.String) and not isinstance(c.type, sa.Enum)]
        self.binary = [c for c in table.columns if isinstance(c.type, sa.LargeBinary)]
        self.person_keyed = [c.name for c in table.primary_key.columns] == ["person_id"]


_TABLES: weakref.WeakKeyDictionary[Engine, list[_Table]] = weakref.WeakKeyDictionary()


def _tables(connection: Connection) -> list[_Table]:
    """The database's own tables (reflected once per engine: migrations fix them at start)."""
    engine = connection.engine
    tables = _TABLES.get(engine)
    if tables is None:
        metadata = sa.MetaData()
        metadata.reflect(bind=connection)
        tables = _TABLES[engine] = [_Table(t) for t in metadata.sorted_tables if t.name not in _SKIPPED]
    return tables


def _contains_binary(connection: Connection, column: sa.Column[bytes], needle: str) -> sa.ColumnElement[bool]:
    raw = sa.literal(needle.encode(), sa.LargeBinary)
    if connection.dialect.name == "postgresql":
        return sa.func.position(raw.op("IN")(column)) > 0
    return sa.func.instr(column, raw) > 0


def forget_person(session: Session, person_id: str, *, delete_from: Iterable[str] = (), when: datetime | None = None) -> None:
    """Leave nothing in this database that links to `person_id` (see the module docstring), and
    note the erasure. `delete_from`: the service's tables whose rows about the person go whole."""
    connection = session.connection()
    remember_erased(session, person_id, when)
    session.flush()
    pseudonym = str(uuid.uuid4())
    pattern = f"%{person_id}%"
    deleted = {"known_person", *delete_from}
    digest = erasure_digest(person_id)
    connection.execute(sa.insert(_IN_PROGRESS).values(digest=digest))
    for entry in _tables(connection):
        table = entry.table
        if table.name in deleted or entry.person_keyed:
            connection.execute(table.delete().where(table.c.person_id == person_id))
            continue
        if table.name == "outbox":
            mention = sa.or_(table.c.message_key == person_id, table.c.payload.like(pattern), table.c.headers.like(pattern))
            connection.execute(table.delete().where(table.c.published_at.is_(None), mention))
        if table.name == "idempotency_key":
            conditions = [table.c.key.like(pattern), table.c.headers.like(pattern), *(_contains_binary(connection, c, person_id) for c in entry.binary)]
            connection.execute(table.delete().where(sa.or_(*conditions)))
            continue
        if entry.text:
            connection.execute(
                table.update()
                .where(sa.or_(*(c.like(pattern) for c in entry.text)))
                .values({c.name: sa.func.replace(c, person_id, pseudonym) for c in entry.text})
            )
    connection.execute(sa.delete(_IN_PROGRESS).where(_IN_PROGRESS.c.digest == digest))


def forget_erased(event: CloudEvent, session: Session) -> None:
    """EventConsumer handler of a service that needs nothing else from the people topic."""
    body = event.body()
    if isinstance(body, PersonErased):
        forget_person(session, body.person_id, when=body.erased_at)
