"""Which requests an application's router would hand to one endpoint, without routing them.

Code that serves a route's requests before the framework does (the gateway's forwarded requests,
a service's grouped writes) must take exactly the requests the router would give that route and
no others. The router takes the first route that matches both path and method, so a request is
the endpoint's when its route's pattern matches and no route included before it does. The
patterns are the routes' own, compiled by FastAPI: nothing here restates a path.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from fastapi import APIRouter
from fastapi.routing import APIRoute


class EndpointRoutes:
    """`routers`: the application's routers in the order it includes them; `endpoint`: the
    function of the route to recognise."""

    def __init__(self, routers: Sequence[APIRouter], endpoint: Callable[..., Any]) -> None:
        routes = [route for router in routers for route in router.routes if isinstance(route, APIRoute)]
        found = next((i for i, route in enumerate(routes) if route.endpoint is endpoint), None)
        if found is None:
            raise LookupError(f"{endpoint.__qualname__} is not among the routers' routes")
        self.route = routes[found]
        self.methods = frozenset(self.route.methods or ())
        self._path_fields = list(self.route.dependant.path_params)
        self._before: list[tuple[re.Pattern[str], frozenset[str]]] = [(route.path_regex, frozenset(route.methods or ())) for route in routes[:found]]

    def params_of(self, method: str, path: str) -> dict[str, str] | None:
        """The route's path parameters as the router would give them, or None when the request
        is not the endpoint's."""
        if method not in self.methods:
            return None
        found = self.route.path_regex.match(path)
        if found is None:
            return None
        for pattern, methods in self._before:
            if method in methods and pattern.match(path):
                return None
        return found.groupdict()

    def accepts(self, params: Mapping[str, str]) -> bool:
        """Whether the route's own path parameter types (lengths, patterns, SafeStr…) take
        `params`; when not, the full path answers with its validation problem."""
        for field in self._path_fields:
            _, errors = field.validate(params.get(field.alias), {}, loc=("path", field.alias))
            if errors:
                return False
        return True
