"""HTTP API of the people service (reached through the gateway)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Body, Path, Request, Response, status
from sqlmodel import Session, col, select

from komagane_contracts.envelope import CloudEvent
from komagane_contracts.events.people import ConsentGranted, ConsentWithdrawn, PersonErased, PersonRegistered
from komagane_contracts.vocabulary import PURPOSE_PATTERN, age_band, age_decade, is_valid_purpose
from komagane_kit.disclosure import requester_of
from komagane_kit.erasure import erased_at, remember_erased
from komagane_kit.errors import Problem
from komagane_kit.internal_auth import Identity
from komagane_kit.outbox import enqueue
from komagane_kit.service import DbSession
from komagane_people.care import CareFollowUp
from komagane_people.corrections import correct
from komagane_people.hub_ties import PersonHub, tie
from komagane_people.members import next_member_number
from komagane_people.models import (
    Consent,
    ConsentChange,
    ConsentChangePublic,
    ConsentPublic,
    ConsentsPublic,
    Person,
    PersonCreate,
    PersonErasure,
    PersonPatch,
    PersonPublic,
    refresh_keys,
)
from komagane_people.persons import PersonId, person_or_problem
from komagane_people.rights_log import record_request

router = APIRouter(prefix="/v1/people", tags=["people"])

PurposePath = Annotated[str, Path(max_length=80, pattern=PURPOSE_PATTERN, description="PROFILE, HEALTH, OUTREACH or PARTNER:<partner_id>")]


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
def register_person(body: PersonCreate, session: DbSession, request: Request, response: Response) -> PersonPublic:
    """Gives the person their member number; staff registering at their hub make the person
    known there (hub_ties.py), so the hub's search finds them at once."""
    person = Person.model_validate(body, update={"member_number": next_member_number(session)})
    refresh_keys(person)
    session.add(person)
    session.flush()
    identity: Identity | None = getattr(request.state, "identity", None)
    if identity is not None and identity.hub_id:
        tie(session, person.id, identity.hub_id.split(), "REGISTERED", person.created_at)
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
    return _public(session, person_or_problem(session, person_id))


# Who may correct someone else's record (the person may always correct their own).
CORRECTING_ROLES = frozenset({"staff", "admin"})
MERGE_PATCH = "application/merge-patch+json"
_PATCH_SCHEMA = {"schema": {"$ref": "#/components/schemas/PersonPatch"}}


@router.patch(
    "/{person_id}",
    response_model=PersonPublic,
    summary="Correct a person's record (訂正)",
    openapi_extra={"requestBody": {"content": {"application/json": _PATCH_SCHEMA}}},
    responses={404: {"description": "No such person"}},
)
def correct_person(person_id: PersonId, body: Annotated[PersonPatch, Body(media_type=MERGE_PATCH)], request: Request, session: DbSession) -> PersonPublic:
    """JSON merge patch (RFC 7396) as `application/merge-patch+json`, or the same object as
    `application/json`: the fields given are set, those left out stay. Any real change publishes
    `PersonUpdated` (names of the changed fields, current residency, language and household —
    never name or contact). Every request is recorded in the person's rights log."""
    requester = requester_of(request, person_id)
    if not requester.by_the_person and not requester.roles & CORRECTING_ROLES:
        raise Problem(403, "forbidden", "Only the person themself or staff may correct a person's record.")
    person = person_or_problem(session, person_id)
    changed = correct(session, person, body.model_dump(exclude_unset=True), "CORRECTION")
    record_request(session, "CORRECTION", requester, "changed: " + (", ".join(changed) or "nothing"))
    session.commit()
    return _public(session, person)


@router.get("/{person_id}/consents", response_model=ConsentsPublic, summary="A person's consents and the history of their grants and withdrawals")
def consents_of(person_id: PersonId, session: DbSession) -> ConsentsPublic:
    person_or_problem(session, person_id)
    present = session.exec(select(Consent).where(Consent.person_id == person_id).order_by(col(Consent.purpose))).all()
    changes = session.exec(
        select(ConsentChange).where(ConsentChange.person_id == person_id).order_by(col(ConsentChange.at).desc(), col(ConsentChange.id).desc())
    ).all()
    return ConsentsPublic(
        consents=[ConsentPublic.model_validate(c) for c in present],
        history=[ConsentChangePublic(purpose=c.purpose, action=c.action, at=c.at.replace(tzinfo=c.at.tzinfo or UTC)) for c in changes],
    )


@router.put("/{person_id}/consents/{purpose}", response_model=ConsentPublic)
def grant_consent(person_id: PersonId, purpose: PurposePath, session: DbSession) -> Consent:
    _check_purpose(purpose)
    person_or_problem(session, person_id)
    consent = session.get(Consent, (person_id, purpose))
    if consent is not None and consent.granted:
        return consent  # PUT is idempotent: already granted, nothing changes, no event
    now = datetime.now(UTC)
    if consent is None:
        consent = Consent(person_id=person_id, purpose=purpose, granted=True, granted_at=now)
    else:
        consent.granted, consent.granted_at, consent.withdrawn_at = True, now, None
    session.add(consent)
    session.add(ConsentChange(person_id=person_id, purpose=purpose, action="GRANTED", at=now))
    enqueue(session, CloudEvent.of(ConsentGranted(person_id=person_id, purpose=purpose, granted_at=now), time=now))
    session.commit()
    return consent


@router.delete("/{person_id}/consents/{purpose}", status_code=status.HTTP_204_NO_CONTENT)
def withdraw_consent(person_id: PersonId, purpose: PurposePath, session: DbSession) -> Response:
    _check_purpose(purpose)
    person_or_problem(session, person_id)
    consent = session.get(Consent, (person_id, purpose))
    if consent is not None and consent.granted:
        now = datetime.now(UTC)
        consent.granted, consent.withdrawn_at = False, now
        session.add(consent)
        session.add(ConsentChange(person_id=person_id, purpose=purpose, action="WITHDRAWN", at=now))
        enqueue(session, CloudEvent.of(ConsentWithdrawn(person_id=person_id, purpose=purpose, withdrawn_at=now), time=now))
        session.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.delete(
    "/{person_id}",
    response_model=PersonErasure,
    responses={404: {"description": "No such person"}},
    summary="Erase a person (APPI 利用停止・消去)",
)
def erase_person(person_id: PersonId, session: DbSession) -> PersonErasure:
    """Name, contact and consents are deleted here at once; `PersonErased` makes every other
    service, the profiles and the partner feeds forget the person (docs/erasure.md). Erasing
    again gives the same answer; afterwards every write about the person is refused (410)."""
    already = erased_at(session, person_id)
    if already is not None:
        return PersonErasure(person_id=person_id, erased_at=already)
    person = session.get(Person, person_id)
    if person is None:
        raise Problem(404, "person-not-found", f"No person with id {person_id}")
    now = datetime.now(UTC)
    for consent in session.exec(select(Consent).where(Consent.person_id == person_id)):
        session.delete(consent)
    for change in session.exec(select(ConsentChange).where(ConsentChange.person_id == person_id)):
        session.delete(change)
    for known in session.exec(select(PersonHub).where(PersonHub.person_id == person_id)):
        session.delete(known)
    for follow_up in session.exec(select(CareFollowUp).where(CareFollowUp.person_id == person_id)):
        session.delete(follow_up)  # notes may name the person's family: they go with the name
    session.flush()
    session.delete(person)
    remember_erased(session, person_id, now)
    enqueue(session, CloudEvent.of(PersonErased(person_id=person_id, erased_at=now), time=now))
    session.commit()
    return PersonErasure(person_id=person_id, erased_at=now)
