"""Volunteering and work: opportunities matched to me with the matcher's reasons; apply."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from komagane_console.flash import flash, take_flash
from komagane_console.gateway import Gateway, GatewayError
from komagane_console.places import hub_names
from komagane_console.problems import N_, field_messages, problem_message
from komagane_console.web import Viewer, checked_form, gateway, localiser, render, require_resident

router = APIRouter()

ARRANGEMENTS = {
    "VOLUNTEER": N_("Volunteering"),
    "GENERAL": N_("Work"),
    "PART_TIME": N_("Part-time work"),
    "SHORT_TIME": N_("Short-hours work"),
    "WELFARE_A": N_("Supported work (type A)"),
    "WELFARE_B": N_("Supported work (type B)"),
    "TRAINING": N_("Training"),
    "COOPERATOR": N_("Community cooperator"),
}
COMPONENTS = {
    "skills": N_("Your skills"),
    "availability": N_("Your free time"),
    "area": N_("Near where you live"),
    "language": N_("Your languages"),
    "languages": N_("Your languages"),
    "accessibility": N_("Support you need"),
    "accommodations": N_("Support you need"),
}


async def _page(request: Request, viewer: Viewer, gw: Gateway, *, status_code: int = 200, **extra: Any) -> Response:
    loc = localiser(request)
    try:
        matches = (await gw.get(f"/v1/people/{viewer.subject}/matches", limit=10))["items"]
    except GatewayError as exc:
        if exc.status != 404:  # 404: no skills declared yet, so nothing to match
            raise
        matches = None
    opportunities = await gw.items("/v1/opportunities", status="OPEN", limit=50, pages=1)
    return render(
        request,
        "work.html",
        status_code=status_code,
        matches=matches,
        opportunities=opportunities,
        arrangements=ARRANGEMENTS,
        components=COMPONENTS,
        hubs=await hub_names(gw, loc),
        flash=take_flash(request),
        **extra,
    )


@router.get("/work")
async def work_page(request: Request) -> Response:
    viewer = require_resident(request)
    return await _page(request, viewer, gateway(request, viewer))


@router.post("/work/{opportunity_id}/apply")
async def apply(request: Request, opportunity_id: str) -> Response:
    form = await checked_form(request)
    viewer = require_resident(request)
    loc = localiser(request)
    gw = gateway(request, viewer)
    message = str(form.get("message") or "").strip()
    try:
        await gw.post(f"/v1/opportunities/{opportunity_id}/applications", {"person_id": viewer.subject, "message": message or None})
    except GatewayError as exc:
        if exc.status == 422:  # show the form again with the field's error, nothing was written
            problem = {"opportunity_id": opportunity_id, "message": message, "fields": field_messages(exc, loc), "text": problem_message(exc, loc)}
            return await _page(request, viewer, gw, status_code=422, problem=problem)
        flash(request, problem_message(exc, loc), kind="error")
    else:
        flash(request, loc.gettext("Your application was sent. The organiser will contact you."))
    return RedirectResponse("/work", status_code=303)
