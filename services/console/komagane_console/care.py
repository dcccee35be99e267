"""Care staff: the lapse queue (S3), longest lapsed first, and a follow-up form per alert.

Everything comes from `GET /v1/care/lapses` (the gateway composes the alert, the person's name,
the contact only with OUTREACH consent, usual places, groups and follow-ups with notes; the
people service logs every person shown in their rights log). A follow-up is
`POST /v1/people/{id}/follow-ups`; post/redirect/get back to the queue, where the alert shows it
— or has left the queue, when the outcome closes it (declined, moved away).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from komagane_console.flash import flash, take_flash
from komagane_console.gateway import GatewayError
from komagane_console.i18n import Localiser
from komagane_console.problems import N_, problem_message
from komagane_console.web import checked_form, gateway, localiser, render, require_role

router = APIRouter()

OUTCOMES: dict[str, str] = {
    "CALLED": N_("Called"),
    "VISITED": N_("Visited them at home"),
    "REACHED_THROUGH_GROUP_MEMBER": N_("Reached through a group member"),
    "DECLINED": N_("Declined support (closes the alert)"),
    "MOVED_AWAY": N_("Moved away (closes the alert)"),
    "OTHER": N_("Other (say what in the note)"),
}
CLOSING = frozenset({"DECLINED", "MOVED_AWAY"})
NOTE_MAX = 1000
PLACE_KINDS = {"volunteering": N_("Volunteering"), "seminar": N_("A seminar"), "engagement": N_("Work")}


def place_label(place: dict[str, Any], loc: Localiser) -> str:
    """A place's name in the viewer's language, or what kind of place it is when it has none to show."""
    if place.get("name"):
        japanese = loc.language.babel == "ja"
        return str(place["name"] if japanese else place.get("name_en") or place["name"])
    kind = str(place["id"]).split(":", 1)[0]
    return loc.gettext(PLACE_KINDS[kind]) if kind in PLACE_KINDS else str(place["id"])


@router.get("/care")
async def lapse_queue(request: Request, cursor: str | None = None) -> Response:
    viewer = require_role(request, "care")
    loc = localiser(request)
    queue = await gateway(request, viewer).get("/v1/care/lapses", limit=50, cursor=cursor)
    for item in queue["items"]:
        item["places"] = [place_label(p, loc) for p in item["usual_places"]]
        item["group_names"] = [place_label(g, loc) for g in item["groups"]]
    return render(
        request, "care_queue.html", items=queue["items"], next_cursor=queue.get("next_cursor"), outcomes=OUTCOMES, note_max=NOTE_MAX, flash=take_flash(request)
    )


@router.post("/care/{person_id}/follow-ups")
async def record_follow_up(request: Request, person_id: str) -> Response:
    form = await checked_form(request)
    viewer = require_role(request, "care")
    loc = localiser(request)
    outcome = str(form.get("outcome") or "")
    note = str(form.get("note") or "").strip()
    if outcome not in OUTCOMES:
        flash(request, loc.gettext("Please choose what was done."), kind="error")
        return RedirectResponse(f"/care#person-{person_id}", status_code=303)
    body: dict[str, Any] = {"outcome": outcome}
    if note:
        body["note"] = note
    try:
        await gateway(request, viewer).post(f"/v1/people/{person_id}/follow-ups", body)
    except GatewayError as exc:
        if exc.status == 401:
            raise
        flash(request, problem_message(exc, loc), kind="error")
        return RedirectResponse(f"/care#person-{person_id}", status_code=303)
    if outcome in CLOSING:
        flash(request, loc.gettext("The follow-up is recorded. The alert is closed and leaves the queue."))
    else:
        flash(request, loc.gettext("The follow-up is recorded."))
    return RedirectResponse(f"/care#person-{person_id}", status_code=303)
