"""`FastPaths`: each request to its route's fast path, if it has one, found as the router finds it.

A fast path must take exactly the requests the router would give its route and no others. The
router takes the first route whose pattern and methods both match, so a request is the route's
when its pattern matches and no route before it matches the request. The patterns are the routes'
own, compiled by FastAPI (nothing restates a path); per method, only the routes that accept it
and come no later than the last fast path that does are looked at.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from starlette.routing import Mount, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from komagane_kit.fastpath.declare import Serve, fast_path_of

Candidates = list[tuple[re.Pattern[str], Serve | None]]


class FastPaths:
    """ASGI. `app`: what serves every request no fast path takes (the full path);
    `application_of`: the FastAPI application whose routes are looked at, called once here (a
    function, so the dispatcher can be one of that application's own middleware)."""

    def __init__(self, app: ASGIApp, *, application_of: Callable[[], FastAPI]) -> None:
        self.app = app
        application = application_of()
        routes: list[tuple[re.Pattern[str], frozenset[str] | None, Serve | None]] = []
        # In the router's order, included routers searched through (their effective patterns).
        for context in iter_route_contexts(application.router.routes):
            route = context.original_route
            if isinstance(route, Route):  # (APIRoute too)
                declared = fast_path_of(route.endpoint) if isinstance(route, APIRoute) else None
                serve = declared.bind(application, route) if declared is not None and isinstance(route, APIRoute) else None
                routes.append((context.path_regex, frozenset(context.methods) if context.methods else None, serve))
            elif isinstance(route, Mount):  # every method under its prefix
                routes.append((context.path_regex, None, None))
        methods = {method for _, accepted, serve in routes if serve is not None for method in accepted or ()}
        self._by_method: dict[str, Candidates] = {}
        for method in methods:
            candidates: Candidates = [(pattern, serve) for pattern, accepted, serve in routes if accepted is None or method in accepted]
            last = max(i for i, (_, serve) in enumerate(candidates) if serve is not None)
            self._by_method[method] = candidates[: last + 1]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            candidates = self._by_method.get(scope["method"])
            if candidates is not None:
                path = scope["path"]
                for pattern, serve in candidates:
                    found = pattern.match(path)
                    if found is not None:
                        if serve is not None:
                            await serve(scope, receive, send, found.groupdict(), self.app)
                            return
                        break  # another route's request
        await self.app(scope, receive, send)
