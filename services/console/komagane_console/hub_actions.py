"""The hub staff's writes from "Today at my hub": check in by proxy, walk-in visit, headcount,
session held or cancelled. Each posts, tells the outcome on the next page and goes back to it."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from komagane_console.flash import flash
from komagane_console.gateway import GatewayError
from komagane_console.hub import PROXY_REASONS, REASON_KEY, chosen_hub
from komagane_console.i18n import TOKYO, Localiser
from komagane_console.problems import N_, problem_message
from komagane_console.web import checked_form, gateway, localiser, require_role

router = APIRouter()

# The problems a hub worker meets, said in their language (others show the gateway's text).
HUB_KINDS = {
    "wrong-hub": N_("You can do this only for your own hub. This session belongs to another hub."),
    "already-attended": N_("This person is already checked in to this session."),
    "session-not-under-way": N_("Check-in opens 30 minutes before the session starts."),
    "session-cancelled": N_("This session was cancelled."),
    "session-not-open": N_("This session is already held or cancelled."),
    "session-not-started": N_("A session can be marked held once it has started."),
    "reason-required": N_("Please choose why you are checking this person in."),
    "unknown-person": N_("This person is not known yet. Please try again in a moment."),
}


def _said(exc: GatewayError, loc: Localiser) -> str:
    known = HUB_KINDS.get(exc.kind)
    return loc.gettext(known) if known else problem_message(exc, loc)


def _back(hub_id: str, q: str = "", anchor: str = "") -> RedirectResponse:
    query = urlencode({k: v for k, v in (("hub", hub_id), ("q", q)) if v})
    return RedirectResponse(f"/hub?{query}{anchor}", status_code=303)


@router.post("/hub/check-in")
async def check_in(request: Request) -> Response:
    form = await checked_form(request)
    viewer = require_role(request, "staff")
    loc = localiser(request)
    hub_id = chosen_hub(request, viewer, str(form.get("hub") or "")) or ""
    person_id, session_id, q = (str(form.get(k) or "") for k in ("person_id", "session_id", "q"))
    name = str(form.get("name") or "")[:200]
    reason_key = str(form.get("reason") or "")
    if reason_key not in PROXY_REASONS:
        flash(request, loc.gettext(HUB_KINDS["reason-required"]), kind="error")
        return _back(hub_id, q, "#found")
    request.session[REASON_KEY] = reason_key  # the next check-in is one tap
    reason = loc.gettext(PROXY_REASONS[reason_key])
    body = {"person_id": person_id, "mode": "ATTEND", "proxy": {"staff_id": viewer.subject, "reason": reason}}
    try:
        # Header values are ASCII: a Japanese reason goes percent-encoded (the gateway decodes it).
        await gateway(request, viewer).post(f"/v1/sessions/{quote(session_id, safe='')}/attendance", body, headers={"X-Access-Reason": quote(reason, safe=" ")})
    except GatewayError as exc:
        flash(request, _said(exc, loc), kind="error")
    else:
        flash(request, loc.gettext("%(name)s is checked in.", name=name or person_id))
    return _back(hub_id, q, "#found" if q else "#today")


@router.post("/hub/visits")
async def walk_in(request: Request) -> Response:
    form = await checked_form(request)
    viewer = require_role(request, "staff")
    loc = localiser(request)
    hub_id = chosen_hub(request, viewer, str(form.get("hub") or "")) or ""
    person_id, q, name = (str(form.get(k) or "") for k in ("person_id", "q", "name"))
    try:
        await gateway(request, viewer).post(f"/v1/hubs/{quote(hub_id, safe='')}/visits", {"person_id": person_id, "purpose": "walk-in"})
    except GatewayError as exc:
        flash(request, _said(exc, loc), kind="error")
    else:
        flash(request, loc.gettext("A walk-in visit by %(name)s is recorded.", name=name or person_id))
    return _back(hub_id, q, "#found")


@router.post("/hub/headcounts")
async def headcount(request: Request) -> Response:
    form = await checked_form(request)
    viewer = require_role(request, "staff")
    loc = localiser(request)
    hub_id = chosen_hub(request, viewer, str(form.get("hub") or "")) or ""
    occasion = str(form.get("occasion") or "").strip()
    try:
        count = int(str(form.get("count") or ""))
    except ValueError:
        count = -1
    if not occasion or not 0 <= count <= 100_000:
        flash(request, loc.gettext("Please give the event's name and a number of people from 0 to 100,000."), kind="error")
        return _back(hub_id, anchor="#headcount")
    body = {"counted_on": datetime.now(TOKYO).date().isoformat(), "count": count, "occasion": occasion[:200]}
    try:
        await gateway(request, viewer).post(f"/v1/hubs/{quote(hub_id, safe='')}/headcounts", body)
    except GatewayError as exc:
        flash(request, _said(exc, loc), kind="error")
    else:
        flash(request, loc.gettext("A headcount of %(count)s for %(occasion)s is recorded.", count=loc.fmt_number(count), occasion=occasion))
    return _back(hub_id, anchor="#headcount")


@router.post("/hub/sessions/{session_id}/{action}")
async def session_status(request: Request, session_id: str, action: str) -> Response:
    form = await checked_form(request)
    viewer = require_role(request, "staff")
    loc = localiser(request)
    hub_id = chosen_hub(request, viewer, str(form.get("hub") or "")) or ""
    if action not in ("held", "cancel"):
        flash(request, loc.gettext("This page does not exist."), kind="error")
        return _back(hub_id, anchor="#today")
    reason = str(form.get("reason") or "").strip()
    if action == "cancel" and not reason:
        flash(request, loc.gettext("Please say why the session is cancelled."), kind="error")
        return _back(hub_id, anchor="#today")
    body = {"reason": reason[:500]} if action == "cancel" else {}
    try:
        await gateway(request, viewer).post(f"/v1/sessions/{quote(session_id, safe='')}/{action}", body)
    except GatewayError as exc:
        flash(request, _said(exc, loc), kind="error")
    else:
        flash(request, loc.gettext("The session is marked held.") if action == "held" else loc.gettext("The session is cancelled."))
    return _back(hub_id, anchor="#today")
