"""A session's roster for hub staff: reservations in arrival order, the waitlist, who checked in,
and the self check-in code to show at the door (the console's "Today at my hub")."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path
from sqlmodel import SQLModel, col, select

from komagane_contracts.events.exchange import ReservationStatus
from komagane_exchange.lookups import get_or_404
from komagane_exchange.models import Activity, Attendance, AttendancePublic, Reservation, SessionStaffView
from komagane_exchange.models import Session as ExchangeSession
from komagane_exchange.views import attendance_view, session_view
from komagane_kit.clock import TOKYO, from_db
from komagane_kit.inputs import SafeStr
from komagane_kit.service import DbSession

router = APIRouter(prefix="/v1/sessions", tags=["sessions"])
SessionId = Annotated[SafeStr, Path(max_length=36)]


class RosterEntry(SQLModel):
    person_id: str
    status: ReservationStatus
    waitlist_position: int | None = None
    reserved_at: datetime


class Roster(SQLModel):
    session: SessionStaffView
    reservations: list[RosterEntry]
    attendance: list[AttendancePublic]


@router.get("/{session_id}/roster", response_model=Roster, summary="A session's reservations, waitlist and attendance (staff)")
def session_roster(session_id: SessionId, session: DbSession) -> Roster:
    found = get_or_404(session, ExchangeSession, session_id)
    activity = get_or_404(session, Activity, found.activity_id)
    held = session.exec(select(Reservation).where(Reservation.session_id == session_id, Reservation.status != "CANCELLED").order_by(col(Reservation.seq))).all()
    entries: list[RosterEntry] = []
    waiting = 0
    for reservation in held:
        status = ReservationStatus(reservation.status)
        position = None
        if status == ReservationStatus.WAITLISTED:
            waiting += 1
            position = waiting
        entries.append(
            RosterEntry(
                person_id=reservation.person_id, status=status, waitlist_position=position, reserved_at=from_db(reservation.created_at).astimezone(TOKYO)
            )
        )
    attended = session.exec(select(Attendance).where(Attendance.session_id == session_id).order_by(col(Attendance.attended_at))).all()
    return Roster(
        session=SessionStaffView.model_validate(session_view(found, activity), update={"check_in_code": found.check_in_code}),
        reservations=entries,
        attendance=[attendance_view(a) for a in attended],
    )
