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
`EndpointRoutes`); their telemetry is the kit's, as for every request the application serves
(komagane_kit.http_telemetry: one SERVER span continuing the caller's trace, the `http.server.*`
metrics the dashboards read). The gateway tests send every request both ways and compare
status, headers and body.
"""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import APIRouter, FastAPI
from fastapi.middleware import Middleware
from starlette.requests import ClientDisconnect, Request
from starlette.types import ASGIApp, Receive, Scope, Send

from komagane_gateway.auth import authorize
from komagane_gateway.routes import forward
from komagane_kit.errors import BodySizeLimit, Problem, unexpected_error_response
from komagane_kit.http_telemetry import serve_traced
from komagane_kit.routing import EndpointRoutes


class ForwardedRoutes(EndpointRoutes):
    """Which requests the application's router hands to `routes.forward` (komagane_kit.routing)."""

    def __init__(self, routers: Sequence[APIRouter]) -> None:
        super().__init__(routers, forward)

    def path_of(self, method: str, path: str) -> str | None:
        """The `path` parameter `forward` would get, or None when the request is not forward's."""
        params = self.params_of(method, path)
        return None if params is None else params["path"]


class DirectForward:
    """Serves the requests `ForwardedRoutes` says are forward's (see the module docstring).

    `app`: the FastAPI application (its state: verifier, limiter, upstreams, idempotency store);
    `middleware`: the application's own middleware list, applied here in the same order.
    """

    def __init__(self, app: FastAPI, routes: ForwardedRoutes, *, middleware: Sequence[Middleware], max_body_bytes: int) -> None:
        self.app = app
        self.routes = routes
        # The span and `http.route` name the route by its path, the metrics by its path format,
        # as for a request the application routes itself.
        self.route = (routes.route.path, routes.route.path_format)
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
        await serve_traced(self._stack, scope, receive, send, route=self.route)

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
        except Exception as exc:
            response = unexpected_error_response(exc, request.method, request.url.path)
        await response(scope, receive, send)
