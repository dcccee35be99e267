"""Lookups every route needs: 404 for unknown ids, 422 for people the platform does not know."""

from __future__ import annotations

import json
from typing import TypeVar

from sqlmodel import Session, SQLModel

from komagane_contracts.envelope import CloudEvent
from komagane_contracts.events.base import EventModel
from komagane_contracts.vocabulary import Sensitivity
from komagane_exchange.models import Activity, Group, Hub
from komagane_exchange.models import Session as ExchangeSession
from komagane_kit.errors import Problem
from komagane_kit.outbox import enqueue
from komagane_kit.people_replica import known_person

T = TypeVar("T", bound=SQLModel)

_KINDS: dict[type[SQLModel], str] = {Hub: "hub", Activity: "activity", ExchangeSession: "session", Group: "group"}


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


def publish(session: Session, body: EventModel, *, sensitive: bool = False) -> None:
    """Add the event to the outbox; `sensitive` marks participation in support-specific activities (S2)."""
    enqueue(session, CloudEvent.of(body, sensitivity=Sensitivity.S2 if sensitive else None))


def dump_list(values: list[str]) -> str:
    return json.dumps(values, ensure_ascii=False)


def load_list(raw: str | None) -> list[str]:
    return list(json.loads(raw or "[]"))
