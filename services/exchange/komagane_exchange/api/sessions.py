"""Sessions: listing, reservations with a waitlist, attendance, holding and cancelling.

Capacity holds under concurrency: every reservation change first takes the session row's
write lock (an UPDATE of `lock_version`), so on PostgreSQL concurrent requests for one session
queue on the row and on SQLite on the database write lock; counting and inserting then happen
under that lock.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response, status
from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from komagane_contracts.events.exchange import (
    ActivityCategory,
    InternationalExchangeHeld,
    ParticipantAttended,
    ReservationCancelled,
    ReservationStatus,
    SessionCancelled,
    SessionHeld,
    SessionReserved,
)
from komagane_exchange.lookups import get_or_404, locked, publish, require_person, require_staff
from komagane_exchange.models import (
    Activity,
    Attendance,
    AttendanceCreate,
    AttendancePublic,
    Reservation,
    ReservationCreate,
    ReservationPublic,
    SessionCancelCreate,
    SessionHeldCreate,
    SessionPublic,
    SessionStatus,
)
from komagane_exchange.models import Session as ExchangeSession
from komagane_exchange.settings import ExchangeSettings
from komagane_exchange.views import attendance_view, session_view, waitlist_position
from komagane_kit.clock import aware, from_db, now, tokyo_date
from komagane_kit.errors import Problem
from komagane_kit.inputs import FilterTime, SafeStr
from komagane_kit.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page, decode_cursor, encode_cursor
from komagane_kit.service import DbSession

router = APIRouter(prefix="/v1/sessions", tags=["sessions"])
SessionId = Annotated[SafeStr, Path(max_length=36)]
PersonId = Annotated[SafeStr, Path(max_length=36)]
CANCELLED = "CANCELLED"


def _active(session: Session, session_id: str, person_id: str) -> Reservation | None:
    reservation = session.exec(select(Reservation).where(Reservation.session_id == session_id, Reservation.person_id == person_id)).first()
    return reservation if reservation is not None and reservation.status != CANCELLED else None


@router.get("", response_model=Page[SessionPublic])
def list_sessions(
    session: DbSession,
    hub_id: Annotated[SafeStr | None, Query(max_length=36)] = None,
    starts_from: Annotated[FilterTime | None, Query(alias="from", description="Sessions starting at or after (Asia/Tokyo if no offset)")] = None,
    starts_to: Annotated[FilterTime | None, Query(alias="to", description="Sessions starting before")] = None,
    category: ActivityCategory | None = None,
    language: Annotated[SafeStr | None, Query(max_length=35, description="BCP 47 tag the session is held in")] = None,
    cursor: Annotated[SafeStr | None, Query(max_length=500)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
) -> Page[SessionPublic]:
    query = select(ExchangeSession, Activity).join(Activity, col(Activity.id) == col(ExchangeSession.activity_id))
    if hub_id:
        query = query.where(ExchangeSession.hub_id == hub_id)
    if starts_from:
        query = query.where(col(ExchangeSession.starts_at) >= aware(starts_from))
    if starts_to:
        query = query.where(col(ExchangeSession.starts_at) < aware(starts_to))
    if category:
        query = query.where(Activity.category == category.value)
    if language:
        query = query.where(col(Activity.languages).contains(f'"{language}"'))
    after = decode_cursor(cursor, (datetime, str))
    if after is not None:
        after_start, after_id = after
        query = query.where(
            (col(ExchangeSession.starts_at) > after_start) | ((col(ExchangeSession.starts_at) == after_start) & (col(ExchangeSession.id) > after_id))
        )
    rows = list(session.exec(query.order_by(col(ExchangeSession.starts_at), col(ExchangeSession.id)).limit(limit + 1)).all())
    page = rows[:limit]
    next_cursor = None
    if len(rows) > limit:
        last = page[-1][0]
        next_cursor = encode_cursor(from_db(last.starts_at).replace(tzinfo=None), last.id)
    return Page(items=[session_view(s, a) for s, a in page], next_cursor=next_cursor)


@router.get("/{session_id}", response_model=SessionPublic)
def get_session(session_id: SessionId, session: DbSession) -> SessionPublic:
    found = get_or_404(session, ExchangeSession, session_id)
    return session_view(found, get_or_404(session, Activity, found.activity_id))


@router.post("/{session_id}/reservations", status_code=status.HTTP_201_CREATED, response_model=ReservationPublic)
def reserve(session_id: SessionId, body: ReservationCreate, session: DbSession) -> ReservationPublic:
    target = locked(session, ExchangeSession, session_id)
    if target.status != SessionStatus.SCHEDULED.value:
        raise Problem(409, "session-not-open", f"The session is {target.status.lower()}; reservations are closed.")
    if from_db(target.starts_at) <= now():
        raise Problem(409, "session-started", "The session has already started; reservations are closed.")
    require_person(session, body.person_id)
    if _active(session, session_id, body.person_id) is not None:
        raise Problem(409, "already-reserved", "This person already holds a reservation or waitlist place for this session.")
    activity = get_or_404(session, Activity, target.activity_id)
    last_seq = session.exec(select(func.max(Reservation.seq)).where(Reservation.session_id == session_id)).one()
    seat_free = target.reserved_count < target.capacity
    reservation = session.exec(select(Reservation).where(Reservation.session_id == session_id, Reservation.person_id == body.person_id)).first()
    reservation = reservation or Reservation(session_id=session_id, person_id=body.person_id, status="", seq=0)
    reservation.status = (ReservationStatus.RESERVED if seat_free else ReservationStatus.WAITLISTED).value
    reservation.seq = int(last_seq or 0) + 1
    reservation.created_at = now()
    session.add(reservation)
    if seat_free:
        target.reserved_count += 1
        session.add(target)
    session.flush()
    position = None if seat_free else waitlist_position(session, reservation)
    result_status = ReservationStatus(reservation.status)
    publish(
        session,
        SessionReserved(person_id=body.person_id, session_id=session_id, hub_id=target.hub_id, status=result_status, waitlist_position=position),
        sensitive=activity.support_specific,
    )
    session.commit()
    return ReservationPublic(session_id=session_id, person_id=body.person_id, status=result_status, waitlist_position=position)


@router.delete("/{session_id}/reservations/{person_id}", status_code=status.HTTP_204_NO_CONTENT)
def cancel_reservation(session_id: SessionId, person_id: PersonId, session: DbSession) -> Response:
    target = locked(session, ExchangeSession, session_id)
    reservation = _active(session, session_id, person_id)
    if reservation is None:
        raise Problem(404, "reservation-not-found", "This person holds no reservation for this session.")
    activity = get_or_404(session, Activity, target.activity_id)
    promoted: str | None = None
    if reservation.status == ReservationStatus.RESERVED.value:
        first_waiting = session.exec(
            select(Reservation)
            .where(Reservation.session_id == session_id, Reservation.status == ReservationStatus.WAITLISTED.value)
            .order_by(col(Reservation.seq))
        ).first()
        if first_waiting is not None:
            first_waiting.status = ReservationStatus.RESERVED.value  # the freed seat passes on
            promoted = first_waiting.person_id
            session.add(first_waiting)
        else:
            target.reserved_count -= 1
            session.add(target)
    reservation.status = CANCELLED
    session.add(reservation)
    publish(
        session,
        ReservationCancelled(person_id=person_id, session_id=session_id, hub_id=target.hub_id, promoted_person_id=promoted),
        sensitive=activity.support_specific,
    )
    session.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/{session_id}/attendance", status_code=status.HTTP_201_CREATED, response_model=AttendancePublic)
def record_attendance(session_id: SessionId, body: AttendanceCreate, session: DbSession, request: Request, response: Response) -> AttendancePublic:
    settings: ExchangeSettings = request.app.state.settings
    target = get_or_404(session, ExchangeSession, session_id)
    if target.status == SessionStatus.CANCELLED.value:
        raise Problem(409, "session-cancelled", "The session was cancelled; no attendance can be recorded.")
    current = now()
    opens = from_db(target.starts_at) - timedelta(minutes=settings.checkin_opens_minutes)
    if body.attended_at is not None:
        # Staff typing in a paper register of a past session: the time is when it happened.
        require_staff(request, "attended_at")
        attended_at = aware(body.attended_at)
        if not opens <= attended_at <= min(from_db(target.ends_at), current):
            raise Problem(
                422,
                "validation-error",
                "attended_at must lie within the session and not in the future.",
                title="Validation failed",
                errors=[{"field": "attended_at", "message": "outside the session or in the future"}],
            )
    else:
        attended_at = current
        closes = from_db(target.ends_at) + timedelta(hours=settings.attendance_grace_hours)
        if not opens <= current <= closes:
            raise Problem(409, "session-not-under-way", "Attendance is recorded only while a session is under way or recently held.")
    require_person(session, body.person_id)
    if body.check_in_code is not None and body.check_in_code != target.check_in_code:
        raise Problem(
            422, "check-in-code-mismatch", "The check-in code does not match this session.", errors=[{"field": "check_in_code", "message": "does not match"}]
        )
    if session.exec(select(Attendance).where(Attendance.session_id == session_id, Attendance.person_id == body.person_id)).first():
        raise Problem(409, "already-attended", "Attendance for this person at this session is already recorded.")
    activity = get_or_404(session, Activity, target.activity_id)
    attendance = Attendance(
        session_id=session_id,
        person_id=body.person_id,
        mode=body.mode.value,
        attended_at=attended_at,
        recorded_by=body.proxy.staff_id if body.proxy else None,
        proxy_reason=body.proxy.reason if body.proxy else None,
    )
    session.add(attendance)
    publish(
        session,
        ParticipantAttended(
            person_id=body.person_id,
            attendance_id=attendance.id,
            session_id=session_id,
            activity_id=activity.id,
            hub_id=target.hub_id,
            category=ActivityCategory(activity.category),
            is_kayoinoba=activity.is_kayoinoba,
            mode=body.mode,
            attended_at=attended_at,
            recorded_by=attendance.recorded_by,
            proxy_reason=attendance.proxy_reason,
        ),
        sensitive=activity.support_specific,
    )
    try:
        session.commit()
    except IntegrityError as exc:  # a concurrent duplicate won the race
        session.rollback()
        raise Problem(409, "already-attended", "Attendance for this person at this session is already recorded.") from exc
    response.headers["Location"] = f"/v1/sessions/{session_id}/attendance/{attendance.id}"
    return attendance_view(attendance)


@router.post("/{session_id}/held", response_model=SessionPublic)
def mark_held(session_id: SessionId, body: SessionHeldCreate, session: DbSession) -> SessionPublic:
    target = locked(session, ExchangeSession, session_id)
    if target.status != SessionStatus.SCHEDULED.value:
        raise Problem(409, "session-not-open", f"The session is already {target.status.lower()}.")
    if from_db(target.starts_at) > now():
        raise Problem(409, "session-not-started", "A session can be marked held once it has started.")
    activity = get_or_404(session, Activity, target.activity_id)
    attendees = int(session.exec(select(func.count()).select_from(Attendance).where(Attendance.session_id == session_id)).one())
    target.status = SessionStatus.HELD.value
    session.add(target)
    held_on = tokyo_date(from_db(target.starts_at))
    if activity.category == ActivityCategory.INTERNATIONAL.value:
        publish(
            session,
            InternationalExchangeHeld(
                hub_id=target.hub_id, session_id=session_id, activity_id=activity.id, held_on=held_on, attendees=attendees, countries=body.countries
            ),
        )
    else:
        publish(
            session,
            SessionHeld(
                hub_id=target.hub_id,
                session_id=session_id,
                activity_id=activity.id,
                category=ActivityCategory(activity.category),
                held_on=held_on,
                attendees=attendees,
            ),
        )
    session.commit()
    return session_view(target, activity)


@router.post("/{session_id}/cancel", response_model=SessionPublic)
def cancel_session(session_id: SessionId, body: SessionCancelCreate, session: DbSession) -> SessionPublic:
    """Cancel the whole session; the event tells everyone holding a place (notifications)."""
    target = locked(session, ExchangeSession, session_id)
    if target.status != SessionStatus.SCHEDULED.value:
        raise Problem(409, "session-not-open", f"The session is already {target.status.lower()}.")
    activity = get_or_404(session, Activity, target.activity_id)
    affected = int(
        session.exec(select(func.count()).select_from(Reservation).where(Reservation.session_id == session_id, Reservation.status != CANCELLED)).one()
    )
    target.status = SessionStatus.CANCELLED.value
    session.add(target)
    publish(session, SessionCancelled(hub_id=target.hub_id, session_id=session_id, activity_id=activity.id, reason=body.reason, affected_reservations=affected))
    session.commit()
    return session_view(target, activity)
