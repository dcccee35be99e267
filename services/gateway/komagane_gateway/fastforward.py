"""Forwarded requests without the framework: the same steps as the full path, fewer layers.

Every write of the platform (and every read the gateway only passes on) ends in one route,
`routes.forward`. Through FastAPI such a request spends most of the gateway's time on routing,
dependency injection and ASGI middleware that add nothing to it. `DirectForward` serves exactly
the requests the application would route to `routes.forward`, by calling the same functions the
full path calls, in the same order:

1. the body, read under the same size limit (`BodySizeLimit`, 413);
2. `auth.authorize`: NUL check, authentication, access matrix, rate limit, staff rules;
3. `routes.forward`: the owning service, idempotency store, upstream call (timeouts, breaker,
   no retry for writes, 503/504 with Retry-After, a CLIENT span with `traceparent`);
4. a `Problem` becomes the same problem+json as the app's exception handler makes, and the
   answer passes the app's own middleware (`RateLimit-*` headers, localised problems).

So there is one place for each rule; what this module owns is only which requests it takes
(`ForwardedRoutes`: what the app's router would hand to `routes.forward`, found by the kit's
`EndpointRoutes`) and the telemetry the
ASGI instrumentation would give them: one SERVER span continuing the caller's trace and the
`http.server.*` metrics the service dashboards read. The gateway tests send every request both
ways and compare status, headers and body.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Sequence
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.middleware import Middleware
from opentelemetry import metrics, trace
from opentelemetry.metrics import Histogram, UpDownCounter
from opentelemetry.trace import SpanKind, Status, StatusCode
from starlette.requests import ClientDisconnect, Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from komagane_gateway.auth import authorize
from komagane_gateway.routes import forward
from komagane_kit.errors import BodySizeLimit, Problem, internal_error_response
from komagane_kit.routing import EndpointRoutes
from komagane_kit.telemetry import context_from_headers

log = logging.getLogger(__name__)
_tracer = trace.get_tracer(__name__)


class ForwardedRoutes(EndpointRoutes):
    """Which requests the application's router hands to `routes.forward` (komagane_kit.routing)."""

    def __init__(self, routers: Sequence[APIRouter]) -> None:
        super().__init__(routers, forward)

    def path_of(self, method: str, path: str) -> str | None:
        """The `path` parameter `forward` would get, or None when the request is not forward's."""
        params = self.params_of(method, path)
        return None if params is None else params["path"]


@functools.cache
def _server_metrics() -> tuple[Histogram, UpDownCounter]:
    """The instruments of the ASGI instrumentation (same names and units: the dashboards count
    these requests too), made on first use, after the meter provider is installed."""
    meter = metrics.get_meter(__name__)
    duration = meter.create_histogram("http.server.duration", unit="ms", description="Measures the duration of inbound HTTP requests.")
    active = meter.create_up_down_counter("http.server.active_requests", unit="{request}", description="Number of active HTTP server requests.")
    return duration, active


class DirectForward:
    """Serves the requests `ForwardedRoutes` says are forward's (see the module docstring).

    `app`: the FastAPI application (its state: verifier, limiter, upstreams, idempotency store);
    `middleware`: the application's own middleware list, applied here in the same order.
    """

    def __init__(self, app: FastAPI, routes: ForwardedRoutes, *, middleware: Sequence[Middleware], max_body_bytes: int) -> None:
        self.app = app
        self.routes = routes
        # As the ASGI instrumentation names them: the span and `http.route` by the route's path,
        # the metrics' `http.target` by its path format.
        self.route_path = routes.route.path
        self.target = routes.route.path_format
        # As Starlette stacks `create_app(middleware=...)`: the body limit innermost, the last one outermost.
        stack: ASGIApp = BodySizeLimit(self._handle, max_bytes=max_body_bytes)
        for layer in middleware:
            stack = layer.cls(stack, *layer.args, **layer.kwargs)
        self._stack = stack

    def path_of(self, scope: Scope) -> str | None:
        return self.routes.path_of(scope["method"], scope["path"])

    async def __call__(self, scope: Scope, receive: Receive, send: Send, path: str) -> None:
        """Serve `scope`, whose `forward` path parameter is `path` (from `path_of`)."""
        scope["app"] = self.app  # what Request.app reads, as Starlette sets it
        scope["path_params"] = {"path": path}
        method = scope["method"]
        status = 0

        async def watched(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        duration, active = _server_metrics()
        active_attributes = {"http.method": method, "http.scheme": scope.get("scheme", "http")}
        active.add(1, active_attributes)
        began = time.perf_counter()
        span_context = context_from_headers(scope["headers"])
        with _tracer.start_as_current_span(f"{method} {self.route_path}", context=span_context, kind=SpanKind.SERVER) as span:
            try:
                await self._stack(scope, receive, watched)
            finally:
                span.set_attributes({"http.request.method": method, "http.route": self.route_path, "http.response.status_code": status})
                if status >= 500 or status == 0:
                    span.set_status(Status(StatusCode.ERROR))
                active.add(-1, active_attributes)
                attributes: dict[str, Any] = {**active_attributes, "http.status_code": status, "http.target": self.target}
                duration.record(max(round((time.perf_counter() - began) * 1000), 0), attributes)

    async def _handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        try:
            await request.body()  # under BodySizeLimit: too large raises out of here, to it
        except ClientDisconnect:
            return  # nobody to answer
        try:
            principal = await authorize(request)
            response = await forward(request, scope["path_params"]["path"], principal)
        except Problem as problem:
            response = problem.response(instance=request.url.path)
        except Exception:
            log.exception("unhandled error on %s %s", request.method, request.url.path)
            response = internal_error_response(instance=request.url.path)
        await response(scope, receive, send)
