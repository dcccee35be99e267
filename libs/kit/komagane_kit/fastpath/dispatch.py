"""`FastPaths`: each request to its route's fast path, if it has one, found as the router finds it.

A fast path must take exactly the requests the router would give its route and no others. The
router takes the first route whose pattern and methods both match, so a request is the route's
when its pattern matches and no route before it matches the request. The patterns are the routes'
own, compiled by FastAPI: nothing restates a path.

What a request costs here is kept to what can decide it. Per method, only the routes that accept
it are looked at, and of those before a fast path's route only the ones whose literal beginnings
(the path up to its first parameter, where the compiled pattern starts) are compatible with the
route's: a route beginning `/v1/kpis` never takes a path beginning `/v1/profiles/`. So the
profile read is one pattern match, as it was when the path was restated.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from starlette.routing import Mount, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from komagane_kit.fastpath.declare import Serve, fast_path_of

Match = Callable[[str], re.Match[str] | None]


@dataclass(frozen=True)
class _Seen:
    """One route of the router, as far as finding a request's route goes."""

    match: Match
    literal: str  # the path up to its first parameter
    methods: frozenset[str] | None  # None: every method (a mount)
    serve: Serve | None

    def may_overlap(self, other: _Seen) -> bool:
        return self.literal.startswith(other.literal) or other.literal.startswith(self.literal)


class FastPaths:
    """ASGI. `app`: what serves every request no fast path takes (the full path);
    `application_of`: the FastAPI application whose routes are looked at, called once here (a
    function, so the dispatcher can be one of that application's own middleware)."""

    def __init__(self, app: ASGIApp, *, application_of: Callable[[], FastAPI]) -> None:
        self.app = app
        application = application_of()
        routes: list[_Seen] = []
        # In the router's order, included routers searched through (their effective patterns).
        for context in iter_route_contexts(application.router.routes):
            route = context.original_route
            literal = str(context.path).split("{", 1)[0]
            if isinstance(route, Route):  # (APIRoute too)
                declared = fast_path_of(route.endpoint) if isinstance(route, APIRoute) else None
                serve = declared.bind(application, route) if declared is not None and isinstance(route, APIRoute) else None
                routes.append(_Seen(context.path_regex.match, literal, frozenset(context.methods) if context.methods else None, serve))
            elif isinstance(route, Mount):
                routes.append(_Seen(context.path_regex.match, literal, None, None))
        # Per method: each fast path's route, with the routes before it that could take its requests.
        self._by_method: dict[str, list[tuple[Match, Serve, tuple[Match, ...]]]] = {}
        for i, seen in enumerate(routes):
            if seen.serve is None:
                continue
            for method in seen.methods or ():
                before = tuple(earlier.match for earlier in routes[:i] if (earlier.methods is None or method in earlier.methods) and earlier.may_overlap(seen))
                self._by_method.setdefault(method, []).append((seen.match, seen.serve, before))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            candidates = self._by_method.get(scope["method"])
            if candidates is not None:
                path = scope["path"]
                for match, serve, before in candidates:
                    found = match(path)
                    if found is not None:
                        for earlier in before:
                            if earlier(path) is not None:
                                break  # an earlier route's request
                        else:
                            await serve(scope, receive, send, found.groupdict(), self.app)
                            return
                        break
        await self.app(scope, receive, send)
