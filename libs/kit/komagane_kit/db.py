"""Database engines and migrations: SQLite by default, PostgreSQL by URL."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Insert, event
from sqlalchemy.engine import Engine
from sqlmodel import Session, create_engine


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for `url`. SQLite gets WAL, foreign keys and a busy timeout; PostgreSQL psycopg 3."""
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=10, **kwargs)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


# Where a request's DeferredCommitSession waits for its route: the key in the ASGI scope's "state".
UNIT_OF_WORK = "komagane.unit_of_work"


class DeferredCommitSession(Session):
    """A request's session whose commit waits for the end of the request: the route's
    `session.commit()` only flushes (`flush_in_place_of_commit`), so that something else can
    join the transaction before it ends; `commit_deferred()` commits for real.

    The idempotency middleware (komagane_kit.idempotency) hands one to the route of a request
    carrying an `Idempotency-Key` and stores the response in the same transaction as the
    route's work, so the two are committed (or rolled back) together. A route keeps its usual
    shape: `session.commit()` still raises the flush's IntegrityError where the route expects
    it, and `session.rollback()` still undoes everything.
    """

    def __init__(self, engine: Engine) -> None:
        super().__init__(engine, expire_on_commit=False)
        self.route_committed = False

    def flush_in_place_of_commit(self) -> None:
        self.flush()
        self.route_committed = True

    commit = flush_in_place_of_commit  # what a route's `session.commit()` runs here

    def rollback(self) -> None:
        self.route_committed = False
        super().rollback()

    def discard_uncommitted(self) -> None:
        """Keep only what the route committed: roll back if it never committed, else drop the
        changes it made after its last commit() (closing its session would have dropped them)."""
        if self.route_committed:
            self.expunge_all()
        else:
            self.rollback()

    def commit_deferred(self) -> None:
        """The real commit: the route's work and whatever was added to the transaction since."""
        super().commit()


# Where a session gathers rows to insert together: {statement: [row values, …]}, in first use order.
_GATHERED = "komagane.gathered_inserts"


def insert_row(session: Session, statement: Insert, values: dict[str, Any]) -> None:
    """INSERT one row with `statement` (one object, values given here): now, or, in a session
    that gathers inserts (`gather_inserts`), later with the other rows of the same statement."""
    gathered: dict[Insert, list[dict[str, Any]]] | None = session.info.get(_GATHERED)
    if gathered is None:
        session.execute(statement, values)
    else:
        gathered.setdefault(statement, []).append(values)


def gather_inserts(session: Session) -> None:
    """From now on `insert_row` gathers rows instead of sending them. For many writes in one
    transaction (komagane_kit.fastpath.grouped_writes), whose reads never look at rows they insert."""
    session.info[_GATHERED] = {}


def send_gathered(session: Session) -> None:
    """Send the gathered rows: one executemany per statement, statements in the order first
    used (so a row is inserted after the rows it refers to)."""
    gathered: dict[Insert, list[dict[str, Any]]] = session.info.pop(_GATHERED, {})
    for statement, rows in gathered.items():
        session.execute(statement, rows)


@contextmanager
def transaction(engine: Engine) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on any exception."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


async def close_session(session: Session) -> None:
    """Close on the event loop when no transaction is open (no database work), else in a thread
    (a ROLLBACK round trip)."""
    if session.in_transaction():
        await asyncio.to_thread(session.close)
    else:
        session.close()


def run_migrations(engine: Engine, script_location: str | Path) -> None:
    """Bring the schema to the newest Alembic revision of the service (idempotent)."""
    cfg = Config()
    cfg.set_main_option("script_location", str(script_location))
    cfg.set_main_option("path_separator", "os")
    with engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, "head")
