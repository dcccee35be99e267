"""Volunteer shifts: a contributing role with hours; recorded, then read back (staff)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response, status
from sqlmodel import col, select

from komagane_contracts.events.exchange import VolunteerShiftCompleted
from komagane_exchange.lookups import get_or_404, get_or_422, publish, require_person
from komagane_exchange.models import Activity, Hub, VolunteerShift, VolunteerShiftCreate, VolunteerShiftPublic
from komagane_kit.clock import now, tokyo_date
from komagane_kit.errors import Problem
from komagane_kit.inputs import SafeStr
from komagane_kit.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page, page_by_id
from komagane_kit.service import DbSession

router = APIRouter(prefix="/v1/volunteer-shifts", tags=["volunteering"])
ShiftId = Annotated[SafeStr, Path(max_length=36)]


@router.post("", status_code=status.HTTP_201_CREATED, response_model=VolunteerShiftPublic)
def record_shift(body: VolunteerShiftCreate, session: DbSession, response: Response) -> VolunteerShiftPublic:
    require_person(session, body.person_id)
    if body.hub_id:
        get_or_422(session, Hub, body.hub_id, "hub_id")
    if body.activity_id:
        get_or_422(session, Activity, body.activity_id, "activity_id")
    if body.worked_on > tokyo_date(now()):
        raise Problem(
            422, "validation-error", "worked_on is in the future: record shifts once completed", errors=[{"field": "worked_on", "message": "in the future"}]
        )
    shift = VolunteerShift.model_validate(body)
    session.add(shift)
    publish(
        session,
        VolunteerShiftCompleted(
            person_id=body.person_id, shift_id=shift.id, hub_id=body.hub_id, activity_id=body.activity_id, worked_on=body.worked_on, hours=body.hours
        ),
    )
    session.commit()
    response.headers["Location"] = f"/v1/volunteer-shifts/{shift.id}"
    return VolunteerShiftPublic.model_validate(shift)


@router.get("", response_model=Page[VolunteerShiftPublic])
def list_shifts(
    session: DbSession,
    person_id: Annotated[SafeStr | None, Query(max_length=36)] = None,
    hub_id: Annotated[SafeStr | None, Query(max_length=36)] = None,
    cursor: Annotated[SafeStr | None, Query(max_length=500)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
) -> Page[VolunteerShiftPublic]:
    query = select(VolunteerShift).order_by(col(VolunteerShift.id))
    if person_id:
        query = query.where(VolunteerShift.person_id == person_id)
    if hub_id:
        query = query.where(VolunteerShift.hub_id == hub_id)
    return page_by_id(session, query, VolunteerShift, cursor, limit, VolunteerShiftPublic.model_validate)


@router.get("/{shift_id}", response_model=VolunteerShiftPublic)
def get_shift(shift_id: ShiftId, session: DbSession) -> VolunteerShiftPublic:
    return VolunteerShiftPublic.model_validate(get_or_404(session, VolunteerShift, shift_id))
