"""Signing in and out: development personas, or OpenID Connect (authorization code + PKCE, Authlib)."""

from __future__ import annotations

import base64
import json
from typing import Any

from authlib.integrations.starlette_client import OAuth
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from komagane_console.gateway import Gateway, GatewayError
from komagane_console.navigation import landing
from komagane_console.personas import mint, personas
from komagane_console.settings import ConsoleSettings
from komagane_console.web import Viewer, checked_form, current_viewer, localiser, render, sign_in

router = APIRouter()


def oidc_client(settings: ConsoleSettings) -> Any:
    """The identity provider's client (Authlib keeps state, nonce and the PKCE verifier in the session)."""
    oauth = OAuth()
    oauth.register(
        "idp",
        server_metadata_url=settings.oidc_discovery_url,
        client_id=settings.oidc_client_id,
        client_secret=settings.oidc_client_secret.get_secret_value() or None,
        client_kwargs={"scope": settings.oidc_scope, "code_challenge_method": "S256"},
    )
    return oauth.create_client("idp")


def _claims(token: str) -> dict[str, Any]:
    """The access token's claims, read but not verified: the gateway verifies it on every call."""
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError):
        return {}
    return claims if isinstance(claims, dict) else {}


def _local(path: str | None) -> str:
    """A path on this site to go back to after signing in (never another host)."""
    return path if path and path.startswith("/") and not path.startswith("//") else "/"


async def _complete(request: Request, token: str, role: str, subject: str, hub: str | None, back: str = "/") -> Response:
    name, language = subject, None
    if role == "resident":
        # The person's own record names them and says their language.
        try:
            person = await Gateway(request.app.state.http, _settings(request).gateway_url, token, "ja").get(f"/v1/people/{subject}")
            name, language = person.get("display_name") or subject, person.get("preferred_language")
        except GatewayError as exc:
            return render(request, "signin.html", status_code=400, error=exc, personas=_personas(request), oidc=_settings(request).oidc_enabled)
    sign_in(request, Viewer(token=token, subject=subject, role=role, name=name, preferred_language=language, hub=hub))
    return RedirectResponse(_local(back), status_code=303)


def _settings(request: Request) -> ConsoleSettings:
    settings: ConsoleSettings = request.app.state.settings
    return settings


def _personas(request: Request) -> list[Any]:
    settings = _settings(request)
    return personas(settings) if settings.dev_sign_in else []


@router.get("/signin", response_class=HTMLResponse)
async def signin_page(request: Request, next: str = "/") -> Response:
    settings = _settings(request)
    return render(request, "signin.html", personas=_personas(request), oidc=settings.oidc_enabled, dev=settings.dev_sign_in, back=_local(next))


@router.post("/signin/dev")
async def signin_dev(request: Request) -> Response:
    form = await checked_form(request)
    settings = _settings(request)
    if not settings.dev_sign_in:
        return Response(status_code=404)
    person_id = str(form.get("person_id") or "").strip()
    chosen = next((p for p in personas(settings) if p.key == form.get("persona")), None)
    if person_id:  # any resident of the town, by person id (development only)
        role, subject, hub = "resident", person_id, None
    elif chosen is not None and chosen.subject:
        role, subject, hub = chosen.role, chosen.subject, chosen.hub
    else:
        return RedirectResponse("/signin", status_code=303)
    return await _complete(request, mint(settings, role, subject, hub), role, subject, hub, str(form.get("next") or "/"))


@router.get("/auth/login")
async def oidc_login(request: Request) -> Response:
    settings = _settings(request)
    if not settings.oidc_enabled:
        return Response(status_code=404)
    client = request.app.state.oidc
    request.session["after_sign_in"] = _local(request.query_params.get("next"))
    response: Response = await client.authorize_redirect(request, f"{settings.public_url.rstrip('/')}/auth/callback")
    return response


@router.get("/auth/callback")
async def oidc_callback(request: Request) -> Response:
    settings = _settings(request)
    if not settings.oidc_enabled:
        return Response(status_code=404)
    answer = await request.app.state.oidc.authorize_access_token(request)
    token = str(answer["access_token"])
    claims = _claims(token)
    roles = claims.get("roles") or [claims.get("role", "resident")]
    role = (roles.split() if isinstance(roles, str) else roles)[0]
    hub = claims.get("hub")
    back = str(request.session.get("after_sign_in") or "/")
    return await _complete(request, token, str(role), str(claims.get("sub", "")), str(hub) if hub else None, back)


@router.post("/signout")
async def signout(request: Request) -> Response:
    await checked_form(request)
    request.session.clear()
    return RedirectResponse("/signin", status_code=303)


@router.post("/language")
async def choose_language(request: Request) -> Response:
    """The language switcher on every page: remembered in the session, over the person's preference."""
    form = await checked_form(request)
    request.session["lang"] = str(form.get("lang") or "")
    return RedirectResponse(_local(str(form.get("next") or "/")), status_code=303)


@router.get("/", response_class=HTMLResponse)
async def home(request: Request) -> Response:
    viewer = current_viewer(request)
    if viewer is None:
        return RedirectResponse("/signin", status_code=303)
    if start := landing(viewer.role):
        return RedirectResponse(start, status_code=303)
    localiser(request)
    return render(request, "home.html")
