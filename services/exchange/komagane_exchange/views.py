"""Output shapes built from several tables."""

from __future__ import annotations

from sqlalchemy import func
from sqlmodel import Session, col, select

from komagane_contracts.events.exchange import ActivityCategory, ReservationStatus
from komagane_exchange.lookups import load_list
from komagane_exchange.models import Activity, Attendance, AttendancePublic, Reservation, SessionPublic, SessionStatus
from komagane_exchange.models import Session as ExchangeSession
from komagane_kit.clock import TOKYO, from_db


def session_view(session: ExchangeSession, activity: Activity) -> SessionPublic:
    return SessionPublic(
        id=session.id,
        activity_id=session.activity_id,
        title=activity.title,
        hub_id=session.hub_id,
        category=ActivityCategory(activity.category),
        languages=load_list(activity.languages),
        starts_at=from_db(session.starts_at).astimezone(TOKYO),
        ends_at=from_db(session.ends_at).astimezone(TOKYO),
        capacity=session.capacity,
        reserved_count=session.reserved_count,
        status=SessionStatus(session.status),
    )


def attendance_view(attendance: Attendance) -> AttendancePublic:
    """As recorded, with the time in Tokyo (SQLite gives it back without an offset)."""
    return AttendancePublic.model_validate(attendance, update={"attended_at": from_db(attendance.attended_at).astimezone(TOKYO)})


def waitlist_position(session: Session, reservation: Reservation) -> int:
    """The place of a waitlisted reservation in its session's queue (1 = next to get a seat)."""
    ahead = session.exec(
        select(func.count())
        .select_from(Reservation)
        .where(
            Reservation.session_id == reservation.session_id,
            Reservation.status == ReservationStatus.WAITLISTED.value,
            col(Reservation.seq) < reservation.seq,
        )
    ).one()
    return int(ahead) + 1
