"""People involved with the town without (yet) living there: workation stays and 関係人口."""

from __future__ import annotations

from fastapi import APIRouter, status
from sqlalchemy.exc import IntegrityError

from komagane_contracts.events.housing import RelationshipRegistered, WorkationStayCompleted
from komagane_contracts.vocabulary import ResidencyStatus
from komagane_housing.lookups import get_or_422, invalid, not_future, publish, require_person, today
from komagane_housing.models import Property, Relationship, RelationshipCreate, RelationshipPublic, WorkationCreate, WorkationPublic, WorkationStay
from komagane_kit.errors import Problem
from komagane_kit.service import DbSession

router = APIRouter(tags=["workation and relationships"])


@router.post("/v1/workation-stays", status_code=status.HTTP_201_CREATED, response_model=WorkationPublic)
def record_workation(body: WorkationCreate, session: DbSession) -> WorkationPublic:
    """Recorded once the stay has ended, so the event says it was completed."""
    require_person(session, body.person_id)
    not_future(body.ended_on, "ended_on")
    if body.property_id:
        get_or_422(session, Property, body.property_id, "property_id")
    stay = WorkationStay.model_validate(body)
    session.add(stay)
    nights = (body.ended_on - body.started_on).days
    publish(
        session,
        WorkationStayCompleted(
            person_id=body.person_id, stay_id=stay.id, property_id=body.property_id, started_on=body.started_on, ended_on=body.ended_on, nights=nights
        ),
    )
    session.commit()
    return WorkationPublic.model_validate(stay, update={"nights": nights})


@router.post("/v1/relationships", status_code=status.HTTP_201_CREATED, response_model=RelationshipPublic)
def register_relationship(body: RelationshipCreate, session: DbSession) -> RelationshipPublic:
    person = require_person(session, body.person_id)
    if person.residency_status == ResidencyStatus.RESIDENT.value:
        raise invalid("person_id", "a resident", "関係人口 are people involved with the town without living there; this person is a RESIDENT.")
    relationship = Relationship(person_id=body.person_id, kind=body.kind.value, note=body.note, registered_on=today())
    session.add(relationship)
    publish(
        session, RelationshipRegistered(person_id=body.person_id, relationship_id=relationship.id, kind=body.kind, registered_on=relationship.registered_on)
    )
    try:
        session.commit()
    except IntegrityError as exc:  # uq_relationship_person_kind: registered before, perhaps concurrently
        session.rollback()
        raise Problem(409, "already-registered", f"This person is already registered as {body.kind.value}.") from exc
    return RelationshipPublic.model_validate(relationship)
