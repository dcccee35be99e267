"""A person's sessions (upcoming, reserved or waitlisted) and their participation of the last weeks, with names."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Annotated

from fastapi import APIRouter, Path, Query
from sqlmodel import Field, SQLModel, col, select

from komagane_contracts.events.exchange import ReservationStatus
from komagane_exchange.models import Activity, Attendance, Group, HubVisit, Membership, Reservation, SessionPublic, VolunteerShift
from komagane_exchange.models import Session as ExchangeSession
from komagane_exchange.views import session_view, waitlist_position
from komagane_kit.clock import TOKYO, from_db, now, tokyo_date
from komagane_kit.inputs import SafeStr
from komagane_kit.service import DbSession

router = APIRouter(prefix="/v1/people/{person_id}", tags=["sessions"])
HELD = (ReservationStatus.RESERVED.value, ReservationStatus.WAITLISTED.value)


class PersonSession(SQLModel):
    session: SessionPublic
    reservation_status: ReservationStatus
    waitlist_position: int | None = Field(default=None, description="For a waitlist place: its place in the queue (1 = next to get a seat)")


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
    return [
        PersonSession(
            session=session_view(s, a),
            reservation_status=ReservationStatus(r.status),
            waitlist_position=waitlist_position(session, r) if r.status == ReservationStatus.WAITLISTED.value else None,
        )
        for s, a, r in rows
    ]


class ParticipationItem(SQLModel):
    kind: str = Field(description="ATTENDANCE (a session), VISIT (a hub visit) or VOLUNTEER (a volunteer shift)")
    at: datetime = Field(description="When (a volunteer shift: its day at 00:00 Asia/Tokyo)")
    hub_id: str | None
    title: str | None = Field(description="The activity's title, or the visit's purpose")
    mode: str | None = Field(default=None, description="For attendance: ATTEND, LEARN, TEACH, …")
    hours: float | None = Field(default=None, description="For a volunteer shift")


class GroupOfPerson(SQLModel):
    group_id: str
    name: str
    hub_id: str | None
    officer_role: str | None
    joined_on: date


class Participation(SQLModel):
    since: date
    items: list[ParticipationItem] = Field(description="Newest first")
    groups: list[GroupOfPerson]


@router.get(
    "/participation",
    response_model=Participation,
    summary="What a person took part in over the last weeks (sessions, hub visits, volunteer shifts) and their groups",
)
def participation(
    person_id: Annotated[SafeStr, Path(max_length=36)],
    session: DbSession,
    weeks: Annotated[int, Query(ge=1, le=53, description="How many weeks back from today (Asia/Tokyo)")] = 12,
) -> Participation:
    """The person's own record of taking part, by name, for their places-and-roles page: the
    evidence their profile's belonging and role are computed from."""
    since = tokyo_date(now()) - timedelta(weeks=weeks)
    start = datetime.combine(since, time(), TOKYO)
    items: list[ParticipationItem] = []
    attended = session.exec(
        select(Attendance, ExchangeSession, Activity)
        .join(ExchangeSession, col(ExchangeSession.id) == col(Attendance.session_id))
        .join(Activity, col(Activity.id) == col(ExchangeSession.activity_id))
        .where(Attendance.person_id == person_id, col(Attendance.attended_at) >= start)
    ).all()
    for a, s, act in attended:
        items.append(ParticipationItem(kind="ATTENDANCE", at=from_db(a.attended_at).astimezone(TOKYO), hub_id=s.hub_id, title=act.title, mode=a.mode))
    visits = session.exec(select(HubVisit).where(HubVisit.person_id == person_id, col(HubVisit.visited_at) >= start)).all()
    for v in visits:
        items.append(ParticipationItem(kind="VISIT", at=from_db(v.visited_at).astimezone(TOKYO), hub_id=v.hub_id, title=v.purpose))
    shifts = session.exec(
        select(VolunteerShift, Activity)
        .join(Activity, col(Activity.id) == col(VolunteerShift.activity_id), isouter=True)
        .where(VolunteerShift.person_id == person_id, col(VolunteerShift.worked_on) >= since)
    ).all()
    for shift, act in shifts:
        at = datetime.combine(shift.worked_on, time(), TOKYO)
        title = act.title if act is not None else shift.description
        items.append(ParticipationItem(kind="VOLUNTEER", at=at, hub_id=shift.hub_id, title=title, hours=shift.hours))
    items.sort(key=lambda item: item.at, reverse=True)
    groups = session.exec(
        select(Membership, Group)
        .join(Group, col(Group.id) == col(Membership.group_id))
        .where(Membership.person_id == person_id, col(Membership.left_on).is_(None))
    ).all()
    return Participation(
        since=since,
        items=items,
        groups=[GroupOfPerson(group_id=g.id, name=g.name, hub_id=g.hub_id, officer_role=m.officer_role, joined_on=m.joined_on) for m, g in groups],
    )
