"""わたしの居場所と役割: my places, groups and roles, this month in plain words, 12 weeks as a chart."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from komagane_console.chart import weekly
from komagane_console.gateway import Gateway, GatewayError
from komagane_console.i18n import TOKYO, Localiser
from komagane_console.problems import N_
from komagane_console.web import gateway, localiser, render, require_resident

router = APIRouter()

ROLE_TYPES = {
    "VOLUNTEER": N_("volunteering"),
    "TEACHER": N_("teaching"),
    "TEACH": N_("teaching"),
    "WORK": N_("work"),
    "WORKER": N_("work"),
    "SEMINAR_INSTRUCTOR": N_("running seminars"),
    "INSTRUCTOR": N_("running seminars"),
    "ORGANISER": N_("organising activities"),
    "GROUP_OFFICER": N_("a role in a group"),
    "COOPERATOR": N_("community cooperator work"),
}
KINDS = {"ATTENDANCE": N_("Took part in a session"), "VISIT": N_("Visited"), "VOLUNTEER": N_("Volunteered")}
GIVING_MODES = {"TEACH", "VOLUNTEER", "ORGANISE"}


HUBS_TTL_SECONDS = 60.0
_hubs: tuple[float, list[dict[str, Any]]] | None = None
_hubs_refresh = asyncio.Lock()


async def hub_names(gw: Gateway, loc: Localiser) -> dict[str, str]:
    """Hub id → its name in the viewer's language (Japanese names for Japanese and easy Japanese).

    The hub catalogue is the same for every caller and changes rarely: it is asked for once a
    minute, not on every page (each page would otherwise cost the exchange service a list)."""
    global _hubs
    if _hubs is None or time.monotonic() - _hubs[0] > HUBS_TTL_SECONDS:
        async with _hubs_refresh:  # one refresh, however many pages find the list stale at once
            if _hubs is None or time.monotonic() - _hubs[0] > HUBS_TTL_SECONDS:
                _hubs = (time.monotonic(), await gw.items("/v1/hubs", limit=200))
    japanese = loc.language.babel == "ja"
    return {h["id"]: (h["name_ja"] if japanese else h.get("name_en") or h["name_ja"]) for h in _hubs[1]}


def _role_label(role_type: str, loc: Localiser) -> str:
    known = ROLE_TYPES.get(role_type)
    return loc.gettext(known) if known else role_type.replace("_", " ").lower()


@router.get("/places")
async def places_page(request: Request) -> Response:
    viewer = require_resident(request)
    loc = localiser(request)
    gw = gateway(request, viewer)
    # The three reads at once; the participation is shown only if there is a profile (PROFILE consent).
    taken_read = asyncio.ensure_future(gw.get(f"/v1/people/{viewer.subject}/participation", weeks=12))
    names_read = asyncio.ensure_future(hub_names(gw, loc))
    try:
        profile: dict[str, Any] = await gw.get(f"/v1/profiles/{viewer.subject}")
    except GatewayError as exc:
        for read in (taken_read, names_read):
            read.cancel()
        await asyncio.gather(taken_read, names_read, return_exceptions=True)
        if exc.status == 404:  # no profile: not consented to PROFILE (or nothing yet)
            return render(request, "places.html", profile=None)
        raise
    await asyncio.wait([taken_read, names_read])  # both finished: neither error is left unretrieved
    errors = [e for e in (taken_read.exception(), names_read.exception()) if e is not None]  # each one retrieved
    if errors:
        raise errors[0]
    taken: dict[str, Any] = taken_read.result()
    names: dict[str, str] = names_read.result()
    items = taken["items"]
    for item in items:
        item["place"] = names.get(item.get("hub_id") or "", loc.gettext("another place"))
        item["what"] = loc.gettext(KINDS.get(item["kind"], item["kind"]))
    today = datetime.now(TOKYO).date()
    this_month = [i for i in items if datetime.fromisoformat(i["at"]).astimezone(TOKYO).date().replace(day=1) == today.replace(day=1)]
    by_place = Counter(i["place"] for i in this_month)
    summary = [
        loc.ngettext("You went to %(place)s once this month.", "You went to %(place)s %(num)d times this month.", n, place=p) for p, n in by_place.most_common()
    ]
    given_hours = sum(i.get("hours") or 0 for i in this_month if i["kind"] == "VOLUNTEER")
    if given_hours:
        summary.append(loc.gettext("You volunteered for %(hours)s hours this month.", hours=loc.fmt_number(given_hours)))
    belonging = profile.get("belonging") or {}
    places = []
    for key in belonging.get("places", []):
        hub_id = key.split(":", 1)[1] if key.startswith("hub:") else key
        name = names.get(hub_id, loc.gettext("another place"))
        places.append({"name": name, "evidence": [i for i in items if i.get("hub_id") == hub_id]})
    role = profile.get("role") or {}
    giving = [i for i in items if i["kind"] == "VOLUNTEER" or i.get("mode") in GIVING_MODES]
    receiving = [i for i in items if i["kind"] == "ATTENDANCE" and i.get("mode") not in GIVING_MODES]
    chart = weekly([datetime.fromisoformat(i["at"]).astimezone(TOKYO).date() for i in items], today)
    return render(
        request,
        "places.html",
        profile=profile,
        places=places,
        groups=taken["groups"],
        roles=[_role_label(r, loc) for r in role.get("role_types", [])],
        giving=giving,
        receiving=receiving,
        summary=summary,
        chart=chart,
        today_month=today,
    )
