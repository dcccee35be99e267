"""HEALTH consent, replicated from the people topic: the gate in front of every S2 intake.

The kit's people replica records registrations only, so this service keeps its own small table
of HEALTH consent next to it. The people topic is keyed by person id, so a person's grants and
withdrawals arrive in order; the consumer runs the handler in the same transaction as its inbox
entry, so a withdrawal and the event announcing it are written together or not at all.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlmodel import Field, Session, SQLModel, col, select

from komagane_contracts.envelope import CloudEvent
from komagane_contracts.events.health import HealthDataConsentWithdrawn
from komagane_contracts.events.people import ConsentGranted, ConsentWithdrawn
from komagane_kit.errors import Problem
from komagane_kit.outbox import enqueue
from komagane_kit.people_replica import replicate_people

HEALTH_PURPOSE = "HEALTH"


class HealthConsent(SQLModel, table=True):
    __tablename__ = "health_consent"
    person_id: str = Field(primary_key=True, max_length=36)
    granted: bool
    changed_at: datetime


def replicate_people_and_consent(event: CloudEvent, session: Session) -> None:
    """Handler for the people topic: registrations (the kit's replica) and HEALTH consent."""
    replicate_people(event, session)
    body = event.body()
    if isinstance(body, ConsentGranted) and body.purpose == HEALTH_PURPOSE:
        session.merge(HealthConsent(person_id=body.person_id, granted=True, changed_at=body.granted_at))
    elif isinstance(body, ConsentWithdrawn) and body.purpose == HEALTH_PURPOSE:
        was_granted = has_health_consent(session, body.person_id)
        session.merge(HealthConsent(person_id=body.person_id, granted=False, changed_at=body.withdrawn_at))
        if was_granted:
            # Only a real change is announced; a redelivered or stray withdrawal is not.
            enqueue(session, CloudEvent.of(HealthDataConsentWithdrawn(person_id=body.person_id, withdrawn_at=body.withdrawn_at), time=body.withdrawn_at))


def has_health_consent(session: Session, person_id: str) -> bool:
    consent = session.get(HealthConsent, person_id)
    return consent is not None and consent.granted


def consenting(session: Session, person_ids: Iterable[str]) -> set[str]:
    """Which of `person_ids` hold HEALTH consent now (one query per 500 ids)."""
    ids = list(dict.fromkeys(person_ids))
    found: set[str] = set()
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        query = select(HealthConsent.person_id).where(col(HealthConsent.person_id).in_(chunk), col(HealthConsent.granted).is_(True))
        found.update(session.exec(query).all())
    return found


def require_health_consent(session: Session, person_id: str, field: str = "person_id") -> None:
    """S2 data is accepted only with HEALTH consent: otherwise 403, and nothing is stored."""
    if not has_health_consent(session, person_id):
        raise Problem(
            403,
            "health-consent-required",
            f"Person {person_id} has not consented to the use of health data (purpose HEALTH); nothing was stored.",
            errors=[{"field": field, "message": "no HEALTH consent"}],
        )
