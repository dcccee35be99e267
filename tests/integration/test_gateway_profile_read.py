"""The profile read's fast path (komagane_gateway.fastpath.profile_read) on a real Redis: which
profile reads it answers itself, what it answers, and that everything else reaches the full
application with the decision it took; and that the route answers the same reads the same way.

The profile route is the real one, served through the kit's `FastPaths`; the full application
behind it is a stand-in (it records what reaches it), but for the comparison with the route.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis
from fastapi import FastAPI
from starlette.types import Receive, Scope, Send

from komagane_contracts.readmodels import profile_key
from komagane_devstack.infra import RedisServer
from komagane_gateway.ratelimit import STATE_KEY, Limit, RateLimiter
from komagane_gateway.readcache import ReadCache
from komagane_gateway.routes import get_profile, router
from komagane_gateway.settings import GatewaySettings
from komagane_gateway.tokens import TokenVerifier, mint_token
from komagane_kit.fastpath import FastPaths

PERSON = "p-front-1"
PROFILE = {
    "person_id": PERSON,
    "version": 3,
    "age_band": "65-74",
    "residency_status": "RESIDENT",
    "consents": ["PROFILE"],
    "updated_at": "2026-11-28T10:00:00+09:00",
}


class FullApp:
    """Stands in for the FastAPI application: answers 299 and remembers what reached it."""

    def __init__(self) -> None:
        self.seen: list[Scope] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.seen.append(scope)
        await send({"type": "http.response.start", "status": 299, "headers": []})
        await send({"type": "http.response.body", "body": b""})


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[tuple[FastPaths, FullApp, SimpleNamespace, GatewaySettings]]:
    server = RedisServer(tmp_path)
    server.start()
    client = aioredis.Redis.from_url(server.url)
    await client.set(profile_key(PERSON), json.dumps(PROFILE))
    settings = GatewaySettings(data_dir=tmp_path / "gateway")
    state = SimpleNamespace(
        token_verifier=TokenVerifier(settings),
        rate_limiter=RateLimiter(client, read=Limit(per_second=0.01, burst=4), write=Limit(1, 1)),
        read_cache=ReadCache(),
        redis=client,
    )
    application = FastAPI()  # the profile route alone: every other path is the stand-in's
    application.router.routes.append(next(route for route in router.routes if getattr(route, "endpoint", None) is get_profile))
    for name, value in vars(state).items():
        setattr(application.state, name, value)
    full = FullApp()
    yield FastPaths(full, application_of=lambda: application), full, state, settings
    await client.aclose()
    server.stop()


async def _get(front: FastPaths, path: str, token: str | None, **headers: str) -> httpx.Response:
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=front), base_url="http://gateway") as client:
        return await client.get(path, headers=headers)


async def test_a_known_callers_read_is_answered_by_the_fast_path(served: tuple[FastPaths, FullApp, SimpleNamespace, GatewaySettings]) -> None:
    front, full, state, settings = served
    token = mint_token(settings, "resident", subject=PERSON)
    # A token not verified yet: the full path verifies it (here: the stand-in, so verify by hand).
    assert (await _get(front, f"/v1/profiles/{PERSON}", token)).status_code == 299
    await state.token_verifier.verify(token)
    answer = await _get(front, f"/v1/profiles/{PERSON}", token)
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/json"
    assert answer.json()["version"] == 3 and answer.json()["person_id"] == PERSON
    assert answer.headers["etag"] == '"3"'
    assert (answer.headers["ratelimit-limit"], answer.headers["ratelimit-remaining"]) == ("4", "3")
    unchanged = await _get(front, f"/v1/profiles/{PERSON}", token, **{"If-None-Match": '"3"'})
    assert unchanged.status_code == 304 and unchanged.content == b"" and unchanged.headers["etag"] == '"3"'
    assert len(full.seen) == 1


@pytest.mark.parametrize(
    ("path", "role", "subject"),
    [
        (f"/v1/profiles/{PERSON}?min_version=9", "resident", PERSON),  # read-your-writes waits: the full path
        ("/v1/profiles/someone-else", "resident", PERSON),  # a resident reading another: 403 there
        (f"/v1/profiles/{PERSON}", "city", "city-1"),  # a role the matrix refuses
        (f"/v1/profiles/{PERSON}/extra", "staff", "staff-1"),  # not the profile route
    ],
)
async def test_everything_else_goes_to_the_full_application_untouched(
    served: tuple[FastPaths, FullApp, SimpleNamespace, GatewaySettings], path: str, role: str, subject: str
) -> None:
    front, full, state, settings = served
    token = mint_token(settings, role, subject=subject)
    await state.token_verifier.verify(token)
    assert (await _get(front, path, token)).status_code == 299
    assert (await _get(front, path, None)).status_code == 299  # no token at all
    assert len(full.seen) == 2 and all(STATE_KEY not in scope.get("state", {}) for scope in full.seen)
    assert state.rate_limiter.calls == 0  # no token was taken for them


async def test_an_absent_profile_and_a_refusal_reach_the_full_path_with_the_one_token_taken(
    served: tuple[FastPaths, FullApp, SimpleNamespace, GatewaySettings],
) -> None:
    front, full, state, settings = served
    token = mint_token(settings, "staff", subject="staff-1")
    await state.token_verifier.verify(token)
    absent = await _get(front, "/v1/profiles/nobody", token)
    assert absent.status_code == 299
    decision: Any = full.seen[-1]["state"][STATE_KEY]
    assert decision.allowed and decision.remaining == 3 and decision.prefetched == {profile_key("nobody"): None}
    for _ in range(3):
        assert (await _get(front, f"/v1/profiles/{PERSON}", token)).status_code == 200
    refused = await _get(front, f"/v1/profiles/{PERSON}", token)
    assert refused.status_code == 299 and not full.seen[-1]["state"][STATE_KEY].allowed
    assert state.rate_limiter.calls == 5  # one token per request, never two
