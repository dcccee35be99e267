"""The platform's client (komagane_client) against a real HTTP server on 127.0.0.1 that refuses,
fails or answers as each test tells it: what is retried, with which key, after how long, and
what is given up as pending. Both transports (httpx and the lean one) take the same path."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from aiohttp import web

from komagane_client import Pending, PlatformClient, RetryPolicy, parse_retry_after
from komagane_devstack.process import free_port
from tests.support.waiting import eventually

QUICK = RetryPolicy(first_backoff=0.01, max_backoff=0.05, deadline=5.0)


@dataclass
class Fake:
    url: str
    # One per request in turn: (status, headers) or (status, headers, problem kind); once used
    # up every request gets 201.
    script: list[tuple[int, dict[str, str]] | tuple[int, dict[str, str], str]] = field(default_factory=list)
    seen: list[tuple[str, str | None, float]] = field(default_factory=list)  # method, Idempotency-Key, when
    hang_up: int = 0  # close this many connections without answering first


@pytest.fixture
async def fake() -> AsyncIterator[Fake]:
    port = free_port()
    server = Fake(url=f"http://127.0.0.1:{port}")

    async def handle(request: web.Request) -> web.StreamResponse:
        server.seen.append((request.method, request.headers.get("Idempotency-Key"), time.monotonic()))
        if server.hang_up:
            server.hang_up -= 1
            assert request.transport is not None
            request.transport.close()  # the request arrived; no answer comes
            return web.Response()
        entry = server.script.pop(0) if server.script else (201, {})
        status, headers = entry[0], entry[1]
        kind = {"type": f"https://komagane.example/problems/{entry[2]}"} if len(entry) > 2 else {}
        return web.json_response({"status": status, **kind}, status=status, headers=headers)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    yield server
    await runner.cleanup()


Client = Callable[..., PlatformClient]


@pytest.fixture(params=["httpx", "lean"])
def client(request: pytest.FixtureRequest) -> Client:
    def make(url: str, **kwargs: object) -> PlatformClient:
        return PlatformClient(url, token="t", lean=request.param == "lean", timeout=5, **kwargs)  # type: ignore[arg-type]

    return make


async def test_a_write_is_retried_through_refusals_with_one_key_until_accepted(fake: Fake, client: Client) -> None:
    fake.script = [(503, {"Retry-After": "0"}), (502, {}), (504, {}), (429, {"Retry-After": "0"})]
    platform = client(fake.url, policy=QUICK)
    try:
        reply = await platform.post("/v1/hubs", {"name_ja": "x"})
    finally:
        await platform.aclose()
    assert reply.status == 201 and reply.json() == {"status": 201}
    keys = {key for _, key, _ in fake.seen}
    assert len(fake.seen) == 5 and len(keys) == 1 and None not in keys  # one key, made up once
    assert platform.stats.retried == 4


async def test_the_callers_key_is_kept_and_answers_that_are_not_retryable_come_back_at_once(fake: Fake, client: Client) -> None:
    fake.script = [(409, {}), (500, {})]
    platform = client(fake.url, policy=QUICK)
    try:
        assert (await platform.post("/v1/x", {}, key="plan-7")).status == 409
        assert (await platform.post("/v1/x", {}, key="plan-8")).status == 500  # a bug is not retried
    finally:
        await platform.aclose()
    assert [key for _, key, _ in fake.seen] == ["plan-7", "plan-8"]


async def test_a_409_saying_the_same_write_is_still_in_progress_is_asked_again_for_its_answer(fake: Fake, client: Client) -> None:
    # The gateway's store and the service's say so in their own words; a real conflict is final.
    fake.script = [
        (409, {"Retry-After": "0"}, "idempotency-key-in-progress"),
        (409, {"Retry-After": "0"}, "request-in-progress"),
        (201, {}),
        (409, {}, "conflict"),
    ]
    platform = client(fake.url, policy=QUICK)
    try:
        assert (await platform.post("/v1/x", {}, key="visit-1")).status == 201
        assert (await platform.post("/v1/x", {}, key="visit-2")).status == 409
    finally:
        await platform.aclose()
    assert [key for _, key, _ in fake.seen] == ["visit-1"] * 3 + ["visit-2"]


async def test_retry_after_is_honoured(fake: Fake, client: Client) -> None:
    fake.script = [(503, {"Retry-After": "1"})]
    platform = client(fake.url, policy=RetryPolicy(first_backoff=0.01, jitter=0.0))
    try:
        assert (await platform.post("/v1/x", {})).status == 201
    finally:
        await platform.aclose()
    (_, _, first), (_, _, second) = fake.seen
    assert 0.95 <= second - first < 1.5


async def test_a_connection_closed_without_an_answer_is_retried_with_the_same_key(fake: Fake, client: Client) -> None:
    fake.hang_up = 2
    platform = client(fake.url, policy=QUICK)
    try:
        assert (await platform.post("/v1/x", {})).status == 201
    finally:
        await platform.aclose()
    assert len(fake.seen) == 3 and len({key for _, key, _ in fake.seen}) == 1


async def test_a_service_not_listening_yet_is_waited_for(client: Client) -> None:
    port = free_port()
    platform = client(f"http://127.0.0.1:{port}", policy=RetryPolicy(first_backoff=0.05, max_backoff=0.1, deadline=10))
    runner: web.AppRunner | None = None
    try:
        write = asyncio.create_task(platform.post("/v1/x", {}))

        async def retried_twice() -> bool:
            return platform.stats.retried >= 2

        await eventually(retried_twice, timeout=5, interval=0.01, what="refused connections retried")
        app = web.Application()
        app.router.add_post("/v1/x", lambda request: _created())
        runner = web.AppRunner(app)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        assert (await asyncio.wait_for(write, 5)).status == 201
    finally:
        await platform.aclose()
        if runner is not None:
            await runner.cleanup()


async def _created() -> web.Response:
    return web.json_response({}, status=201)


async def test_past_the_deadline_a_write_is_reported_pending_with_its_key(fake: Fake, client: Client) -> None:
    fake.script = [(503, {"Retry-After": "0.05"})] * 100
    platform = client(fake.url, policy=RetryPolicy(deadline=0.5, jitter=0.0))
    began = time.monotonic()
    try:
        with pytest.raises(Pending) as pending:
            await platform.post("/v1/x", {}, key="plan-9")
    finally:
        await platform.aclose()
    assert time.monotonic() - began < 1.0
    assert pending.value.key == "plan-9" and pending.value.attempts == len(fake.seen) > 3
    assert platform.stats.pending == 1


def test_backoff_grows_to_its_cap_with_jitter_and_retry_after_takes_precedence() -> None:
    policy = RetryPolicy(first_backoff=0.1, max_backoff=2.0, jitter=0.2, max_retry_after=30)
    rng = random.Random(1)
    waits = [policy.wait(n, None, rng) for n in range(1, 10)]
    for n, wait in enumerate(waits, start=1):
        base = min(2.0, 0.1 * 2 ** (n - 1))
        assert base <= wait <= base * 1.2
    assert len({round(w, 6) for w in waits[-4:]}) == 4  # capped, yet not all the same
    assert 3 <= policy.wait(1, "3", rng) <= 3.6
    assert policy.wait(1, "3600", rng) <= 36  # capped too
    in_two_seconds = format_datetime(datetime.now(UTC) + timedelta(seconds=2), usegmt=True)
    assert 0.5 < (parse_retry_after(in_two_seconds) or 0) <= 2.0
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None
