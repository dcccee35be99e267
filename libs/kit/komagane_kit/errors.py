"""RFC 9457 problem details for every error a service or the gateway returns."""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Iterable, Sequence
from http import HTTPStatus
from typing import Any

import redis.exceptions
import sqlalchemy.exc
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
PROBLEM_BASE = "https://komagane.example/problems/"


class Problem(Exception):
    """Raise to answer with a problem+json body. `kind` becomes the type URI's last segment."""

    def __init__(self, status: int, kind: str, detail: str, *, title: str | None = None, headers: dict[str, str] | None = None, **extra: Any) -> None:
        super().__init__(detail)
        self.status = status
        self.kind = kind
        self.title = title or HTTPStatus(status).phrase
        self.detail = detail
        self.headers = headers or {}
        self.extra = extra

    def response(self, instance: str | None = None) -> JSONResponse:
        """The problem+json answer (the exception handler's, and the fast paths')."""
        return problem_response(self.status, self.kind, self.detail, title=self.title, instance=instance, headers=self.headers, **self.extra)


def problem_response(
    status: int, kind: str, detail: str, *, instance: str | None = None, title: str | None = None, headers: dict[str, str] | None = None, **extra: Any
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": PROBLEM_BASE + kind,
        "title": title or HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
    }
    if instance:
        body["instance"] = instance
    body.update(extra)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def internal_error_response(instance: str | None = None) -> JSONResponse:
    """The answer to an unexpected exception (logged by the caller): nothing of it leaks out."""
    return problem_response(500, "internal-error", "An unexpected error occurred; it has been logged.", instance=instance)


# A database or Redis that is away (restarting, unreachable, out of connections) is not a bug of the request: the
# caller is told to come back (503 + Retry-After), and a careful client's retry then succeeds.
DEPENDENCY_OUTAGES: tuple[type[BaseException], ...] = (
    sqlalchemy.exc.OperationalError,
    sqlalchemy.exc.InterfaceError,
    sqlalchemy.exc.DisconnectionError,
    sqlalchemy.exc.TimeoutError,  # every pooled connection busy: overloaded, not broken
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
)


def unexpected_error_response(exc: BaseException, method: str, path: str) -> JSONResponse:
    """The one answer to an exception no handler expected, on every path (routes, fast paths)."""
    if isinstance(exc, DEPENDENCY_OUTAGES):
        log.warning("%s %s: a dependency is unavailable: %s", method, path, str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
        return problem_response(
            503, "dependency-unavailable", "A store this service needs is unavailable; please retry shortly.", instance=path, headers={"Retry-After": "2"}
        )
    log.error("unhandled error on %s %s", method, path, exc_info=exc)
    return internal_error_response(instance=path)


def _field_name(location: tuple[Any, ...]) -> str:
    # ("body", "birth_year") -> "birth_year"; ("path", "purpose") -> "purpose"
    parts = [str(p) for p in location if p not in ("body", "query", "path", "header", "cookie")]
    return ".".join(parts) or ".".join(str(p) for p in location)


def is_json(content_type: str | None) -> bool:
    """Whether a request's Content-Type is JSON; none at all is read as JSON (FastAPI does)."""
    if not content_type:
        return True
    media = content_type.split(";")[0].strip().lower()
    return media == "application/json" or (media.startswith("application/") and media.endswith("+json"))


def unsupported_media_type(instance: str | None = None) -> JSONResponse:
    return problem_response(
        415,
        "unsupported-media-type",
        "The body must be application/json.",
        instance=instance,
        errors=[{"field": "Content-Type", "message": "must be application/json"}],
    )


def malformed_json(instance: str | None = None) -> JSONResponse:
    return problem_response(400, "malformed-json", "The body is not valid JSON.", instance=instance, errors=[{"field": "body", "message": "not valid JSON"}])


def allowed_methods(routes: Iterable[BaseRoute], path: str, *, besides: Collection[Callable[..., Any]] = ()) -> list[str]:
    """The methods the routes declare for `path` (for a 405's `Allow`), the routes of the
    endpoints `besides` (catch-alls) left out. An included router (FastAPI wraps each in a route of its own) is
    searched through."""
    methods: set[str] = set()
    for route in routes:
        included = getattr(route, "original_router", None)
        if included is not None:
            methods.update(allowed_methods(included.routes, path, besides=besides))
        elif getattr(route, "endpoint", None) in besides:
            continue
        elif (pattern := getattr(route, "path_regex", None)) is not None and pattern.match(path):
            methods |= getattr(route, "methods", None) or set()
    return sorted(methods)


def method_not_allowed(allow: Sequence[str], method: str) -> Problem:
    return Problem(405, "method-not-allowed", f"{method} is not allowed here; allowed: {', '.join(allow)}.", headers={"Allow": ", ".join(allow)}, method=method)


def install_problem_handlers(app: FastAPI) -> None:
    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem) -> JSONResponse:
        return exc.response(instance=request.url.path)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        # A body that is not JSON is a malformed request (400), one of another type an
        # unsupported one (415): only a JSON body that does not fit the model is 422.
        body_errors = [err for err in exc.errors() if tuple(err.get("loc", ()))[:1] == ("body",)]
        if body_errors and not is_json(request.headers.get("content-type")):
            return unsupported_media_type(instance=request.url.path)
        if any(err.get("type") == "json_invalid" for err in body_errors):
            return malformed_json(instance=request.url.path)
        errors = [{"field": _field_name(tuple(err.get("loc", ()))), "message": err.get("msg", "invalid"), "type": err.get("type", "")} for err in exc.errors()]
        fields = ", ".join(dict.fromkeys(e["field"] for e in errors))
        return problem_response(422, "validation-error", f"Invalid request: {fields}", title="Validation failed", instance=request.url.path, errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 405:  # Starlette names only the first route of the path: all of them
            allow = allowed_methods(request.app.router.routes, request.url.path)
            if not allow:  # no route takes the path at all (e.g. a newline in an id): nothing is there
                return problem_response(404, "not-found", "Nothing is found at this path.", instance=request.url.path)
            return method_not_allowed(allow, request.method).response(instance=request.url.path)
        kind = HTTPStatus(exc.status_code).phrase.lower().replace(" ", "-")
        return problem_response(exc.status_code, kind, str(exc.detail), instance=request.url.path, headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        return unexpected_error_response(exc, request.method, request.url.path)


class BodySizeLimit:
    """Refuses bodies over `max_bytes` with 413 problem+json, counting what is actually received."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._reject(scope, receive, send)
            return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise _TooLarge()
            return message

        try:
            await self.app(scope, limited_receive, send)
        except _TooLarge:
            await self._reject(scope, receive, send)

    async def _reject(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = problem_response(413, "payload-too-large", f"Request body exceeds {self.max_bytes} bytes", instance=scope.get("path"))
        await response(scope, receive, send)


class _TooLarge(Exception):
    pass
