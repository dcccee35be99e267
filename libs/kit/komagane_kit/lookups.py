"""What every pillar service's routes do the same way: find rows or answer with a problem, check
people against the local replica, lock a row, publish an event, store small lists as JSON.

A service configures `Lookups` once with the names of its entities (for problem types such as
`session-not-found`) and uses its methods; the free functions need no configuration.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Collection, Sequence
from datetime import date
from typing import Any, TypeVar

from sqlalchemy import Select, bindparam, update
from sqlalchemy import select as select_columns
from sqlmodel import Session, SQLModel, col, select

from komagane_contracts.envelope import CloudEvent
from komagane_contracts.events.base import EventModel
from komagane_contracts.vocabulary import Sensitivity
from komagane_kit.clock import now, tokyo_date
from komagane_kit.erasure import is_erased, person_erased
from komagane_kit.errors import Problem
from komagane_kit.outbox import enqueue, enqueue_many
from komagane_kit.people_replica import KnownPerson, is_registered, known_person
from komagane_kit.remembered import RememberedIds

T = TypeVar("T", bound=SQLModel)


class Lookups:
    def __init__(self, kinds: dict[type[SQLModel], str], *, permanent: Collection[type[SQLModel]] = ()) -> None:
        """`permanent`: models whose rows are never deleted, so an id once found stays valid."""
        self._kinds = kinds
        self._found: dict[type[SQLModel], RememberedIds] = {model: RememberedIds() for model in permanent}

    def kind(self, model: type[SQLModel]) -> str:
        return self._kinds.get(model, model.__name__.lower())

    def get_or_404(self, session: Session, model: type[T], entity_id: str) -> T:
        found = session.get(model, entity_id)
        if found is None:
            raise self.not_found(model, entity_id)
        return found

    def exists_or_404(self, session: Session, model: type[SQLModel], entity_id: str) -> None:
        """404 unless the row exists; loads nothing. For a `permanent` model the database is
        asked once per id and process (a hot write path checks the same few hubs all day)."""
        found = self._found.get(model)
        if found is not None and found.known(session, entity_id):
            return
        if session.connection().execute(_existence_query(model), {"entity_id": entity_id}).first() is None:
            raise self.not_found(model, entity_id)
        if found is not None:
            found.learn(session, entity_id)

    def get_or_422(self, session: Session, model: type[T], entity_id: str, field: str) -> T:
        """For ids given in a request body: the body is what is wrong, so 422 naming the field."""
        found = session.get(model, entity_id)
        if found is None:
            kind = self.kind(model)
            raise invalid(field, f"unknown {kind}", f"Unknown {kind} {entity_id} in {field}")
        return found

    def locked(self, session: Session, model: type[T], entity_id: str) -> T:
        """The row, write-locked until this transaction ends (an UPDATE of its `lock_version`).

        On PostgreSQL concurrent requests for one row queue on it, on SQLite on the database
        write lock; whatever is counted and inserted afterwards happens under that lock.
        """
        id_column, version = col(model.id), col(model.lock_version)  # type: ignore[attr-defined]
        session.execute(update(model).where(id_column == entity_id).values(lock_version=version + 1))
        found = session.exec(select(model).where(id_column == entity_id).execution_options(populate_existing=True)).first()
        if found is None:
            raise self.not_found(model, entity_id)
        return found

    def not_found(self, model: type[SQLModel], entity_id: str) -> Problem:
        kind = self.kind(model)
        return Problem(404, f"{kind}-not-found", f"No {kind} with id {entity_id}")


@functools.cache
def _existence_query(model: type[SQLModel]) -> Select[Any]:
    """One statement object per model (its compiled form is found by a key computed once)."""
    id_column = col(model.id)  # type: ignore[attr-defined]
    return select_columns(id_column).where(id_column == bindparam("entity_id"))


def invalid(field: str, message: str, detail: str | None = None, *, kind: str = "validation-error") -> Problem:
    """A 422 problem about one field of the request."""
    return Problem(422, kind, detail or f"{field}: {message}", title="Validation failed", errors=[{"field": field, "message": message}])


def require_person(session: Session, person_id: str, field: str = "person_id") -> KnownPerson:
    """People are known from the people topic's local replica, never by a synchronous call."""
    person = known_person(session, person_id)
    if person is None:
        raise _unknown_person(person_id, field, session)
    return person


def require_registered(session: Session, person_id: str, field: str = "person_id") -> None:
    """`require_person` for a route that needs no more than the check (reads one column)."""
    if not is_registered(session, person_id):
        raise _unknown_person(person_id, field, session)


def _unknown_person(person_id: str, field: str, session: Session | None = None) -> Problem:
    if session is not None and is_erased(session, person_id):
        return person_erased(person_id, field)  # not "unknown": they asked to be forgotten
    return invalid(
        field,
        "unknown person",
        f"Person {person_id} is not registered on the platform (or registration has not reached this service yet).",
        kind="unknown-person",
    )


def publish(session: Session, body: EventModel, *, sensitive: bool = False) -> None:
    """Add the event to the outbox in the session's transaction; `sensitive` raises it to S2."""
    enqueue(session, CloudEvent.of(body, sensitivity=Sensitivity.S2 if sensitive else None))


def publish_many(session: Session, bodies: Sequence[EventModel]) -> int:
    """Many events at once (batch endpoints), in one bulk insert into the outbox."""
    return enqueue_many(session, [CloudEvent.of(body) for body in bodies])


def today() -> date:
    """Today in Komagane (Asia/Tokyo)."""
    return tokyo_date(now())


def dump_list(values: Sequence[Any]) -> str:
    return json.dumps(list(values), ensure_ascii=False)


def load_list(raw: str | None) -> list[Any]:
    return list(json.loads(raw or "[]"))
