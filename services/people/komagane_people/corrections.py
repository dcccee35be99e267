"""Corrections of a person's record (訂正) and the one rule that changes it without a request.

Both a correction and a move into the town end in `correct`: it changes the record and, in the
same transaction, puts `PersonUpdated` in the outbox with the current value of every field other
services may know (never the name or contact: those stay here) and the names of what changed.

A visitor who moves in becomes a resident. The housing service records the move and publishes
`HouseholdMovedIn`; this service subscribes to the housing topic and sets the mover's residency
to RESIDENT (`residency_from_moves`). An event rather than a call from housing: services never
call each other, the move is recorded even while this service is down (the outbox and the
consumer catch up), and a replay of the housing topic gives the same residency.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import Enum
from typing import Any, get_args

from sqlmodel import Session

from komagane_contracts.envelope import CloudEvent
from komagane_contracts.events.housing import HouseholdMovedIn
from komagane_contracts.events.people import PersonField, PersonUpdated, UpdateCause
from komagane_contracts.vocabulary import ResidencyStatus
from komagane_kit.outbox import enqueue
from komagane_people.models import Person, refresh_keys

FIELDS: tuple[PersonField, ...] = get_args(PersonField)
# Fields no other service holds or derives anything from (the kana, for the hub search): a
# correction of only these is recorded in the rights log and publishes nothing.
LOCAL_FIELDS = ("name_kana",)


def _plain(value: Any) -> Any:
    return value.value if isinstance(value, Enum) else value


def correct(session: Session, person: Person, changes: dict[str, Any], cause: UpdateCause) -> list[str]:
    """Apply `changes` (field → new value) to `person`; the fields that really changed, in the
    contract's order, then this service's own (LOCAL_FIELDS). Nothing changed: no event, and
    the record is left as it was."""
    published = [f for f in FIELDS if f in changes and _plain(getattr(person, f)) != _plain(changes[f])]
    local = [f for f in LOCAL_FIELDS if f in changes and getattr(person, f) != changes[f]]
    if not published and not local:
        return []
    for field in [*published, *local]:
        setattr(person, field, changes[field])
    refresh_keys(person)
    at = datetime.now(UTC)
    person.updated_at = at
    session.add(person)
    if published:
        event = PersonUpdated(
            person_id=person.id,
            residency_status=ResidencyStatus(_plain(person.residency_status)),
            preferred_language=person.preferred_language,
            lives_alone=person.lives_alone,
            changed=published,
            cause=cause,
            updated_at=at,
        )
        enqueue(session, CloudEvent.of(event, time=at))
    return [*published, *local]


def residency_from_moves(event: CloudEvent, session: Session) -> None:
    """Handler for the housing topic: a person who moved into the town is a resident now."""
    body = event.body()
    if not isinstance(body, HouseholdMovedIn):
        return
    person = session.get(Person, body.person_id)
    if person is None or _plain(person.residency_status) == ResidencyStatus.RESIDENT.value:
        return
    correct(session, person, {"residency_status": ResidencyStatus.RESIDENT}, "MOVED_IN")
