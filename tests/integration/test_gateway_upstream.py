"""The gateway's client to a service (`Upstream`) against a real HTTP server on 127.0.0.1.

A small aiohttp server plays the service: it counts attempts, answers 503 or slowly when told
to, and echoes what it received (path, query, headers), so retries, timeouts, the circuit
breaker, percent-encoding, trace propagation and connection reuse are seen on the wire.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
from aiohttp import web
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from komagane_devstack.process import free_port
from komagane_gateway.resilience import CircuitBreaker
from komagane_gateway.upstream import Upstream
from komagane_kit.errors import Problem
from tests.support.waiting import eventually

SECRET = "s" * 48


@dataclass
class FakeService:
    url: str
    attempts: Counter[str] = field(default_factory=Counter)
    peers: list[int] = field(default_factory=list)
    fail_first: int = 0  # answer 503 to this many requests of a path first


@pytest.fixture
async def service() -> AsyncIterator[FakeService]:
    port = free_port()
    fake = FakeService(url=f"http://127.0.0.1:{port}")

    async def echo(request: web.Request) -> web.Response:
        fake.attempts[request.path] += 1
        peer = request.transport.get_extra_info("peername") if request.transport else None
        fake.peers.append(peer[1] if peer else 0)
        if fake.attempts[request.path] <= fake.fail_first:
            return web.json_response({"status": 503}, status=503, headers={"Retry-After": "1"})
        if request.path == "/slow":
            await asyncio.sleep(5)
        if request.path == "/moved":
            return web.Response(status=303, headers={"Location": "/v1/elsewhere", "Set-Cookie": "session=caller-a"})
        body = await request.read()
        return web.json_response(
            {
                "raw_path": request.raw_path,
                "query": list(request.query.items()),
                "headers": dict(request.headers),
                "body": body.decode(),
            },
            status=201 if request.method == "POST" else 200,
            headers={"Location": "/v1/x/1", "X-Internal-Secret-Of-The-Service": "never forwarded", "ETag": '"v1"'},
        )

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", echo)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    yield fake
    await runner.cleanup()


def upstream_for(url: str, **kwargs: object) -> Upstream:
    return Upstream("exchange", url, 2.0, internal_secret=SECRET, read_timeout_seconds=1.0, **kwargs)  # type: ignore[arg-type]


async def test_answers_are_read_whole_with_case_insensitive_headers_and_the_path_percent_encoded(service: FakeService) -> None:
    upstream = upstream_for(service.url)
    try:
        answer = await upstream.call(
            "POST",
            "/v1/hubs/駒ヶ根 1/visits%?#",
            headers={"content-type": "application/json", "X-Internal-Token": "t"},
            params=[("tag", "a"), ("tag", "b & c"), ("limit", 5)],
            content=b'{"person_id": "p"}',
        )
        assert answer.status_code == 201
        assert answer.headers["location"] == answer.headers["LOCATION"] == "/v1/x/1"
        seen = answer.json()
        # Non-ASCII, space, % ? # in a path segment arrive percent-encoded, as one path.
        assert seen["raw_path"] == "/v1/hubs/%E9%A7%92%E3%83%B6%E6%A0%B9%201/visits%25%3F%23?tag=a&tag=b+%26+c&limit=5"
        assert seen["query"] == [["tag", "a"], ["tag", "b & c"], ["limit", "5"]]
        assert seen["body"] == '{"person_id": "p"}'
        assert seen["headers"]["X-Internal-Token"] == "t"
        assert seen["headers"]["Content-Type"] == "application/json"
    finally:
        await upstream.close()


async def test_redirects_and_cookies_go_back_to_the_caller_not_into_the_next_request(service: FakeService) -> None:
    upstream = upstream_for(service.url.replace("127.0.0.1", "localhost"))  # a cookie jar takes no cookies from IP addresses
    try:
        moved = await upstream.call("GET", "/moved", headers={})
        assert moved.status_code == 303 and moved.headers["location"] == "/v1/elsewhere"
        assert service.attempts["/v1/elsewhere"] == 0
        nxt = await upstream.call("GET", "/v1/hubs", headers={})
        assert "Cookie" not in nxt.json()["headers"]
    finally:
        await upstream.close()


async def test_a_get_is_retried_after_a_503_and_a_post_is_not(service: FakeService) -> None:
    service.fail_first = 1
    upstream = upstream_for(service.url)
    try:
        read = await upstream.call("GET", "/v1/sessions", headers={})
        assert read.status_code == 200 and service.attempts["/v1/sessions"] == 2
        assert upstream.breaker.failures == 0  # the retry's success reset the count
        write = await upstream.call("POST", "/v1/hubs", headers={}, content=b"{}")
        assert write.status_code == 503 and service.attempts["/v1/hubs"] == 1
        assert write.headers["retry-after"] == "1"
    finally:
        await upstream.close()


async def test_a_refused_connection_is_503_after_retries_and_opens_the_circuit() -> None:
    upstream = upstream_for(f"http://127.0.0.1:{free_port()}", breaker=CircuitBreaker(failure_threshold=3, open_seconds=30))
    try:
        with pytest.raises(Problem) as refused:
            await upstream.call("GET", "/v1/hubs", headers={})
        assert refused.value.status == 503 and refused.value.kind == "service-unavailable"
        assert refused.value.headers["Retry-After"] == "1"
        assert upstream.breaker.state == "open"  # three attempts, three failures
        began = time.monotonic()
        with pytest.raises(Problem) as open_circuit:
            await upstream.call("POST", "/v1/hubs", headers={}, content=b"{}")
        assert time.monotonic() - began < 0.1
        # The gateway asks the service's readiness meanwhile: come back in a second.
        assert open_circuit.value.status == 503 and open_circuit.value.headers["Retry-After"] == "1"
    finally:
        await upstream.close()


async def test_an_open_circuit_closes_as_soon_as_the_service_is_ready_again() -> None:
    port = free_port()
    upstream = upstream_for(f"http://127.0.0.1:{port}", breaker=CircuitBreaker(failure_threshold=3, open_seconds=30))
    ready = asyncio.Event()
    probes = Counter[bool]()

    async def readyz(request: web.Request) -> web.Response:
        probes[ready.is_set()] += 1
        return web.json_response({"status": "ok"}, status=200 if ready.is_set() else 503)

    async def hubs(request: web.Request) -> web.Response:
        return web.json_response([])

    app = web.Application()
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/v1/hubs", hubs)
    runner = web.AppRunner(app)
    try:
        with pytest.raises(Problem):
            await upstream.call("GET", "/v1/hubs", headers={})
        assert upstream.breaker.state == "open"
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()

        async def probed_twice() -> bool:
            return probes[False] >= 2

        await eventually(probed_twice, what="readiness probes")
        assert upstream.breaker.state == "open"  # up, but not ready yet: the circuit stays open
        ready.set()
        began = time.monotonic()
        while upstream.breaker.state != "closed":
            assert time.monotonic() - began < 1.0, "the circuit stayed open after the service was ready"
            await asyncio.sleep(0.01)
        assert (await upstream.call("GET", "/v1/hubs", headers={})).status_code == 200
    finally:
        await upstream.close()
        await runner.cleanup()


async def test_a_slow_answer_is_504_after_the_route_timeout_without_a_retry(service: FakeService) -> None:
    upstream = upstream_for(service.url)
    try:
        began = time.monotonic()
        with pytest.raises(Problem) as slow:
            await upstream.call("GET", "/slow", headers={})
        assert slow.value.status == 504 and slow.value.kind == "upstream-timeout"
        assert 0.9 < time.monotonic() - began < 3  # the read timeout, 1 s
        assert service.attempts["/slow"] == 1
        assert upstream.breaker.failures == 1
    finally:
        await upstream.close()


async def test_one_client_span_per_request_and_its_context_in_traceparent(service: FakeService) -> None:
    spans = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(spans))
    upstream = upstream_for(service.url, tracer=provider.get_tracer("test"))
    try:
        answer = await upstream.call("GET", "/v1/people/p-1", headers={}, params=[("display_name", "山田")])
    finally:
        await upstream.close()
    [span] = spans.get_finished_spans()
    assert span.kind is SpanKind.CLIENT and span.name == "GET exchange"
    assert span.context is not None
    traceparent = answer.json()["headers"]["traceparent"]
    assert traceparent == f"00-{span.context.trace_id:032x}-{span.context.span_id:016x}-{span.context.trace_flags:02x}"
    assert span.attributes is not None
    assert span.attributes["http.request.method"] == "GET"
    assert span.attributes["url.full"] == f"{service.url}/v1/people/p-1"  # never the query
    assert span.attributes["server.address"] == "127.0.0.1"
    assert span.attributes["http.response.status_code"] == 200


async def test_pooled_connections_are_reused_and_dropped_before_the_service_would_close_them(service: FakeService) -> None:
    upstream = upstream_for(service.url)
    try:
        for _ in range(3):
            assert (await upstream.call("GET", "/v1/hubs", headers={})).status_code == 200
        assert len(set(service.peers)) == 1  # one connection, kept alive
        await asyncio.sleep(3.5)  # past the gateway's keep-alive (3 s), short of uvicorn's (5 s)
        assert (await upstream.call("GET", "/v1/hubs", headers={})).status_code == 200
        assert len(set(service.peers)) == 2  # the idle one was dropped, a new one opened
    finally:
        await upstream.close()
