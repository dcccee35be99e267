"""The kit's fast-path dispatcher takes exactly the requests the router would give a route
declared with a fast path, found by the routes' own patterns in the router's order."""

from __future__ import annotations

import httpx
from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute
from starlette.types import ASGIApp, Receive, Scope, Send

from komagane_kit.fastpath import FastPaths, Serve, declares_fast_paths, fast_path, fast_path_of


class Answering:
    """A fast path answering 200 with the route's path parameters, or handing on when asked."""

    def __init__(self) -> None:
        self.bound: list[str] = []

    def bind(self, app: FastAPI, route: APIRoute) -> Serve:
        self.bound.append(route.path)

        async def serve(scope: Scope, receive: Receive, send: Send, params: dict[str, str], full: ASGIApp) -> None:
            if scope["query_string"] == b"hand-on":
                await full(scope, receive, send)
                return
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": repr(sorted(params.items())).encode()})

        return serve


FAST = Answering()
first = APIRouter()
later = APIRouter()


@first.get("/things/special")
def special() -> str:
    return "route: special"


@later.get("/things/{thing_id}")
@fast_path(FAST)
def get_thing(thing_id: str) -> str:
    return f"route: {thing_id}"


@later.post("/things/{thing_id}")
def post_thing(thing_id: str) -> str:
    return f"route: post {thing_id}"


def served() -> FastAPI:
    app = FastAPI()
    app.include_router(first)
    app.include_router(later)
    return app


async def _get(app: ASGIApp, path: str, method: str = "GET") -> tuple[int, str]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        answer = await client.request(method, path)
    return answer.status_code, answer.text


async def test_the_marker_is_on_the_route_and_its_fast_path_is_bound_once() -> None:
    assert fast_path_of(get_thing) is FAST and fast_path_of(special) is None
    assert declares_fast_paths(later.routes) and not declares_fast_paths(first.routes)
    app = served()
    before = len(FAST.bound)
    FastPaths(app, application_of=lambda: app)
    assert FAST.bound[before:] == ["/things/{thing_id}"]


async def test_only_the_routes_requests_reach_its_fast_path() -> None:
    app = served()
    front = FastPaths(app, application_of=lambda: app)
    assert await _get(front, "/things/t-1") == (200, "[('thing_id', 't-1')]")
    assert await _get(front, "/things/special") == (200, '"route: special"')  # an earlier route's: the router's
    assert await _get(front, "/things/t-1", "POST") == (200, '"route: post t-1"')  # another method: another route
    assert await _get(front, "/things/t-1?hand-on") == (200, '"route: t-1"')  # handed on: the route answers
    assert (await _get(front, "/things/a/b"))[0] == 404


async def test_without_a_marked_route_nothing_is_taken() -> None:
    app = FastAPI()
    app.include_router(first)
    front = FastPaths(app, application_of=lambda: app)
    assert front._by_method == {}  # nothing looked at per request
    assert await _get(front, "/things/special") == (200, '"route: special"')
