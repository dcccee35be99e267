"""お試し居住 trial stays: booking a trial residence for a date range, check-in, completion, cancel.

Checking in (and completing) a stay linked to a migration case brings the case to TRIAL
(komagane_housing.stages).

No two live bookings of one residence overlap (dates are half-open: check_out is the day of
departure, so one stay may end on the day the next begins). The database enforces it:

- PostgreSQL: the exclusion constraint `ex_trial_stay_no_overlap` (migration 0001) over
  (property_id =, daterange(check_in, check_out) &&) for stays that are not CANCELLED. The
  insert is the check; no lock is taken, so concurrent bookings are decided by the constraint
  and the loser's exclusion violation (SQLSTATE 23P01) becomes 409 problem+json.
- SQLite (no exclusion constraints): the booking first takes the database write lock by
  bumping the property's `lock_version`, then checks for an overlap and inserts under it, so
  concurrent bookings are serialised.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response, status
from sqlalchemy import update
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session, col, select

from komagane_contracts.events.housing import (
    MigrationStage,
    PropertyKind,
    PropertyStatus,
    TrialStayBooked,
    TrialStayCancelled,
    TrialStayCompleted,
    TrialStayStarted,
)
from komagane_housing import stages
from komagane_housing.lifecycle import OPEN_STATUSES
from komagane_housing.lookups import get_or_404, invalid, publish, require_case_of, require_person, today
from komagane_housing.models import Property, StayStatus, TrialStay, TrialStayCreate, TrialStayPublic
from komagane_housing.views import stay_public
from komagane_kit.errors import Problem
from komagane_kit.inputs import FilterDate, SafeStr
from komagane_kit.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page, decode_cursor, encode_cursor
from komagane_kit.service import DbSession

router = APIRouter(prefix="/v1/trial-stays", tags=["trial stays"])
StayId = Annotated[SafeStr, Path(max_length=36)]
EXCLUSION_VIOLATION = "23P01"
DEADLOCK_DETECTED = "40P01"


def _overlap_problem(check_in: date, check_out: date) -> Problem:
    return Problem(
        409,
        "stay-overlaps",
        f"The residence is already booked for part of {check_in.isoformat()} – {check_out.isoformat()}.",
        errors=[{"field": "check_in", "message": "overlaps another booking of this residence"}],
    )


def _locked_property(session: Session, property_id: str) -> Property | None:
    """SQLite: the property row, with the database write lock held until the transaction ends."""
    session.execute(update(Property).where(col(Property.id) == property_id).values(lock_version=col(Property.lock_version) + 1))
    return session.exec(select(Property).where(Property.id == property_id).execution_options(populate_existing=True)).first()


def _overlaps(session: Session, property_id: str, check_in: date, check_out: date) -> bool:
    clash = session.exec(
        select(TrialStay.id).where(
            TrialStay.property_id == property_id,
            TrialStay.status != StayStatus.CANCELLED.value,
            col(TrialStay.check_in) < check_out,
            col(TrialStay.check_out) > check_in,
        )
    ).first()
    return clash is not None


def _advance(session: Session, stay: TrialStay, expected: StayStatus, target: StayStatus, **changes: Any) -> None:
    """Move a stay on only if it is still in `expected` (concurrent check-in and cancel cannot both win)."""
    result = session.execute(
        update(TrialStay).where(col(TrialStay.id) == stay.id, col(TrialStay.status) == expected.value).values(status=target.value, **changes)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        session.rollback()
        raise Problem(409, "concurrent-change", "The stay changed meanwhile; read it again and retry.")
    stay.status = target.value
    for name, value in changes.items():
        setattr(stay, name, value)


def _require_status(stay: TrialStay, expected: StayStatus, action: str) -> None:
    if stay.status != expected.value:
        raise Problem(409, "invalid-stay-state", f"The stay is {stay.status}; only a {expected.value} stay can be {action}.")


@router.post("", status_code=status.HTTP_201_CREATED, response_model=TrialStayPublic)
def book(body: TrialStayCreate, session: DbSession, response: Response) -> TrialStayPublic:
    if body.check_in < today():
        raise invalid("check_in", "in the past", "check_in is in the past: trial stays are booked ahead")
    postgres = session.get_bind().dialect.name == "postgresql"
    residence = session.get(Property, body.property_id) if postgres else _locked_property(session, body.property_id)
    if residence is None:
        raise invalid("property_id", "unknown property")
    if residence.kind != PropertyKind.TRIAL_RESIDENCE.value:
        raise invalid("property_id", "not a trial residence", f"Property {residence.id} is a {residence.kind}, not a trial residence")
    if PropertyStatus(residence.status) not in OPEN_STATUSES:
        raise Problem(409, "property-not-listed", f"The residence is {residence.status}; it takes bookings only while listed.")
    if residence.max_occupants is not None and body.household_size > residence.max_occupants:
        raise invalid("household_size", f"the residence takes at most {residence.max_occupants} people")
    require_person(session, body.person_id)
    if body.case_id:
        require_case_of(session, body.case_id, body.person_id)
    if not postgres and _overlaps(session, body.property_id, body.check_in, body.check_out):
        raise _overlap_problem(body.check_in, body.check_out)

    stay = TrialStay.model_validate(body)
    session.add(stay)
    try:
        session.flush()  # on PostgreSQL the exclusion constraint decides here
    except DBAPIError as exc:
        session.rollback()
        # Concurrent inserts that overlap wait on each other; PostgreSQL then either reports the
        # exclusion violation or aborts one of them as a deadlock. Both mean "it overlaps".
        if getattr(exc.orig, "sqlstate", None) in (EXCLUSION_VIOLATION, DEADLOCK_DETECTED):
            raise _overlap_problem(body.check_in, body.check_out) from exc
        raise
    publish(
        session,
        TrialStayBooked(
            person_id=body.person_id,
            stay_id=stay.id,
            property_id=body.property_id,
            case_id=body.case_id,
            check_in=body.check_in,
            check_out=body.check_out,
            nights=(body.check_out - body.check_in).days,
            household_size=body.household_size,
        ),
    )
    session.commit()
    response.headers["Location"] = f"/v1/trial-stays/{stay.id}"
    return stay_public(stay)


@router.get("", response_model=Page[TrialStayPublic])
def list_stays(
    session: DbSession,
    property_id: Annotated[SafeStr | None, Query(max_length=36)] = None,
    window_from: Annotated[FilterDate | None, Query(alias="from", description="Stays that last past this date")] = None,
    window_to: Annotated[FilterDate | None, Query(alias="to", description="Stays that begin before this date")] = None,
    stay_status: Annotated[StayStatus | None, Query(alias="status")] = None,
    cursor: Annotated[SafeStr | None, Query(max_length=500)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
) -> Page[TrialStayPublic]:
    query = select(TrialStay)
    if property_id:
        query = query.where(TrialStay.property_id == property_id)
    if window_from:
        query = query.where(col(TrialStay.check_out) > window_from)
    if window_to:
        query = query.where(col(TrialStay.check_in) < window_to)
    if stay_status:
        query = query.where(TrialStay.status == stay_status.value)
    after = decode_cursor(cursor, (date, str))
    if after is not None:
        after_day, after_id = after
        query = query.where((col(TrialStay.check_in) > after_day) | ((col(TrialStay.check_in) == after_day) & (col(TrialStay.id) > after_id)))
    found = list(session.exec(query.order_by(col(TrialStay.check_in), col(TrialStay.id)).limit(limit + 1)).all())
    page = found[:limit]
    next_cursor = encode_cursor(page[-1].check_in, page[-1].id) if len(found) > limit else None
    return Page(items=[stay_public(s) for s in page], next_cursor=next_cursor)


@router.get("/{stay_id}", response_model=TrialStayPublic)
def get_stay(stay_id: StayId, session: DbSession) -> TrialStayPublic:
    return stay_public(get_or_404(session, TrialStay, stay_id))


@router.post("/{stay_id}/check-in", response_model=TrialStayPublic)
def check_in(stay_id: StayId, session: DbSession) -> TrialStayPublic:
    stay = get_or_404(session, TrialStay, stay_id)
    _require_status(stay, StayStatus.BOOKED, "checked in")
    day = today()
    if not stay.check_in <= day < stay.check_out:
        raise Problem(409, "outside-stay-dates", f"Check-in is possible from {stay.check_in.isoformat()} until the day before {stay.check_out.isoformat()}.")
    _advance(session, stay, StayStatus.BOOKED, StayStatus.STARTED, checked_in_on=day)
    publish(session, TrialStayStarted(person_id=stay.person_id, stay_id=stay.id, property_id=stay.property_id, checked_in_on=day))
    stages.follow(session, stay.case_id, MigrationStage.TRIAL, on=day, cause=f"trial-stay/{stay.id}", note="Trial stay checked in")
    session.commit()
    return stay_public(stay)


@router.post("/{stay_id}/completion", response_model=TrialStayPublic)
def complete(stay_id: StayId, session: DbSession) -> TrialStayPublic:
    stay = get_or_404(session, TrialStay, stay_id)
    _require_status(stay, StayStatus.STARTED, "completed")
    day = today()
    arrived = stay.checked_in_on or stay.check_in
    nights = min((day - arrived).days, (stay.check_out - stay.check_in).days)  # an early departure counts what was stayed
    _advance(session, stay, StayStatus.STARTED, StayStatus.COMPLETED, completed_on=day)
    publish(
        session,
        TrialStayCompleted(
            person_id=stay.person_id, stay_id=stay.id, property_id=stay.property_id, case_id=stay.case_id, check_in=arrived, completed_on=day, nights=nights
        ),
    )
    stages.follow(session, stay.case_id, MigrationStage.TRIAL, on=day, cause=f"trial-stay/{stay.id}", note="Trial stay completed")
    session.commit()
    return stay_public(stay)


@router.delete("/{stay_id}", status_code=status.HTTP_204_NO_CONTENT)
def cancel(stay_id: StayId, session: DbSession) -> Response:
    """Cancelling frees the dates at once: cancelled stays are outside the overlap rule."""
    stay = get_or_404(session, TrialStay, stay_id)
    _require_status(stay, StayStatus.BOOKED, "cancelled")
    day = today()
    _advance(session, stay, StayStatus.BOOKED, StayStatus.CANCELLED, cancelled_on=day)
    publish(
        session,
        TrialStayCancelled(
            person_id=stay.person_id, stay_id=stay.id, property_id=stay.property_id, check_in=stay.check_in, check_out=stay.check_out, cancelled_on=day
        ),
    )
    session.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)
