"""The care staff's lapse queue, composed (S3: the care role only; access class `care-queue`).

`GET /v1/care/lapses` gives, one page at a time, the open lapse alerts (the read model: what the
profiles processor raised, with the follow-ups it folded and its usual places and groups),
longest lapsed first, with what care staff need to act on each: the person's name, the contact
only with their OUTREACH consent, and the follow-ups with their notes — from the people service,
which owns them and records every person shown in that person's rights log — and the names of
the places and groups (exchange). Places and groups are looked up once per page.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from komagane_contracts.events.profiles import BelongingLapsed
from komagane_contracts.readmodels import LAPSE_ALERTS_KEY
from komagane_gateway.auth import CareStaff, authorize
from komagane_gateway.upstream import Upstream
from komagane_kit.errors import Problem
from komagane_kit.pagination import decode_cursor, encode_cursor

router = APIRouter(dependencies=[Depends(authorize)])
CARDS_PATH = "/internal/v1/care/cards"  # komagane_people.care
NAME_TIMEOUT_SECONDS = 3.0


class Place(BaseModel):
    id: str = Field(description="hub:<id>, group:<id>, seminar:<id>, engagement:<id> or volunteering")
    name: str | None = Field(description="The hub's (Japanese) or group's name (None where there is none to show)")
    name_en: str | None = Field(default=None, description="The hub's English name, where it has one")


class LapseCase(BaseModel):
    """One open lapse alert with what care staff need to act on it."""

    alert: BelongingLapsed
    display_name: str | None = Field(description="None when the people service no longer holds the person")
    contact: str | None = Field(description="Only with the person's OUTREACH consent")
    contact_consented: bool
    lives_alone: bool | None
    usual_places: list[Place]
    groups: list[Place]
    follow_ups: list[dict[str, Any]] = Field(description="Follow-ups with notes, newest first (people service)")


class LapseQueue(BaseModel):
    items: list[LapseCase]
    next_cursor: str | None


async def _place(exchange: Upstream, request: Request, place: str) -> Place:
    kind, _, ident = place.partition(":")
    path = {"hub": "/v1/hubs/", "group": "/v1/groups/"}.get(kind)
    if path is None or not ident:
        return Place(id=place, name=None)
    try:
        answer = await exchange.call("GET", path + ident, headers=exchange.forward_headers(request), timeout=NAME_TIMEOUT_SECONDS)
    except Problem:
        return Place(id=place, name=None)  # the exchange service away: the queue still shows the id
    if answer.status_code != 200:
        return Place(id=place, name=None)
    body = answer.json()
    return Place(id=place, name=body.get("name") or body.get("name_ja"), name_en=body.get("name_en"))


@router.get("/v1/care/lapses", tags=["care"], response_model=LapseQueue, summary="The lapse queue for care staff (S3), longest lapsed first")
async def lapse_queue(
    request: Request,
    principal: CareStaff,
    limit: Annotated[int, Query(ge=1, le=100, description="People per page")] = 50,
    cursor: Annotated[str | None, Query(max_length=200, description="next_cursor of the previous page")] = None,
) -> LapseQueue:
    after = decode_cursor(cursor, (int, str))
    raw = await request.app.state.redis.hgetall(LAPSE_ALERTS_KEY)
    alerts = sorted((BelongingLapsed.model_validate_json(v) for v in raw.values()), key=lambda a: (-a.days_since, a.person_id))
    if after is not None:
        alerts = [a for a in alerts if (-a.days_since, a.person_id) > (-after[0], after[1])]
    page, more = alerts[:limit], len(alerts) > limit
    if not page:
        return LapseQueue(items=[], next_cursor=None)
    people: Upstream = request.app.state.upstreams["people"]
    answer = await people.call("GET", CARDS_PATH, headers=people.forward_headers(request), params=[("person_id", a.person_id) for a in page])
    if answer.status_code != 200:
        raise Problem(502, "upstream-error", f"The people service answered {answer.status_code}.", service="people")
    cards = {card["person_id"]: card for card in answer.json()["cards"]}
    exchange: Upstream = request.app.state.upstreams["exchange"]
    places = sorted({p for a in page for p in a.usual_places} | {f"group:{g}" for a in page for g in a.groups})
    named = dict(zip(places, await asyncio.gather(*(_place(exchange, request, p) for p in places)), strict=True))
    items = []
    for alert in page:
        card = cards.get(alert.person_id, {})
        items.append(
            LapseCase(
                alert=alert,
                display_name=card.get("display_name"),
                contact=card.get("contact"),
                contact_consented=bool(card.get("contact_consented")),
                lives_alone=card.get("lives_alone"),
                usual_places=[named[p] for p in alert.usual_places],
                groups=[named[f"group:{g}"] for g in alert.groups],
                follow_ups=card.get("follow_ups", []),
            )
        )
    last = page[-1]
    return LapseQueue(items=items, next_cursor=encode_cursor(last.days_since, last.person_id) if more else None)


__all__ = ["LapseCase", "LapseQueue", "router"]
