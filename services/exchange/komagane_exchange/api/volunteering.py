"""Volunteer shifts: a contributing role with hours."""

from __future__ import annotations

from fastapi import APIRouter, status

from komagane_contracts.events.exchange import VolunteerShiftCompleted
from komagane_exchange.lookups import get_or_422, publish, require_person
from komagane_exchange.models import Activity, Hub, VolunteerShift, VolunteerShiftCreate, VolunteerShiftPublic
from komagane_kit.clock import now, tokyo_date
from komagane_kit.errors import Problem
from komagane_kit.service import DbSession

router = APIRouter(prefix="/v1/volunteer-shifts", tags=["volunteering"])


@router.post("", status_code=status.HTTP_201_CREATED, response_model=VolunteerShiftPublic)
def record_shift(body: VolunteerShiftCreate, session: DbSession) -> VolunteerShiftPublic:
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
    return VolunteerShiftPublic.model_validate(shift)
