"""A local replica of registered people, kept by every pillar service from the people topic.

Write paths check it instead of calling the people service, so a pillar keeps working when the
people service is down. It holds only what other services may know: id, age band, residency.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import bindparam, select
from sqlmodel import Field, Session, SQLModel

from komagane_contracts.envelope import CloudEvent
from komagane_contracts.events.people import PersonErased, PersonRegistered, PersonUpdated
from komagane_kit.erasure import forget_person, is_erased
from komagane_kit.remembered import RememberedIds


class KnownPerson(SQLModel, table=True):
    __tablename__ = "known_person"

    person_id: str = Field(primary_key=True, max_length=36)
    # Plain strings in the table (values of AgeBand and ResidencyStatus), so that both SQLite
    # and PostgreSQL store the contract's values rather than enum member names.
    age_band: str = Field(max_length=10)
    residency_status: str = Field(max_length=20)
    registered_at: datetime
    replicated_at: datetime = Field(default_factory=lambda: datetime.now(UTC))


def replicate_people(event: CloudEvent, session: Session) -> None:
    """EventConsumer handler for the people topic; other event types are not needed here.

    A correction (PersonUpdated) carries the current residency, so applying it is the same
    whatever was missed before; it follows its registration on the same partition (same key).
    An erasure makes the service forget the person in every table (komagane_kit.erasure); a
    registration replayed after it does not bring them back.
    """
    body = event.body()
    if isinstance(body, PersonErased):
        forget_person(session, body.person_id, when=body.erased_at)
        _REGISTERED.forget(session, body.person_id)
    elif isinstance(body, PersonUpdated):
        known = session.get(KnownPerson, body.person_id)
        if known is not None and known.residency_status != body.residency_status.value:
            known.residency_status = body.residency_status.value
            session.add(known)
    elif isinstance(body, PersonRegistered) and not is_erased(session, body.person_id):
        session.merge(
            KnownPerson(
                person_id=body.person_id,
                age_band=body.age_band.value,
                residency_status=body.residency_status.value,
                registered_at=body.registered_at,
            )
        )


def known_person(session: Session, person_id: str) -> KnownPerson | None:
    return session.get(KnownPerson, person_id)


_PERSON_ID = KnownPerson.__table__.c.person_id  # type: ignore[attr-defined]
# One statement object for every check (its compiled form is found by a key computed once).
_IS_REGISTERED = select(_PERSON_ID).where(bindparam("person_id") == _PERSON_ID)


# Replica rows are deleted only by an erasure, which forgets the id here too: a person once
# found is asked of the database no more.
_REGISTERED = RememberedIds()


def is_registered(session: Session, person_id: str) -> bool:
    """The check alone: one column read, no object loaded, and none for a person found before."""
    if _REGISTERED.known(session, person_id):
        return True
    if session.connection().execute(_IS_REGISTERED, {"person_id": person_id}).first() is None:
        return False
    _REGISTERED.learn(session, person_id)
    return True
