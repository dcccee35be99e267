"""My hub's ごちゃまぜ index (hub staff): month by month as a chart with its table, the generations
(age bands) behind the chosen month, the hub's groups, and the sessions that mixed most.

The index is the profiles processor's aggregate (`GET /v1/hubs/{hub}/mix`, S0): months with fewer
than 10 attendances and age-band cells of 1–9 come suppressed, and are shown as suppressed,
never as zero.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import date
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from komagane_console.gateway import Gateway, GatewayError
from komagane_console.hub import chosen_hub
from komagane_console.places import hub_names
from komagane_console.problems import N_
from komagane_console.web import gateway, localiser, render, require_role

router = APIRouter()

BANDS = {"0-17": N_("Under 18"), "18-39": N_("18 to 39"), "40-64": N_("40 to 64"), "65-74": N_("65 to 74"), "75+": N_("75 and over")}


def first_day(month: str) -> date:
    return date.fromisoformat(f"{month}-01")


@dataclass(frozen=True)
class MonthBar:
    month: date
    index: float | None  # None: suppressed
    x: int
    y: int
    height: int


@dataclass(frozen=True)
class MonthChart:
    bars: list[MonthBar]
    width: int
    height: int
    bar_width: int
    plot: int  # the plot's height (the axis' y)


def monthly(months: dict[str, dict[str, Any]], *, width: int = 480, height: int = 180) -> MonthChart:
    """Bars of the mix index (0–1) per month, oldest first; a suppressed month has no bar."""
    keys = sorted(months)[-12:]
    slot = width // max(len(keys), 1)
    bar_width = max(6, slot - 10)
    plot = height - 22
    bars = []
    for i, month in enumerate(keys):
        index = months[month].get("mix_index")
        bar_height = round(plot * index) if index is not None else 0
        bars.append(MonthBar(first_day(month), index, i * slot + (slot - bar_width) // 2, plot - bar_height, bar_height))
    return MonthChart(bars, width, height, bar_width, plot)


async def _titles(gw: Gateway, session_ids: list[str]) -> dict[str, dict[str, Any]]:
    async def one(session_id: str) -> dict[str, Any] | None:
        try:
            found: dict[str, Any] = await gw.get(f"/v1/sessions/{session_id}")
            return found
        except GatewayError as exc:
            if exc.status == 404:
                return None
            raise

    found = await asyncio.gather(*(one(s) for s in session_ids))
    return {s: f for s, f in zip(session_ids, found, strict=True) if f is not None}


@router.get("/hub/mix")
async def hub_mix(request: Request, hub: str = "", month: str = "") -> Response:
    viewer = require_role(request, "staff")
    loc = localiser(request)
    hub_id = chosen_hub(request, viewer, hub)
    if hub_id is None:
        return render(request, "error.html", status_code=403, message=loc.gettext("Your sign-in names no hub. Please ask the city office to add your hub."))
    gw = gateway(request, viewer)
    groups_read = asyncio.ensure_future(gw.items("/v1/groups", hub_id=hub_id, limit=100, pages=2))
    names_read = asyncio.ensure_future(hub_names(gw, loc))
    try:
        mix = await gw.get(f"/v1/hubs/{hub_id}/mix")
    except GatewayError as exc:
        if exc.status != 404:  # 404: nothing counted yet at this hub
            groups_read.cancel()
            names_read.cancel()
            await asyncio.gather(groups_read, names_read, return_exceptions=True)
            raise
        mix = {"months": {}}
    groups, names = await asyncio.gather(groups_read, names_read)
    months: dict[str, dict[str, Any]] = mix.get("months") or {}
    shown = month if month in months else (max(months) if months else None)
    detail = months.get(shown or "", {})
    top = detail.get("top_sessions") or []
    titles = await _titles(gw, [t["session_id"] for t in top])
    return render(
        request,
        "hub_mix.html",
        hub_id=hub_id,
        hub_name=names.get(hub_id, hub_id),
        chart=monthly(months),
        months=[(key, first_day(key), data) for key, data in sorted(months.items())],
        shown=shown,
        shown_day=first_day(shown) if shown else None,
        detail=detail,
        bands=BANDS,
        top=[{**t, "session": titles.get(t["session_id"])} for t in top],
        groups=sorted(groups, key=lambda g: -int(g.get("members") or 0)),
    )
