"""My consents: each purpose in plain words (what, with whom, why); grant or withdraw after one confirmation."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from komagane_console.flash import flash, take_flash
from komagane_console.gateway import GatewayError
from komagane_console.i18n import Localiser
from komagane_console.problems import N_, problem_message
from komagane_console.web import checked_form, gateway, localiser, render, require_resident

router = APIRouter()


@dataclass(frozen=True)
class Purpose:
    code: str
    title: str
    what: str
    who: str
    why: str


PURPOSES = [
    Purpose(
        "PROFILE",
        N_("My places and roles"),
        N_("Where you take part, your groups and the roles you have, worked out from your visits and reservations."),
        N_("You, and the hub and care staff of Komagane City who support you."),
        N_("So that you can see your places and roles, and so that staff can notice if you stop coming and check on you."),
    ),
    Purpose(
        "HEALTH",
        N_("My health in my profile"),
        N_("Whether you use the health station, your health programmes and a rough band of your daily steps (never the exact numbers)."),
        N_("You, and the care staff of Komagane City."),
        N_("So that health activities count as part of your active life."),
    ),
    Purpose(
        "OUTREACH",
        N_("Being contacted"),
        N_("Your name and how to reach you."),
        N_("The care staff of Komagane City."),
        N_("So that someone can call or visit you if you stop taking part."),
    ),
]


def _purposes(current: list[str]) -> list[Purpose]:
    """The three purposes, and each partner agreement the person has consented to."""
    partners = [
        Purpose(
            code,
            N_("Sharing with a partner"),
            N_("What you take part in, without your name (a pseudonym, your age in 10-year bands, dates only)."),
            code.split(":", 1)[1],
            N_("For the partner's statistics and services under a data-sharing agreement with the city."),
        )
        for code in current
        if code.startswith("PARTNER:")
    ]
    return PURPOSES + partners


def _title(code: str, loc: Localiser) -> str:
    known = next((p for p in PURPOSES if p.code == code), None)
    if known is not None:
        return loc.gettext(known.title)
    return f"{loc.gettext('Sharing with a partner')}: {code.split(':', 1)[-1]}"


@router.get("/consents")
async def consents_page(request: Request) -> Response:
    viewer = require_resident(request)
    loc = localiser(request)
    answer = await gateway(request, viewer).get(f"/v1/people/{viewer.subject}/consents")
    current = [c["purpose"] for c in answer["consents"] if c["granted"]]
    history = [{"title": _title(h["purpose"], loc), "granted": h["action"] == "GRANTED", "at": h["at"]} for h in answer["history"]]
    return render(request, "consents.html", purposes=_purposes(current), current=set(current), history=history, flash=take_flash(request))


@router.get("/consents/{purpose}/confirm")
async def confirm_page(request: Request, purpose: str, action: str = "withdraw") -> Response:
    viewer = require_resident(request)
    person = await gateway(request, viewer).get(f"/v1/people/{viewer.subject}")
    chosen = next((p for p in _purposes(list(person.get("consents", []))) if p.code == purpose), None)
    if chosen is None or action not in ("grant", "withdraw"):
        return RedirectResponse("/consents", status_code=303)
    return render(request, "consent_confirm.html", purpose=chosen, action=action)


@router.post("/consents/{purpose}")
async def change_consent(request: Request, purpose: str) -> Response:
    form = await checked_form(request)
    viewer = require_resident(request)
    loc = localiser(request)
    gw = gateway(request, viewer)
    action = form.get("action")
    try:
        if action == "grant":
            await gw.put(f"/v1/people/{viewer.subject}/consents/{purpose}")
            flash(request, loc.gettext("Thank you. Your consent is recorded."))
        elif action == "withdraw":
            await gw.delete(f"/v1/people/{viewer.subject}/consents/{purpose}")
            flash(request, loc.gettext("Your consent is withdrawn. We stop using your data for this."))
    except GatewayError as exc:
        flash(request, problem_message(exc, loc), kind="error")
    return RedirectResponse("/consents", status_code=303)
