"""The fast path of `forward` (routes.py): forwarded requests without the framework's routing.

Every write of the platform (and every read the gateway only passes on) ends in one route,
`routes.forward`. Through FastAPI such a request spends most of the gateway's time on routing,
dependency injection and ASGI middleware that add nothing to it. `DirectForward` serves exactly
the requests the router would give `forward` (komagane_kit.fastpath finds them by the route's own
pattern), by calling the same functions the full path calls, in the same order:

1. the body, read under the same size limit (`BodySizeLimit`, 413);
2. `auth.authorize`: NUL check, authentication, access matrix, rate limit, staff rules;
3. the route's own function, `forward`: the owning service, idempotency store, upstream call
   (timeouts, breaker, no retry for writes, 503/504 with Retry-After, a CLIENT span with
   `traceparent`);
4. a `Problem` becomes the same problem+json as the app's exception handler makes, and the
   answer passes the app's own middleware (`RateLimit-*` headers, localised problems, the body
   limit), taken from the application itself.

So there is one place for each rule. Telemetry is the kit's, as for every request the
application serves (komagane_kit.http_telemetry: one SERVER span continuing the caller's trace,
the `http.server.*` metrics the dashboards read). The gateway tests send every request both ways
and compare status, headers and body.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import FastAPI
from fastapi.routing import APIRoute
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from komagane_gateway.auth import authorize
from komagane_gateway.tokens import Principal
from komagane_kit.errors import Problem, unexpected_error_response
from komagane_kit.fastpath import Serve
from komagane_kit.http_telemetry import ServerTelemetry, serve_traced


class DirectForward:
    """The fast path (komagane_kit.fastpath) of the forwarding route; its path parameter is `path`."""

    def bind(self, app: FastAPI, route: APIRoute) -> Serve:
        return _Forwarding(app, route)


class _Forwarding:
    def __init__(self, app: FastAPI, route: APIRoute) -> None:
        self.app = app
        self.endpoint: Callable[[Request, str, Principal], Awaitable[Response]] = route.endpoint
        # The span and `http.route` name the route by its path, the metrics by its path format,
        # as for a request the application routes itself.
        self.route = (route.path, route.path_format)
        # The application's own middleware, stacked as Starlette stacks it (the first outermost),
        # but its telemetry: `serve_traced` records the request's span and metrics here.
        stack: ASGIApp = self._handle
        for layer in reversed(app.user_middleware):
            if layer.cls is not ServerTelemetry:  # type: ignore[comparison-overlap]
                stack = layer.cls(stack, *layer.args, **layer.kwargs)
        self._stack = stack

    async def __call__(self, scope: Scope, receive: Receive, send: Send, params: dict[str, str], full: ASGIApp) -> None:
        scope["app"] = self.app  # what Request.app reads, as Starlette sets it
        scope["path_params"] = params
        await serve_traced(self._stack, scope, receive, send, route=self.route)

    async def _handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        try:
            await request.body()  # under BodySizeLimit: too large raises out of here, to it
        except ClientDisconnect:
            return  # nobody to answer
        try:
            principal = await authorize(request)
            response = await self.endpoint(request, scope["path_params"]["path"], principal)
        except Problem as problem:
            response = problem.response(instance=request.url.path)
        except Exception as exc:
            response = unexpected_error_response(exc, request.method, request.url.path)
        await response(scope, receive, send)
