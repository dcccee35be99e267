"""Requests served by the gateway's fast paths (komagane_gateway.fastpath: forwarding, and the
cached profile read) answer exactly as the full app.

One real gateway runs in-process (`build_gateway`) on a real Redis, in front of a small aiohttp
server playing every service: it verifies the internal token and echoes what reached it, or
answers with a problem, slowly, or with a 500 when told to by the path. Each scenario — a
sequence of requests — runs twice from the same clean state (Redis flushed, circuits closed):
once through the FastAPI application itself, once through what is served (`FastPaths`), and
every answer must be the same: status, headers and body, errors included.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
import redis.asyncio as aioredis
from aiohttp import web
from fastapi import FastAPI
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from starlette.types import ASGIApp, Receive, Scope, Send

from komagane_contracts.readmodels import profile_key
from komagane_devstack.infra import RedisServer
from komagane_devstack.process import free_port
from komagane_gateway.main import build_gateway
from komagane_gateway.routes import SERVICES
from komagane_gateway.settings import GatewaySettings
from komagane_gateway.tokens import mint_token
from komagane_kit.errors import PROBLEM_BASE, PROBLEM_JSON
from komagane_kit.fastpath import FastPaths
from komagane_kit.internal_auth import INTERNAL_TOKEN_HEADER, verify_internal_token

SECRET = "direct-forward-" + "s" * 40
TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
TRACEPARENT = f"00-{TRACE_ID}-00f067aa0ba902b7-01"
RESIDENT = "p-resident-1"
OTHER = "p-other-2"
MAX_BODY = 2000
ECHOED = ("content-type", "accept", "accept-language", "idempotency-key", "x-actor", "x-actor-role", "x-access-reason", "cookie", "authorization")


async def stand_in(request: web.Request) -> web.Response:
    """Every service at once (see the module docstring)."""
    if request.path == "/openapi.json":
        return web.Response(status=404)
    if request.method == "GET" and request.path.startswith("/v1/sessions/"):
        return web.json_response({"id": request.path.rsplit("/", 1)[-1], "hub_id": "h-1"})  # the staff rule's hub lookup
    if request.path.endswith("/invalid"):
        problem = {"type": PROBLEM_BASE + "validation-error", "title": "Validation failed", "status": 422, "detail": "Invalid request: when"}
        return web.Response(body=json.dumps({**problem, "errors": [{"field": "when", "message": "bad"}]}), status=422, content_type=PROBLEM_JSON)
    if request.path.endswith("/not-allowed"):
        problem = {"type": PROBLEM_BASE + "method-not-allowed", "title": "Method Not Allowed", "status": 405, "detail": "…"}
        return web.Response(body=json.dumps(problem), status=405, content_type=PROBLEM_JSON, headers={"Allow": "GET, POST"})
    if request.path.endswith("/slow"):
        await asyncio.sleep(3.0)  # well beyond the gateway's 1 s: it answers 504 first
        return web.Response(status=204)
    if request.path.endswith("/broken"):
        return web.Response(status=503, text="boom", headers={"Retry-After": "7"})
    identity = verify_internal_token(SECRET, request.headers[INTERNAL_TOKEN_HEADER])
    traceparent = request.headers.get("traceparent", "")
    echo = {
        "method": request.method,
        "raw_path": request.raw_path,
        "body": (await request.read()).decode(),
        "identity": [identity.subject, sorted(identity.roles), identity.hub_id],
        "headers": {name: request.headers.get(name) for name in ECHOED},
        "trace_id": traceparent.split("-")[1] if traceparent else None,  # the span id differs per call
    }
    headers = {"Location": "/v1/x/1", "ETag": '"v1"', "X-Service-Secret": "never forwarded", "Set-Cookie": "a=b"}
    return web.json_response(echo, status=201 if request.method == "POST" else 200, headers=headers)


class Recorder:
    """Stands between the fast paths and the full app, counting what reaches the app."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.paths: list[str] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            self.paths.append(f"{scope['method']} {scope['path']}")
        await self.app(scope, receive, send)


@dataclass
class Gateway:
    app: FastAPI
    front: FastPaths
    full: Recorder
    redis: aioredis.Redis
    tokens: dict[str, str] = field(default_factory=dict)

    async def reset(self) -> None:
        await self.redis.flushdb()
        for upstream in self.app.state.upstreams.values():
            upstream.breaker.succeeded()

    async def send(self, through: ASGIApp, request: Request) -> tuple[int, list[tuple[str, str]], bytes]:
        method, path, who, headers, body = request
        headers = {"traceparent": TRACEPARENT, **headers}
        if who is not None:
            headers["Authorization"] = who if " " in who else f"Bearer {self.tokens[who]}"
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=through), base_url="http://gateway") as client:
            answer = await client.request(method, path, headers=headers, content=body)
        return answer.status_code, answer.headers.multi_items(), answer.content


# (method, path, token name or a whole Authorization value or None, headers, body)
Request = tuple[str, str, str | None, dict[str, str], bytes | None]


def post(path: str, who: str | None, body: Any, **headers: str) -> Request:
    content = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()
    return ("POST", path, who, {"Content-Type": "application/json", **headers}, content)


VISITS = "/v1/hubs/h-1/visits"
RESERVE = "/v1/sessions/s-1/reservations"
SCENARIOS: dict[str, list[Request]] = {
    "a write, its replay and its key reused": [
        post(VISITS, "admin", {"person_id": RESIDENT}, **{"Idempotency-Key": "k-1"}),
        post(VISITS, "admin", {"person_id": RESIDENT}, **{"Idempotency-Key": "k-1"}),
        post(VISITS, "admin", {"person_id": OTHER}, **{"Idempotency-Key": "k-1"}),
    ],
    "a blank idempotency key": [post(VISITS, "admin", {"person_id": RESIDENT}, **{"Idempotency-Key": " "})],
    "only allowed headers pass, both ways": [
        post(VISITS, "admin", {"person_id": RESIDENT}, Cookie="c=d", Accept="application/json", **{"Accept-Language": "en"}),
    ],
    "no token, a bad token, not a bearer": [
        post(VISITS, None, {"person_id": RESIDENT}),
        post(VISITS, "Bearer not-a-jwt", {"person_id": RESIDENT}, **{"Accept-Language": "en"}),
        post(VISITS, "Basic dXNlcjpwYXNz", {"person_id": RESIDENT}),
    ],
    "the access matrix": [
        post(VISITS, "resident", {"person_id": RESIDENT}),  # operations: staff only
        post(RESERVE, "resident", {"person_id": RESIDENT}),  # self-service for oneself
        post(RESERVE, "resident", {"person_id": OTHER}),  # for someone else
        ("DELETE", f"{RESERVE}/{RESIDENT}", "resident", {}, None),
        ("DELETE", f"{RESERVE}/{OTHER}", "resident", {}, None),
        ("PUT", "/v1/hubs/h-1", "city", {"Content-Type": "application/json"}, b"{}"),
    ],
    "the staff rules": [
        post(VISITS, "staff-h2", {"person_id": RESIDENT}),  # wrong hub
        post(VISITS, "staff-h1", {"person_id": RESIDENT, "hub_id": "h-3"}),  # wrong hub in the body
        ("PATCH", "/v1/hubs/h-1", "staff-h1", {"Content-Type": "application/json"}, b'{"name": "x"}'),
        post(RESERVE, "staff-h2", {"person_id": OTHER}),  # the session's hub (asked of exchange) is h-1
        post(RESERVE, "staff-h1", {"person_id": OTHER}),  # for a person: no reason
        post(RESERVE, "staff-h1", {"person_id": OTHER}, **{"X-Access-Reason": quote("電話で依頼", safe="")}),
    ],
    "NUL characters and bodies too large": [
        post(VISITS, "admin", b'{"person_id": "a\\u0000b"}'),
        post(VISITS + "%00", "admin", {"person_id": RESIDENT}),
        post(VISITS, "admin", {"person_id": "x" * MAX_BODY}),
    ],
    "the rate limit": [post(VISITS, "staff-h1", {"person_id": RESIDENT}) for _ in range(4)],
    "the service's own problems, localised": [
        post("/v1/hubs/h-1/invalid", "admin", {}),
        post("/v1/hubs/h-1/invalid", "admin", {}, **{"Accept-Language": "en-GB, ja;q=0.5"}),
    ],
    "a slow service, a broken one, an open circuit": [
        post("/v1/hubs/h-1/slow", "admin", {}),
        post("/v1/hubs/h-1/broken", "admin", {}, **{"Idempotency-Key": "k-broken"}),
        post(VISITS, "admin", {"person_id": RESIDENT}),
    ],
    "no service owns it": [post("/v1/nothing-here", "admin", {})],
    "a method the gateway's own route does not declare": [
        ("PUT", "/v1/kpis", "admin", {"Content-Type": "application/json"}, b"{}"),
        ("DELETE", "/v1/profiles/p-1", "admin", {}, None),
    ],
    "forwarded reads with a repeated query": [("GET", "/v1/hubs?kind=hall&kind=shop&q=%E9%A7%92", "resident", {}, None)],
}


@pytest.fixture
async def gateway(tmp_path: Path) -> AsyncIterator[Gateway]:
    redis_server = RedisServer(tmp_path)
    redis_server.start()
    port = free_port()
    service = web.Application()
    service.router.add_route("*", "/{tail:.*}", stand_in)
    runner = web.AppRunner(service)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    urls = {f"{name}_url": f"http://127.0.0.1:{port}" for name in SERVICES}
    settings = GatewaySettings(
        redis_url=redis_server.url,
        internal_token_secret=SECRET,
        data_dir=tmp_path / "gateway",
        max_body_bytes=MAX_BODY,
        upstream_timeout_seconds=1.0,  # the other answers take milliseconds: far inside it, however loaded the machine
        upstream_read_timeout_seconds=1.0,
        circuit_failure_threshold=2,
        circuit_open_seconds=600,
        rate_limit_write_per_second=0.01,  # no refill within a test: the same figures both ways
        rate_limit_write_burst=3,
        rate_limit_read_per_second=0.01,
        rate_limit_read_burst=100,
        **urls,  # type: ignore[arg-type]
    )
    app, front = build_gateway(settings)
    assert isinstance(front, FastPaths)
    full = Recorder(front.app)
    front.app = full
    client = aioredis.Redis.from_url(redis_server.url)
    tokens = {
        "admin": mint_token(settings, "admin", subject="admin-1"),
        "resident": mint_token(settings, "resident", subject=RESIDENT),
        "city": mint_token(settings, "city", subject="city-1"),
        "staff-h1": mint_token(settings, "staff", subject="staff-1", hub_id="h-1"),
        "staff-h2": mint_token(settings, "staff", subject="staff-2", hub_id="h-2"),
    }
    try:
        async with app.router.lifespan_context(app):
            yield Gateway(app, front, full, client, tokens)
    finally:
        await client.aclose()
        await runner.cleanup()
        redis_server.stop()


@pytest.mark.parametrize("scenario", list(SCENARIOS))
async def test_the_fast_path_answers_forwarded_requests_as_the_full_app_does(gateway: Gateway, scenario: str) -> None:
    requests = SCENARIOS[scenario]
    await gateway.reset()
    through_app = [await gateway.send(gateway.app, request) for request in requests]
    await gateway.reset()
    through_front = [await gateway.send(gateway.front, request) for request in requests]
    assert gateway.full.paths == []  # every one was served at the door
    for request, expected, got in zip(requests, through_app, through_front, strict=True):
        assert got == expected, request[:2]


async def test_the_scenarios_cover_what_they_claim(gateway: Gateway) -> None:
    """The comparison above is only worth something if the answers differ from case to case."""
    await gateway.reset()
    answers = {}
    for scenario, requests in SCENARIOS.items():
        await gateway.reset()
        answers[scenario] = [(status, dict(headers), body) for status, headers, body in [await gateway.send(gateway.front, r) for r in requests]]
    statuses = {scenario: [status for status, _, _ in found] for scenario, found in answers.items()}
    assert statuses["a write, its replay and its key reused"] == [201, 201, 422]
    assert statuses["a blank idempotency key"] == [400]
    assert statuses["no token, a bad token, not a bearer"] == [401, 401, 401]
    assert statuses["the access matrix"] == [403, 201, 403, 200, 403, 403]
    assert statuses["the staff rules"] == [403, 403, 200, 403, 422, 201]
    assert statuses["NUL characters and bodies too large"] == [422, 422, 413]
    assert statuses["the rate limit"] == [201, 201, 201, 429]
    assert statuses["the service's own problems, localised"] == [422, 422]
    assert statuses["a slow service, a broken one, an open circuit"] == [504, 503, 503]
    assert statuses["no service owns it"] == [404]
    assert statuses["a method the gateway's own route does not declare"] == [405, 405], answers["a method the gateway's own route does not declare"]
    assert [answer[1]["allow"] for answer in answers["a method the gateway's own route does not declare"]] == ["GET", "GET"]

    first, replay, _ = answers["a write, its replay and its key reused"]
    assert replay[1]["idempotent-replayed"] == "true" and replay[2] == first[2]
    echo = json.loads(first[2])
    assert echo["identity"] == ["admin-1", ["admin"], None] and echo["trace_id"] == TRACE_ID
    assert echo["headers"]["idempotency-key"] not in (None, "k-1")  # scoped per caller
    assert first[1]["location"] == "/v1/x/1" and "ratelimit-remaining" in first[1]
    [(_, headers, body)] = answers["only allowed headers pass, both ways"]
    sent = json.loads(body)["headers"]
    assert sent["cookie"] is None and sent["authorization"] is None and sent["accept-language"] == "en"
    assert "x-service-secret" not in headers and "set-cookie" not in headers
    _, no_token, _ = answers["no token, a bad token, not a bearer"][0]
    assert no_token["www-authenticate"].startswith("Bearer") and no_token["content-language"] == "ja"
    reason_echo = json.loads(answers["the staff rules"][-1][2])
    assert reason_echo["headers"]["x-access-reason"] == quote("電話で依頼", safe=" ")
    limited = answers["the rate limit"][-1][1]
    assert limited["retry-after"] and limited["ratelimit-remaining"] == "0"
    japanese, english = answers["the service's own problems, localised"]
    assert json.loads(japanese[2])["title"] == "入力内容に誤りがあります" and json.loads(english[2])["title"] == "Validation failed"
    slow, broken, opened = answers["a slow service, a broken one, an open circuit"]
    assert slow[1]["retry-after"] and json.loads(slow[2])["type"].endswith("upstream-timeout")
    assert broken[2] == b"boom" and broken[1]["retry-after"] == "7"  # the service's own answer, not retried
    assert json.loads(opened[2])["type"].endswith("service-unavailable") and opened[1]["retry-after"]
    [(_, _, read)] = answers["forwarded reads with a repeated query"]
    assert json.loads(read)["raw_path"] == "/v1/hubs?kind=hall&kind=shop&q=%E9%A7%92"


async def test_a_services_405_keeps_its_allow_header_both_ways(gateway: Gateway) -> None:
    await gateway.reset()
    for through in (gateway.front, gateway.full):
        status, headers, _ = await gateway.send(through, ("PUT", "/v1/hubs/not-allowed", "admin", {}, None))
        assert status == 405 and dict(headers)["allow"] == "GET, POST"


async def test_other_routes_reach_the_full_app(gateway: Gateway) -> None:
    await gateway.reset()
    requests: list[Request] = [("OPTIONS", "/v1/people", "admin", {}, None), ("GET", f"/v1/people/{RESIDENT}/overview", "resident", {}, None)]
    for request in requests:
        await gateway.send(gateway.front, request)
    assert gateway.full.paths == ["OPTIONS /v1/people", f"GET /v1/people/{RESIDENT}/overview"]


async def test_a_forwarded_write_is_one_server_span_continuing_the_callers_trace_with_a_client_span_under_it(gateway: Gateway) -> None:
    provider = trace.get_tracer_provider()
    assert isinstance(provider, TracerProvider)
    spans = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(spans))
    await gateway.reset()
    status, _, _ = await gateway.send(gateway.front, post(VISITS, "admin", {"person_id": RESIDENT}))
    assert status == 201
    finished = spans.get_finished_spans()
    [server] = [span for span in finished if span.kind is SpanKind.SERVER]
    [client] = [span for span in finished if span.kind is SpanKind.CLIENT and span.name == "POST exchange"]  # (Redis calls are CLIENT spans too)
    assert server.name == "POST /v1/{path:path}" and client.name == "POST exchange"
    assert server.context is not None and client.parent is not None and client.context is not None
    assert f"{server.context.trace_id:032x}" == TRACE_ID and client.parent.span_id == server.context.span_id
    assert server.attributes is not None and server.attributes["http.response.status_code"] == 201
    spans.clear()


PROFILE = {
    "person_id": RESIDENT,
    "version": 3,
    "age_band": "65-74",
    "residency_status": "RESIDENT",
    "consents": ["PROFILE"],
    "updated_at": "2026-11-28T10:00:00+09:00",
}
PROFILE_READS: list[Request] = [
    ("GET", f"/v1/profiles/{RESIDENT}", "resident", {}, None),
    ("GET", f"/v1/profiles/{RESIDENT}", "resident", {"If-None-Match": '"3"'}, None),
    ("GET", f"/v1/profiles/{RESIDENT}", "resident", {"If-None-Match": '"2"'}, None),
]


async def test_a_cached_profile_read_answers_as_the_route_does(gateway: Gateway) -> None:
    """The fast path and the route build the answer (ETag, 304) in one place: the same bytes."""
    answers = []
    for through in (gateway.app, gateway.front):
        await gateway.reset()
        await gateway.redis.set(profile_key(RESIDENT), json.dumps(PROFILE))
        answers.append([await gateway.send(through, request) for request in PROFILE_READS])
    through_app, through_front = answers
    assert gateway.full.paths == []  # the route verified the token first: every read served by the fast path
    assert [status for status, _, _ in through_front] == [200, 304, 200]
    assert dict(through_front[1][1])["etag"] == '"3"' and through_front[1][2] == b""
    assert through_front == through_app
