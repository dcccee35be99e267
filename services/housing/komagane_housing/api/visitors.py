"""People involved with the town without (yet) living there: workation stays and 関係人口; recorded, then read back."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response, status
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from komagane_contracts.events.housing import RelationshipKind, RelationshipRegistered, WorkationStayCompleted
from komagane_contracts.vocabulary import ResidencyStatus
from komagane_housing.lookups import get_or_404, get_or_422, invalid, not_future, publish, require_person, today
from komagane_housing.models import Property, Relationship, RelationshipCreate, RelationshipPublic, WorkationCreate, WorkationPublic, WorkationStay
from komagane_kit.errors import Problem
from komagane_kit.inputs import SafeStr
from komagane_kit.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page, page_by_id
from komagane_kit.service import DbSession

router = APIRouter(tags=["workation and relationships"])
EntityId = Annotated[SafeStr, Path(max_length=36)]
PersonFilter = Annotated[SafeStr | None, Query(max_length=36)]
Cursor = Annotated[SafeStr | None, Query(max_length=500)]
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT)]


@router.post("/v1/workation-stays", status_code=status.HTTP_201_CREATED, response_model=WorkationPublic)
def record_workation(body: WorkationCreate, session: DbSession, response: Response) -> WorkationPublic:
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
    response.headers["Location"] = f"/v1/workation-stays/{stay.id}"
    return _workation(stay)


def _workation(stay: WorkationStay) -> WorkationPublic:
    return WorkationPublic.model_validate(stay, update={"nights": (stay.ended_on - stay.started_on).days})


@router.get("/v1/workation-stays", response_model=Page[WorkationPublic])
def list_workation(session: DbSession, person_id: PersonFilter = None, cursor: Cursor = None, limit: Limit = DEFAULT_LIMIT) -> Page[WorkationPublic]:
    query = select(WorkationStay).order_by(col(WorkationStay.id))
    if person_id:
        query = query.where(WorkationStay.person_id == person_id)
    return page_by_id(session, query, WorkationStay, cursor, limit, _workation)


@router.get("/v1/workation-stays/{stay_id}", response_model=WorkationPublic)
def get_workation(stay_id: EntityId, session: DbSession) -> WorkationPublic:
    return _workation(get_or_404(session, WorkationStay, stay_id))


@router.post("/v1/relationships", status_code=status.HTTP_201_CREATED, response_model=RelationshipPublic)
def register_relationship(body: RelationshipCreate, session: DbSession, response: Response) -> RelationshipPublic:
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
    response.headers["Location"] = f"/v1/relationships/{relationship.id}"
    return RelationshipPublic.model_validate(relationship)


@router.get("/v1/relationships", response_model=Page[RelationshipPublic])
def list_relationships(
    session: DbSession, person_id: PersonFilter = None, kind: RelationshipKind | None = None, cursor: Cursor = None, limit: Limit = DEFAULT_LIMIT
) -> Page[RelationshipPublic]:
    query = select(Relationship).order_by(col(Relationship.id))
    if person_id:
        query = query.where(Relationship.person_id == person_id)
    if kind:
        query = query.where(Relationship.kind == kind.value)
    return page_by_id(session, query, Relationship, cursor, limit, RelationshipPublic.model_validate)


@router.get("/v1/relationships/{relationship_id}", response_model=RelationshipPublic)
def get_relationship(relationship_id: EntityId, session: DbSession) -> RelationshipPublic:
    return RelationshipPublic.model_validate(get_or_404(session, Relationship, relationship_id))
