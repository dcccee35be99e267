"""The console's ASGI app: `uvicorn komagane_console.main:app` or the `komagane-console` command."""

from __future__ import annotations

import logging
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import quote

import aiohttp
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException
from starlette.middleware.sessions import SessionMiddleware

from komagane_console import care, charts, city, consents, hub, hub_actions, hub_mix, mydata, partner, places, sessions, work
from komagane_console.gateway import GatewayError
from komagane_console.problems import problem_message
from komagane_console.settings import ConsoleSettings
from komagane_console.signin import oidc_client
from komagane_console.signin import router as signin_router
from komagane_console.web import CsrfRefused, SignInRequired, localiser, render
from komagane_kit.health import PROBE_PATHS
from komagane_kit.http_telemetry import ServerTelemetry
from komagane_kit.telemetry import setup_telemetry, shutdown_telemetry

log = logging.getLogger(__name__)
STATIC = Path(__file__).parent / "static"
SESSION_COOKIE = "komagane_console"
ROUTERS = [places.router, sessions.router, work.router, consents.router, mydata.router, signin_router]
ROUTERS += [hub.router, hub_actions.router, hub_mix.router, care.router, city.router, partner.router, charts.router]


def create_app(settings: ConsoleSettings | None = None) -> FastAPI:
    settings = settings or ConsoleSettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Connections to the gateway are kept for reuse: a page makes several calls, and many
        # pages run at once (opening a connection per call cost more than the call).
        connector = aiohttp.TCPConnector(limit=settings.gateway_connections)
        timeout = aiohttp.ClientTimeout(total=settings.gateway_timeout_seconds)
        async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
            app.state.http = session
            yield

    app = FastAPI(title="Komagane console", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    app.state.settings = settings
    app.state.oidc = oidc_client(settings) if settings.oidc_enabled else None
    secret = settings.session_secret.get_secret_value()
    if not secret:
        log.warning("SESSION_SECRET is not set: a random one for this process (sign-ins end when it stops)")
        secret = secrets.token_urlsafe(48)
    app.add_middleware(
        SessionMiddleware,
        secret_key=secret,
        session_cookie=SESSION_COOKIE,
        max_age=settings.session_max_age_seconds,
        same_site="lax",
        https_only=settings.cookie_secure,
    )
    # A SERVER span per page (the probes aside); its calls to the gateway carry the trace on.
    app.add_middleware(ServerTelemetry, skip_paths=PROBE_PATHS)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    for router in ROUTERS:
        app.include_router(router)

    @app.get("/livez")
    @app.get("/readyz")
    async def probe() -> JSONResponse:
        return JSONResponse({"status": "ok"})

    @app.exception_handler(SignInRequired)
    async def to_sign_in(request: Request, exc: SignInRequired) -> Response:
        return RedirectResponse(f"/signin?next={quote(request.url.path)}", status_code=303)

    @app.exception_handler(CsrfRefused)
    async def csrf_refused(request: Request, exc: CsrfRefused) -> Response:
        loc = localiser(request)
        return render(request, "error.html", status_code=403, message=loc.gettext("This form has expired. Please go back, reload the page and try again."))

    @app.exception_handler(PermissionError)
    async def not_for_this_role(request: Request, exc: PermissionError) -> Response:
        return render(request, "error.html", status_code=403, message=localiser(request).gettext("This page is not for your role."))

    @app.exception_handler(GatewayError)
    async def gateway_refused(request: Request, exc: GatewayError) -> Response:
        if exc.status == 401:  # the token expired or was revoked: sign in again
            request.session.clear()
            return RedirectResponse("/signin", status_code=303)
        status = exc.status if exc.status in (403, 404, 409, 410, 422, 429) else 502
        return render(request, "error.html", status_code=status, message=problem_message(exc, localiser(request)))

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> Response:
        loc = localiser(request)
        message = loc.gettext("This page does not exist.") if exc.status_code == 404 else str(exc.detail)
        return render(request, "error.html", status_code=exc.status_code, message=message)

    return app


def run() -> None:
    settings = ConsoleSettings()
    # JSON logs, and traces and metrics over OTLP when OTEL_EXPORTER_OTLP_ENDPOINT is set, as every process.
    setup_telemetry("console", log_level=settings.log_level, libraries=())
    try:
        uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_config=None, timeout_graceful_shutdown=5)
    finally:
        shutdown_telemetry()


if __name__ == "__main__":
    run()
