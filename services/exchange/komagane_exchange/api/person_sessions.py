"""A person's upcoming sessions: the ones they hold a reservation or a waitlist place for."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query
from sqlmodel import SQLModel, col, select

from komagane_contracts.events.exchange import ReservationStatus
from komagane_exchange.models import Activity, Reservation, SessionPublic
from komagane_exchange.models import Session as ExchangeSession
from komagane_exchange.views import session_view
from komagane_kit.clock import now
from komagane_kit.inputs import SafeStr
from komagane_kit.service import DbSession

router = APIRouter(prefix="/v1/people/{person_id}", tags=["sessions"])
HELD = (ReservationStatus.RESERVED.value, ReservationStatus.WAITLISTED.value)


class PersonSession(SQLModel):
    session: SessionPublic
    reservation_status: ReservationStatus


@router.get("/sessions", response_model=list[PersonSession], summary="A person's upcoming reserved or waitlisted sessions")
def upcoming_sessions(
    person_id: Annotated[SafeStr, Path(max_length=36)],
    session: DbSession,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[PersonSession]:
    rows = session.exec(
        select(ExchangeSession, Activity, Reservation)
        .join(Activity, col(Activity.id) == col(ExchangeSession.activity_id))
        .join(Reservation, col(Reservation.session_id) == col(ExchangeSession.id))
        .where(Reservation.person_id == person_id, col(Reservation.status).in_(HELD), col(ExchangeSession.starts_at) >= now())
        .order_by(col(ExchangeSession.starts_at), col(ExchangeSession.id))
        .limit(limit)
    ).all()
    return [PersonSession(session=session_view(s, a), reservation_status=ReservationStatus(r.status)) for s, a, r in rows]
