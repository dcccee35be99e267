"""Lookups and checks every route needs: 404 for unknown ids, 422 naming the field for bad input."""

from __future__ import annotations

import json
from datetime import date
from typing import TypeVar

from sqlmodel import Session, SQLModel

from komagane_contracts.envelope import CloudEvent
from komagane_contracts.events.base import EventModel
from komagane_contracts.vocabulary import ResidencyStatus
from komagane_housing.models import MigrationCase, Move, Property, TrialStay
from komagane_kit.clock import now, tokyo_date
from komagane_kit.errors import Problem
from komagane_kit.outbox import enqueue
from komagane_kit.people_replica import KnownPerson, known_person

T = TypeVar("T", bound=SQLModel)

_KINDS: dict[type[SQLModel], str] = {Property: "property", TrialStay: "trial-stay", MigrationCase: "migration-case", Move: "move"}
PROSPECT_STATUSES = frozenset({ResidencyStatus.VISITOR.value, ResidencyStatus.RELATIONSHIP.value})


def today() -> date:
    """The town's calendar date (Asia/Tokyo)."""
    return tokyo_date(now())


def invalid(field: str, message: str, detail: str | None = None, *, kind: str = "validation-error") -> Problem:
    return Problem(422, kind, detail or f"{field}: {message}", title="Validation failed", errors=[{"field": field, "message": message}])


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
        raise invalid(field, f"unknown {kind}", f"Unknown {kind} {entity_id} in {field}")
    return found


def require_person(session: Session, person_id: str, field: str = "person_id") -> KnownPerson:
    """People are known from the people topic's local replica, never by a synchronous call."""
    person = known_person(session, person_id)
    if person is None:
        raise invalid(
            field,
            "unknown person",
            f"Person {person_id} is not registered on the platform (or registration has not reached this service yet).",
            kind="unknown-person",
        )
    return person


def require_case_of(session: Session, case_id: str, person_id: str, field: str = "case_id") -> MigrationCase:
    """A case named in a body must exist and be the same person's."""
    case = get_or_422(session, MigrationCase, case_id, field)
    if case.person_id != person_id:
        raise invalid(field, "belongs to another person", f"Migration case {case_id} is not the case of person {person_id}")
    return case


def not_future(value: date, field: str) -> date:
    if value > today():
        raise invalid(field, "in the future", f"{field} is in the future: record it once it has happened")
    return value


def publish(session: Session, body: EventModel) -> None:
    """Add the event to the outbox, in the transaction of the change it describes."""
    enqueue(session, CloudEvent.of(body))


def dump_list(values: list[str]) -> str:
    return json.dumps(values, ensure_ascii=False)


def load_list(raw: str | None) -> list[str]:
    return list(json.loads(raw or "[]"))
