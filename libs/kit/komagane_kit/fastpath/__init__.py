"""Fast paths: a route's common case served before the framework, declared on the route itself.

Through FastAPI a request spends much of its CPU on routing, dependency injection and middleware
that add nothing to the platform's busiest requests. A fast path serves such a route's common
case with the same functions the route uses, and hands everything else to the full application.
So a reader of a route sees at once whether a fast path serves it and where, it is declared next
to the route with `@fast_path(...)`:

    @router.post("/{hub_id}/visits", ...)
    @fast_path(GroupedWrite(body=HubVisitCreate, write=...))   # komagane_kit.fastpath.grouped_writes
    def record_visit(...): ...

`FastPaths` (ASGI, dispatch.py) finds each request's route the way the router does, by the
routes' own compiled patterns in the router's order (nothing restates a path), and gives the
requests of a route with a fast path to it. With `FAST_PATHS=0` (komagane_kit.settings) no fast
path is installed and every request takes the full path: what the benchmarks compare.

Modules:
- declare         `fast_path` (the marker on a route) and `FastPath` (what a fast path is)
- dispatch        `FastPaths`: the requests of a marked route to its fast path, the rest to the app
- grouped_writes  `GroupedWrite`: a busy POST route's writes committed in groups

The platform's fast paths: the gateway's cached profile read and its forwarded requests
(komagane_gateway.fastpath), the exchange's hub visit (grouped writes). Each has a test that sends
requests both ways and compares the answers.
"""

from __future__ import annotations

from komagane_kit.fastpath.declare import FastPath, Serve, declares_fast_paths, fast_path, fast_path_of
from komagane_kit.fastpath.dispatch import FastPaths

__all__ = ["FastPath", "FastPaths", "Serve", "declares_fast_paths", "fast_path", "fast_path_of"]
