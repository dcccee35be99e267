"""The marker that says "this route has a fast path", and what a fast path is."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol, TypeVar

from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Receive, Scope, Send

# Serves one request of the route: `params` are its path parameters as the router would give
# them; `full` is the full application, to hand the request to when it is not the common case.
Serve = Callable[[Scope, Receive, Send, dict[str, str], ASGIApp], Awaitable[None]]
Endpoint = TypeVar("Endpoint", bound=Callable[..., Any])
_MARK = "__komagane_fast_path__"


class FastPath(Protocol):
    def bind(self, app: FastAPI, route: APIRoute) -> Serve:
        """What serves `route`'s requests in `app` (its state, its settings), built once when the
        app is assembled."""
        ...


def fast_path(path: FastPath) -> Callable[[Endpoint], Endpoint]:
    """Declares that `path` serves the decorated route's requests first (applied next to the
    route's own decorator; the route itself serves whatever `path` hands on)."""

    def mark(endpoint: Endpoint) -> Endpoint:
        setattr(endpoint, _MARK, path)
        return endpoint

    return mark


def fast_path_of(endpoint: Callable[..., Any]) -> FastPath | None:
    found: FastPath | None = getattr(endpoint, _MARK, None)
    return found


def declares_fast_paths(routes: Sequence[BaseRoute]) -> bool:
    """Whether any of `routes` (included routers searched through) is declared with a fast path."""
    return any(isinstance(route := context.original_route, APIRoute) and fast_path_of(route.endpoint) is not None for context in iter_route_contexts(routes))
