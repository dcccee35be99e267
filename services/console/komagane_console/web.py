"""What every page shares: the signed-in viewer, their language, CSRF, the gateway and rendering."""

from __future__ import annotations

import hmac
import secrets
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.datastructures import FormData

from komagane_console.gateway import Gateway
from komagane_console.i18n import LANGUAGES, Localiser, choose, localiser_for
from komagane_console.navigation import pages_of

# Templates are compiled once; no file check per page (auto_reload), as they change only with a release.
TEMPLATES = Environment(loader=FileSystemLoader(Path(__file__).parent / "templates"), autoescape=select_autoescape(["html"]), auto_reload=False)
CSRF_FIELD = "csrf_token"


@dataclass(frozen=True)
class Viewer:
    """The signed-in person, as kept in the signed session cookie."""

    token: str
    subject: str
    role: str
    name: str
    preferred_language: str | None = None
    hub: str | None = None

    @property
    def is_resident(self) -> bool:
        return self.role == "resident"


class SignInRequired(Exception):
    """A page needs a signed-in viewer (answered with a redirect to the sign-in page)."""


class CsrfRefused(Exception):
    """A form post without the session's CSRF token (answered with 403)."""


def sign_in(request: Request, viewer: Viewer) -> None:
    request.session.clear()  # a new sign-in starts a new session (and a new CSRF token)
    request.session["viewer"] = asdict(viewer)


def current_viewer(request: Request) -> Viewer | None:
    data = request.session.get("viewer")
    try:
        return Viewer(**data) if isinstance(data, dict) else None
    except TypeError:  # a session of another version of the console: sign in again
        return None


def require_viewer(request: Request) -> Viewer:
    viewer = current_viewer(request)
    if viewer is None:
        raise SignInRequired
    return viewer


def require_role(request: Request, *roles: str) -> Viewer:
    """The signed-in viewer if their role is one of `roles`; otherwise the 403 page."""
    viewer = require_viewer(request)
    if viewer.role not in roles:
        raise PermissionError
    return viewer


def require_resident(request: Request) -> Viewer:
    return require_role(request, "resident")


def localiser(request: Request) -> Localiser:
    viewer = current_viewer(request)
    chosen = request.session.get("lang")
    code = choose(chosen if isinstance(chosen, str) else None, viewer.preferred_language if viewer else None, request.headers.get("accept-language"))
    return localiser_for(code)


def gateway(request: Request, viewer: Viewer) -> Gateway:
    return Gateway(request.app.state.http, request.app.state.settings.gateway_url, viewer.token, localiser(request).language.gateway)


def csrf_token(request: Request) -> str:
    token = request.session.get("csrf")
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return token


async def checked_form(request: Request) -> FormData:
    """The posted form, once its CSRF token matches the session's; every form post goes through this."""
    form = await request.form()
    sent = form.get(CSRF_FIELD)
    expected = request.session.get("csrf")
    if not isinstance(sent, str) or not isinstance(expected, str) or not hmac.compare_digest(sent, expected):
        raise CsrfRefused
    return form


def render(request: Request, template: str, *, status_code: int = 200, **context: Any) -> HTMLResponse:
    loc = localiser(request)
    viewer = current_viewer(request)
    page = TEMPLATES.get_template(template).render(
        request=request,
        viewer=viewer,
        navigation=pages_of(viewer.role) if viewer else [],
        csrf_token=csrf_token(request),
        languages=LANGUAGES.values(),
        path=request.url.path,
        **loc.template_globals(),
        **context,
    )
    return HTMLResponse(page, status_code=status_code, headers={"Content-Language": loc.language.html, "Cache-Control": "no-store"})
