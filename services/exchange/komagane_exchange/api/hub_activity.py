"""Every hub's visits and visitors in a month and the month before (aggregate, for the city office).

Visits count as the city KPIs count them: drop-in visits plus session attendances. Visitors are
the distinct people behind them. A hub-month with fewer than SUPPRESS_BELOW visitors shows
neither figure (`suppressed`), as every aggregate of the platform does.
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field
from sqlalchemy import Select, func, literal, select, union_all
from sqlmodel import col

from komagane_exchange.models import Attendance, Hub, HubVisit
from komagane_exchange.models import Session as ExchangeSession
from komagane_kit.clock import TOKYO
from komagane_kit.months import MONTH_PATTERN, parse_month, shift
from komagane_kit.service import DbSession

router = APIRouter(prefix="/v1/hubs", tags=["hubs"])
SUPPRESS_BELOW = 10


class HubMonthActivity(BaseModel):
    visits: int | None = Field(description="Drop-in visits and session attendances; None when suppressed")
    visitors: int | None = Field(description="Distinct people behind `visits`; None when suppressed")
    suppressed: bool = Field(description="Fewer than 10 visitors: no figure is shown")


class HubActivity(BaseModel):
    hub_id: str
    name_ja: str
    name_en: str | None
    months: dict[str, HubMonthActivity] = Field(description="The month asked for and the month before, keyed by YYYY-MM")


class HubActivityList(BaseModel):
    month: str
    previous_month: str
    items: list[HubActivity] = Field(description="Every hub, by Japanese name")


def _start(month: str) -> datetime:
    return datetime.combine(date.fromisoformat(f"{month}-01"), time(), TOKYO)


def _counts(session: DbSession, month: str) -> dict[str, tuple[int, int]]:
    """Hub id → (visits, distinct visitors) in `month` (Asia/Tokyo)."""
    start, end = _start(month), _start(shift(month, 1))
    visits: Select[Any] = select(col(HubVisit.hub_id).label("hub_id"), col(HubVisit.person_id).label("person_id"), literal(1).label("one")).where(
        col(HubVisit.visited_at) >= start, col(HubVisit.visited_at) < end
    )
    attended: Select[Any] = (
        select(col(ExchangeSession.hub_id).label("hub_id"), col(Attendance.person_id).label("person_id"), literal(1).label("one"))
        .join(ExchangeSession, col(ExchangeSession.id) == col(Attendance.session_id))
        .where(col(Attendance.attended_at) >= start, col(Attendance.attended_at) < end)
    )
    both = union_all(visits, attended).subquery()
    rows = session.execute(select(both.c.hub_id, func.count(), func.count(func.distinct(both.c.person_id))).group_by(both.c.hub_id)).all()
    return {hub_id: (int(n), int(people)) for hub_id, n, people in rows}


def _cell(counts: tuple[int, int] | None) -> HubMonthActivity:
    visits, visitors = counts or (0, 0)
    if visitors < SUPPRESS_BELOW:
        return HubMonthActivity(visits=None, visitors=None, suppressed=True)
    return HubMonthActivity(visits=visits, visitors=visitors, suppressed=False)


@router.get("/activity", response_model=HubActivityList, summary="Every hub's visits and visitors in a month and the month before (aggregate)")
def hub_activity(session: DbSession, month: Annotated[str, Query(max_length=7, pattern=MONTH_PATTERN, description="YYYY-MM (Asia/Tokyo)")]) -> HubActivityList:
    month = parse_month(month)
    previous = shift(month, -1)
    now_counts, before_counts = _counts(session, month), _counts(session, previous)
    hubs = session.execute(select(col(Hub.id), col(Hub.name_ja), col(Hub.name_en)).order_by(col(Hub.name_ja), col(Hub.id))).all()
    items = [
        HubActivity(hub_id=hub_id, name_ja=name_ja, name_en=name_en, months={previous: _cell(before_counts.get(hub_id)), month: _cell(now_counts.get(hub_id))})
        for hub_id, name_ja, name_en in hubs
    ]
    return HubActivityList(month=month, previous_month=previous, items=items)
