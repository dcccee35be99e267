"""Lookups every route needs: 404 for unknown ids, 422 for unknown people, and the outbox helper."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated, TypeVar

from fastapi import Depends, Request
from sqlmodel import Session, SQLModel, col, select

from komagane_contracts.envelope import CloudEvent
from komagane_contracts.events.base import EventModel
from komagane_health.models import AdviceSession, Program, StationGroup
from komagane_health.settings import HealthSettings
from komagane_kit.errors import Problem
from komagane_kit.outbox import enqueue
from komagane_kit.people_replica import KnownPerson, known_person

T = TypeVar("T", bound=SQLModel)

_KINDS: dict[type[SQLModel], str] = {StationGroup: "group", Program: "program", AdviceSession: "advice-session"}


def _settings(request: Request) -> HealthSettings:
    settings: HealthSettings = request.app.state.settings
    return settings


Settings = Annotated[HealthSettings, Depends(_settings)]


def get_or_404(session: Session, model: type[T], entity_id: str) -> T:
    found = session.get(model, entity_id)
    if found is None:
        kind = _KINDS.get(model, model.__name__.lower())
        raise Problem(404, f"{kind}-not-found", f"No {kind} with id {entity_id}")
    return found


def get_or_422(session: Session, model: type[T], entity_id: str, field: str) -> T:
    """For ids given in a request body: the body is what is wrong, so 422 naming the field."""
    found = session.get(model, entity_id)
    if found is None:
        kind = _KINDS.get(model, model.__name__.lower())
        raise Problem(
            422,
            "validation-error",
            f"Unknown {kind} {entity_id} in {field}",
            title="Validation failed",
            errors=[{"field": field, "message": f"unknown {kind}"}],
        )
    return found


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


def known_people(session: Session, person_ids: Iterable[str]) -> set[str]:
    """Which of `person_ids` the replica knows (one query per 500 ids)."""
    ids = list(dict.fromkeys(person_ids))
    found: set[str] = set()
    for start in range(0, len(ids), 500):
        found.update(session.exec(select(KnownPerson.person_id).where(col(KnownPerson.person_id).in_(ids[start : start + 500]))).all())
    return found


def publish(session: Session, body: EventModel) -> None:
    """Add the event to the outbox; its class decides the topic (S2 classes: health.internal.v1)."""
    enqueue(session, CloudEvent.of(body))
