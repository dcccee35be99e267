"""Sessions near me: filter by hub, category and date; reserve, cancel, waitlist places; my reservations."""

from __future__ import annotations

from datetime import date, datetime, time

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from komagane_console.flash import flash, take_flash
from komagane_console.gateway import GatewayError
from komagane_console.i18n import TOKYO
from komagane_console.places import hub_names
from komagane_console.problems import N_, problem_message
from komagane_console.web import checked_form, gateway, localiser, render, require_resident

router = APIRouter()

CATEGORIES = {
    "KAYOINOBA": N_("Neighbourhood gathering (通いの場)"),
    "SPORTS": N_("Sports and exercise"),
    "HOBBY": N_("Hobbies"),
    "STUDY_CULTURE": N_("Study and culture"),
    "SKILL_TEACHING": N_("Teaching a skill"),
    "VOLUNTEER": N_("Volunteering"),
    "SENIOR_CLUB": N_("Senior club"),
    "NEIGHBORHOOD_ASSOC": N_("Neighbourhood association"),
    "INTERNATIONAL": N_("International exchange"),
    "CHILDCARE": N_("Childcare"),
    "HEALTH_PROGRAM": N_("Health programme"),
}


@router.get("/sessions")
async def sessions_page(request: Request, hub: str = "", category: str = "", day: str = "") -> Response:
    viewer = require_resident(request)
    loc = localiser(request)
    gw = gateway(request, viewer)
    errors: dict[str, str] = {}
    start = datetime.now(TOKYO)
    if day:
        try:
            start = max(start, datetime.combine(date.fromisoformat(day), time(), TOKYO))
        except ValueError:
            errors["day"] = loc.gettext("Please enter a date like %(example)s.", example=date.today().isoformat())
    if category and category not in CATEGORIES:
        category = ""
    names = await hub_names(gw, loc)
    mine = await gw.get(f"/v1/people/{viewer.subject}/sessions")
    mine_ids = {m["session"]["id"]: m for m in mine}
    listed = [] if errors else (await gw.get("/v1/sessions", hub_id=hub or None, category=category or None, **{"from": start.isoformat()}, limit=30))["items"]
    upcoming = [s for s in listed if s["status"] == "SCHEDULED"]
    return render(
        request,
        "sessions.html",
        mine=mine,
        sessions=upcoming,
        mine_ids=mine_ids,
        hubs=names,
        categories=CATEGORIES,
        filters={"hub": hub, "category": category, "day": day},
        errors=errors,
        flash=take_flash(request),
    )


@router.post("/sessions/{session_id}/reserve")
async def reserve(request: Request, session_id: str) -> Response:
    await checked_form(request)
    viewer = require_resident(request)
    loc = localiser(request)
    try:
        answer = await gateway(request, viewer).post(f"/v1/sessions/{session_id}/reservations", {"person_id": viewer.subject})
    except GatewayError as exc:
        flash(request, problem_message(exc, loc), kind="error")
    else:
        if answer.get("status") == "WAITLISTED":
            flash(request, loc.gettext("The session is full. You are number %(position)s on the waiting list.", position=answer.get("waitlist_position")))
        else:
            flash(request, loc.gettext("Your place is reserved."))
    return RedirectResponse("/sessions#mine", status_code=303)


@router.post("/sessions/{session_id}/cancel")
async def cancel(request: Request, session_id: str) -> Response:
    await checked_form(request)
    viewer = require_resident(request)
    loc = localiser(request)
    try:
        await gateway(request, viewer).delete(f"/v1/sessions/{session_id}/reservations/{viewer.subject}")
    except GatewayError as exc:
        flash(request, problem_message(exc, loc), kind="error")
    else:
        flash(request, loc.gettext("Your reservation is cancelled."))
    return RedirectResponse("/sessions#mine", status_code=303)
