"""Lookups every route needs: 404 for unknown ids, 422 for people the platform does not know."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date
from typing import Any, TypeVar

from sqlalchemy import update
from sqlmodel import Session, SQLModel, col, select

from komagane_contracts.envelope import CloudEvent
from komagane_contracts.events.base import EventModel
from komagane_contracts.vocabulary import Sensitivity
from komagane_jobs.models import Application, Cooperator, Engagement, Opportunity, Seminar
from komagane_kit.clock import now, tokyo_date
from komagane_kit.errors import Problem
from komagane_kit.outbox import enqueue
from komagane_kit.people_replica import known_person

T = TypeVar("T", bound=SQLModel)
Locked = TypeVar("Locked", Application, Cooperator, Engagement, Seminar)

_KINDS: dict[type[SQLModel], str] = {
    Opportunity: "opportunity",
    Application: "application",
    Engagement: "engagement",
    Seminar: "seminar",
    Cooperator: "cooperator",
}


def _kind(model: type[SQLModel]) -> str:
    return _KINDS.get(model, model.__name__.lower())


def get_or_404(session: Session, model: type[T], entity_id: str) -> T:
    found = session.get(model, entity_id)
    if found is None:
        raise Problem(404, f"{_kind(model)}-not-found", f"No {_kind(model)} with id {entity_id}")
    return found


def get_or_422(session: Session, model: type[T], entity_id: str, field: str) -> T:
    """For ids given in a request body: the body is what is wrong, so 422 naming the field."""
    found = session.get(model, entity_id)
    if found is None:
        kind = _kind(model)
        raise invalid(field, f"unknown {kind}", f"Unknown {kind} {entity_id} in {field}")
    return found


def locked(session: Session, model: type[Locked], entity_id: str) -> Locked:
    """The row, write-locked until this transaction ends (an UPDATE of `lock_version`).

    On PostgreSQL concurrent requests for one row queue on it, on SQLite on the database write
    lock; whatever is counted and inserted afterwards happens under that lock.
    """
    session.execute(update(model).where(col(model.id) == entity_id).values(lock_version=col(model.lock_version) + 1))
    found = session.exec(select(model).where(col(model.id) == entity_id).execution_options(populate_existing=True)).first()
    if found is None:
        raise Problem(404, f"{_kind(model)}-not-found", f"No {_kind(model)} with id {entity_id}")
    return found


def invalid(field: str, message: str, detail: str | None = None) -> Problem:
    return Problem(422, "validation-error", detail or f"{field}: {message}", title="Validation failed", errors=[{"field": field, "message": message}])


def require_person(session: Session, person_id: str, field: str = "person_id") -> None:
    """People are known from the people topic's local replica, never by a synchronous call."""
    if known_person(session, person_id) is None:
        raise Problem(
            422,
            "unknown-person",
            f"Person {person_id} is not registered on the platform (or registration has not reached this service yet).",
            title="Validation failed",
            errors=[{"field": field, "message": "unknown person"}],
        )


def publish(session: Session, body: EventModel, *, sensitive: bool = False) -> None:
    """Add the event to the outbox; `sensitive` marks welfare and training arrangements (S2)."""
    enqueue(session, CloudEvent.of(body, sensitivity=Sensitivity.S2 if sensitive else None))


def today() -> date:
    return tokyo_date(now())


def dump(values: Sequence[Any]) -> str:
    return json.dumps(list(values), ensure_ascii=False)


def load(raw: str | None) -> list[Any]:
    return list(json.loads(raw or "[]"))
