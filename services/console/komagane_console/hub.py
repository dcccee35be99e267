"""Today at my hub (hub staff): today's sessions with their rosters, find a person, check in.

Everything goes through the gateway with the staff member's token, whose `hub` claim names
their hub(s): the gateway refuses a write for any other hub (`wrong-hub`), and the people
search answers only people registered at those hubs (docs/console.md, "Finding a person").

A proxy check-in is one form per found person: the reason the gateway asks for
(`X-Access-Reason`) as radio buttons, and one button per open session of today. The last reason
used is remembered in the session and comes pre-selected, so after the person is found a
check-in is one tap (two the first time: the reason, then the session).
"""

from __future__ import annotations

import asyncio
from datetime import datetime, time, timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from komagane_console.flash import take_flash
from komagane_console.gateway import Gateway, GatewayError
from komagane_console.i18n import TOKYO
from komagane_console.places import hub_names
from komagane_console.problems import N_
from komagane_console.web import Viewer, gateway, localiser, render, require_role

router = APIRouter()

# Why staff check a person in for them: the reason the gateway records (X-Access-Reason).
PROXY_REASONS = {
    "no-phone": N_("Has no smartphone"),
    "asked": N_("Asked staff to check them in"),
    "help": N_("Needed help with the phone"),
}
REASON_KEY = "hub_proxy_reason"
MAX_NAMES = 120  # names looked up for a page's rosters (a day's sessions at one hub hold fewer)


def staff_hubs(viewer: Viewer) -> list[str]:
    return (viewer.hub or "").split()


def chosen_hub(request: Request, viewer: Viewer, asked: str) -> str | None:
    """The hub a page is about: the one asked for if it is the viewer's, else their first."""
    hubs = staff_hubs(viewer)
    if asked and asked not in hubs:
        raise PermissionError  # another hub's page: the 403 page
    return asked or (hubs[0] if hubs else None)


def remembered_reason(request: Request) -> str | None:
    key = request.session.get(REASON_KEY)
    return key if isinstance(key, str) and key in PROXY_REASONS else None


async def _names(gw: Gateway, person_ids: set[str]) -> dict[str, dict[str, Any]]:
    """Person id → their record (name, kana, member number), looked up together."""
    ids = sorted(person_ids)[:MAX_NAMES]

    async def one(person_id: str) -> dict[str, Any] | None:
        try:
            record: dict[str, Any] = await gw.get(f"/v1/people/{person_id}")
            return record
        except GatewayError as exc:
            if exc.status in (404, 410):  # erased or unknown: shown by id
                return None
            raise

    found = await asyncio.gather(*(one(i) for i in ids))
    return {i: r for i, r in zip(ids, found, strict=True) if r is not None}


async def _today(gw: Gateway, hub_id: str) -> list[dict[str, Any]]:
    """Today's sessions at the hub (Asia/Tokyo), each with its roster."""
    start = datetime.combine(datetime.now(TOKYO).date(), time(), TOKYO)
    sessions = (await gw.get("/v1/sessions", hub_id=hub_id, limit=50, **{"from": start.isoformat(), "to": (start + timedelta(days=1)).isoformat()}))["items"]
    rosters = await asyncio.gather(*(gw.get(f"/v1/sessions/{s['id']}/roster") for s in sessions))
    return list(rosters)


def _open_now(roster: dict[str, Any], now: datetime) -> bool:
    """Whether a check-in can be recorded now: the exchange service opens it 30 minutes before the
    start and takes it until 72 hours after the end (its defaults)."""
    session = roster["session"]
    if session["status"] == "CANCELLED":
        return False
    starts, ends = datetime.fromisoformat(session["starts_at"]), datetime.fromisoformat(session["ends_at"])
    return starts - timedelta(minutes=30) <= now <= ends + timedelta(hours=72)


@router.get("/hub")
async def hub_today(request: Request, hub: str = "", q: str = "") -> Response:
    viewer = require_role(request, "staff")
    loc = localiser(request)
    hub_id = chosen_hub(request, viewer, hub)
    if hub_id is None:
        return render(request, "error.html", status_code=403, message=loc.gettext("Your sign-in names no hub. Please ask the city office to add your hub."))
    gw = gateway(request, viewer)
    q = q.strip()[:100]
    search = asyncio.ensure_future(gw.get("/v1/people/search", q=q, hub_id=hub_id, limit=20)) if q else None
    names_read = asyncio.ensure_future(hub_names(gw, loc))
    try:
        rosters = await _today(gw, hub_id)
    finally:
        await asyncio.wait([t for t in (search, names_read) if t is not None])
    found: list[dict[str, Any]] | None = None
    search_error: str | None = None
    if search is not None:
        try:
            found = search.result()["items"]
        except GatewayError as exc:
            if exc.status != 422:
                raise
            search_error = loc.gettext("Please type part of a name, its kana, or a member number.")
    now = datetime.now(TOKYO)
    people = {r["person_id"] for roster in rosters for r in roster["reservations"]} | {a["person_id"] for roster in rosters for a in roster["attendance"]}
    names = await _names(gw, people)
    for roster in rosters:
        roster["open"] = _open_now(roster, now)
        roster["checked_in"] = {a["person_id"] for a in roster["attendance"]}
        starts = datetime.fromisoformat(roster["session"]["starts_at"])
        roster["may_hold"] = roster["session"]["status"] == "SCHEDULED" and starts <= now
        roster["may_cancel"] = roster["session"]["status"] == "SCHEDULED"
    return render(
        request,
        "hub_today.html",
        hub_id=hub_id,
        hub_name=names_read.result().get(hub_id, hub_id),
        other_hubs=[h for h in staff_hubs(viewer) if h != hub_id],
        hubs=names_read.result(),
        rosters=rosters,
        open_rosters=[r for r in rosters if r["open"]],
        names=names,
        q=q,
        found=found,
        search_error=search_error,
        reasons=PROXY_REASONS,
        reason=remembered_reason(request),
        today=now.date(),
        flash=take_flash(request),
    )
