"""Properties (空き家, 空き店舗, guest houses, お試し居住 residences), their status, and inquiries."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response, status
from sqlalchemy import update
from sqlmodel import col, select

from komagane_contracts.events.housing import PropertyInquired, PropertyKind, PropertyListed, PropertyRegistered, PropertyStatus, PropertyStatusChanged
from komagane_housing.lifecycle import OPEN_STATUSES, property_transition_allowed
from komagane_housing.lookups import get_or_404, publish, require_case_of, require_person, today
from komagane_housing.models import InquiryCreate, InquiryPublic, Property, PropertyCreate, PropertyInquiry, PropertyPublic, PropertyStatusUpdate
from komagane_housing.views import property_public
from komagane_kit.clock import now
from komagane_kit.errors import Problem
from komagane_kit.inputs import SafeStr
from komagane_kit.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page, page_by_id
from komagane_kit.service import DbSession

router = APIRouter(prefix="/v1/properties", tags=["properties"])
PropertyId = Annotated[SafeStr, Path(max_length=36)]


@router.post("", status_code=status.HTTP_201_CREATED, response_model=PropertyPublic)
def register_property(body: PropertyCreate, session: DbSession, response: Response) -> PropertyPublic:
    if body.owner_person_id:
        require_person(session, body.owner_person_id, "owner_person_id")
    registered = Property.model_validate(body, update={"kind": body.kind.value, "owner_kind": body.owner_kind.value})
    session.add(registered)
    publish(
        session,
        PropertyRegistered(
            property_id=registered.id,
            kind=body.kind,
            area=body.area,
            rooms=body.rooms,
            barrier_free=body.barrier_free,
            owner_kind=body.owner_kind.value,
            status=PropertyStatus.DRAFT,
        ),
    )
    session.commit()
    response.headers["Location"] = f"/v1/properties/{registered.id}"
    return property_public(registered)


@router.get("", response_model=Page[PropertyPublic])
def list_properties(
    session: DbSession,
    kind: PropertyKind | None = None,
    property_status: Annotated[PropertyStatus | None, Query(alias="status")] = None,
    area: Annotated[SafeStr | None, Query(max_length=100)] = None,
    cursor: Annotated[SafeStr | None, Query(max_length=500)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
) -> Page[PropertyPublic]:
    query = select(Property).order_by(col(Property.id))
    if kind:
        query = query.where(Property.kind == kind.value)
    if property_status:
        query = query.where(Property.status == property_status.value)
    if area:
        query = query.where(Property.area == area)
    return page_by_id(session, query, Property, cursor, limit, lambda p: property_public(p))


@router.get("/{property_id}", response_model=PropertyPublic)
def get_property(property_id: PropertyId, session: DbSession) -> PropertyPublic:
    return property_public(get_or_404(session, Property, property_id))


@router.post("/{property_id}/status", response_model=PropertyPublic)
def change_status(property_id: PropertyId, body: PropertyStatusUpdate, session: DbSession) -> PropertyPublic:
    found = get_or_404(session, Property, property_id)
    previous = PropertyStatus(found.status)
    if not property_transition_allowed(previous, body.status):
        raise Problem(
            409,
            "invalid-status-transition",
            f"A {previous.value} property cannot become {body.status.value}.",
            errors=[{"field": "status", "message": f"not allowed from {previous.value}"}],
        )
    # Conditional on the status read above, so two concurrent changes cannot both apply.
    changed = session.execute(update(Property).where(col(Property.id) == property_id, col(Property.status) == previous.value).values(status=body.status.value))
    if changed.rowcount != 1:  # type: ignore[attr-defined]
        session.rollback()
        raise Problem(409, "concurrent-change", "The property's status changed meanwhile; read it again and retry.")
    if body.status is PropertyStatus.LISTED:
        publish(session, PropertyListed(property_id=property_id, kind=PropertyKind(found.kind), area=found.area, previous_status=previous, listed_on=today()))
    else:
        publish(session, PropertyStatusChanged(property_id=property_id, previous_status=previous, status=body.status, changed_on=today(), reason=body.reason))
    session.commit()
    session.refresh(found)
    return property_public(found)


@router.post("/{property_id}/inquiries", status_code=status.HTTP_201_CREATED, response_model=InquiryPublic)
def inquire(property_id: PropertyId, body: InquiryCreate, session: DbSession) -> InquiryPublic:
    found = get_or_404(session, Property, property_id)
    if PropertyStatus(found.status) not in OPEN_STATUSES:
        raise Problem(409, "property-not-listed", f"The property is {found.status}; it takes inquiries only while listed.")
    require_person(session, body.person_id)
    if body.case_id:
        require_case_of(session, body.case_id, body.person_id)
    inquiry = PropertyInquiry(property_id=property_id, person_id=body.person_id, case_id=body.case_id, message=body.message, inquired_at=now())
    session.add(inquiry)
    publish(
        session,
        PropertyInquired(person_id=body.person_id, inquiry_id=inquiry.id, property_id=property_id, case_id=body.case_id, inquired_at=inquiry.inquired_at),
    )
    session.commit()
    return InquiryPublic.model_validate(inquiry)
