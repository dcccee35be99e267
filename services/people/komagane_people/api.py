"""HTTP API of the people service (reached through the gateway)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Path, Response, status
from sqlmodel import Session, select

from komagane_contracts.envelope import CloudEvent
from komagane_contracts.events.people import ConsentGranted, ConsentWithdrawn, PersonRegistered
from komagane_contracts.vocabulary import PURPOSE_PATTERN, age_band, age_decade, is_valid_purpose
from komagane_kit.errors import Problem
from komagane_kit.outbox import enqueue
from komagane_kit.service import DbSession
from komagane_people.models import Consent, ConsentPublic, Person, PersonCreate, PersonPublic

router = APIRouter(prefix="/v1/people", tags=["people"])

PersonId = Annotated[str, Path(min_length=1, max_length=36, description="Internal person id")]
PurposePath = Annotated[str, Path(max_length=80, pattern=PURPOSE_PATTERN, description="PROFILE, HEALTH, OUTREACH or PARTNER:<partner_id>")]


def _get_person(session: Session, person_id: str) -> Person:
    person = session.get(Person, person_id)
    if person is None:
        raise Problem(404, "person-not-found", f"No person with id {person_id}")
    return person


def _check_purpose(purpose: str) -> None:
    if not is_valid_purpose(purpose):
        raise Problem(
            422,
            "validation-error",
            f"Unknown consent purpose {purpose!r}: use PROFILE, HEALTH, OUTREACH or PARTNER:<partner_id>",
            title="Validation failed",
            errors=[{"field": "purpose", "message": "unknown purpose", "type": "value_error"}],
        )


def _public(session: Session, person: Person) -> PersonPublic:
    purposes = session.exec(select(Consent.purpose).where(Consent.person_id == person.id, Consent.granted == True)).all()  # noqa: E712
    return PersonPublic.model_validate(person, update={"consents": sorted(purposes)})


@router.post("", status_code=status.HTTP_201_CREATED, response_model=PersonPublic)
def register_person(body: PersonCreate, session: DbSession, response: Response) -> PersonPublic:
    person = Person.model_validate(body)
    session.add(person)
    event = PersonRegistered(
        person_id=person.id,
        age_band=age_band(person.birth_year, person.created_at.date()),
        age_decade=age_decade(person.birth_year, person.created_at.date()),
        residency_status=person.residency_status,
        preferred_language=person.preferred_language,
        lives_alone=person.lives_alone,
        registered_at=person.created_at,
    )
    enqueue(session, CloudEvent.of(event, time=person.created_at))
    session.commit()
    response.headers["Location"] = f"/v1/people/{person.id}"
    return _public(session, person)


@router.get("/{person_id}", response_model=PersonPublic)
def get_person(person_id: PersonId, session: DbSession) -> PersonPublic:
    return _public(session, _get_person(session, person_id))


@router.put("/{person_id}/consents/{purpose}", response_model=ConsentPublic)
def grant_consent(person_id: PersonId, purpose: PurposePath, session: DbSession) -> Consent:
    _check_purpose(purpose)
    _get_person(session, person_id)
    consent = session.get(Consent, (person_id, purpose))
    if consent is not None and consent.granted:
        return consent  # PUT is idempotent: already granted, nothing changes, no event
    now = datetime.now(UTC)
    if consent is None:
        consent = Consent(person_id=person_id, purpose=purpose, granted=True, granted_at=now)
    else:
        consent.granted, consent.granted_at, consent.withdrawn_at = True, now, None
    session.add(consent)
    enqueue(session, CloudEvent.of(ConsentGranted(person_id=person_id, purpose=purpose, granted_at=now), time=now))
    session.commit()
    return consent


@router.delete("/{person_id}/consents/{purpose}", status_code=status.HTTP_204_NO_CONTENT)
def withdraw_consent(person_id: PersonId, purpose: PurposePath, session: DbSession) -> Response:
    _check_purpose(purpose)
    _get_person(session, person_id)
    consent = session.get(Consent, (person_id, purpose))
    if consent is not None and consent.granted:
        now = datetime.now(UTC)
        consent.granted, consent.withdrawn_at = False, now
        session.add(consent)
        enqueue(session, CloudEvent.of(ConsentWithdrawn(person_id=person_id, purpose=purpose, withdrawn_at=now), time=now))
        session.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)
