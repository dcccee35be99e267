"""Forwarding requests to pillar services: timeouts, retries and a circuit breaker (resilience.py).

The client is aiohttp, one `ClientSession` per service: its connection pool hands out an idle
connection without scanning the whole pool on every request, which at write load is where
httpx spent most of the gateway's CPU. Nothing outside this module sees the client library:
callers get an `UpstreamAnswer`. Trace context goes to the service in `traceparent` (one CLIENT
span per request attempt), as the OpenTelemetry client instrumentations would do it.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import aiohttp
from fastapi import Request, Response
from opentelemetry import metrics, propagate, trace
from opentelemetry.metrics import Histogram
from opentelemetry.trace import SpanKind, Status, StatusCode, Tracer
from yarl import URL

from komagane_gateway.idempotency import HEADER as IDEMPOTENCY_HEADER
from komagane_gateway.idempotency import IdempotencyStore
from komagane_gateway.resilience import (
    READINESS_PROBE_SECONDS,
    READINESS_RETRY_AFTER_SECONDS,
    RETRY_BACKOFF_SECONDS,
    RETRYABLE_STATUS,
    SAFE_METHODS,
    CircuitBreaker,
    CircuitOpen,
    timeout_for,
)
from komagane_gateway.staff_rules import REASON_HEADER
from komagane_gateway.tokens import Principal
from komagane_kit.errors import Problem
from komagane_kit.internal_auth import INTERNAL_TOKEN_HEADER, Identity, mint_internal_token

log = logging.getLogger(__name__)

# Headers a service needs to see; everything else (cookies, hop-by-hop, the caller's bearer
# token, any X-Actor or X-Internal-Token a client made up) stays at the edge. The caller's
# verified identity travels in the internal token, and in X-Actor / X-Actor-Role for the
# health audit log.
FORWARDED_REQUEST_HEADERS = ("content-type", "accept", "accept-language", "idempotency-key")
FORWARDED_RESPONSE_HEADERS = ("content-type", "location", "retry-after", "etag", "idempotent-replayed", "content-language", "allow")

# Pooled connections are dropped before the services' uvicorn closes idle ones (5 s), so a POST
# (never retried) does not go out on a connection the service is just closing.
KEEPALIVE_SECONDS = 3.0
MAX_CONNECTIONS = 200

Query = Mapping[str, str | int] | Sequence[tuple[str, str | int]] | None


@dataclass(frozen=True, slots=True)
class UpstreamAnswer:
    """A service's whole answer. `headers` look names up case-insensitively."""

    status_code: int
    headers: Mapping[str, str]
    content: bytes

    def json(self) -> Any:
        return json.loads(self.content)


@functools.cache
def _client_duration() -> Histogram:
    """The histogram the OpenTelemetry HTTP client instrumentations record (the service overview
    dashboard reads it), made on first use: after the gateway installed its meter provider."""
    return metrics.get_meter(__name__).create_histogram("http.client.duration", unit="ms", description="measures the duration of the outbound HTTP request")


class UpstreamTimeout(Exception):
    """No (complete) answer within the call's time."""


class UpstreamUnreachable(Exception):
    """No connection, or it broke before a complete answer."""


class Upstream:
    """One pillar service behind the gateway, with its own circuit breaker (resilience.py).

    Construct it inside the running event loop (the app's lifespan): the session belongs to it.
    """

    def __init__(
        self,
        name: str,
        base_url: str,
        timeout_seconds: float,
        *,
        internal_secret: str,
        internal_ttl_seconds: int = 60,
        breaker: CircuitBreaker | None = None,
        connect_timeout_seconds: float = 1.0,
        read_timeout_seconds: float = 5.0,
        tracer: Tracer | None = None,
    ) -> None:
        self.name = name
        self.base_url = base_url.rstrip("/")
        self.timeout_seconds = timeout_seconds
        self.read_timeout_seconds = read_timeout_seconds
        self.connect_timeout_seconds = connect_timeout_seconds
        connector = aiohttp.TCPConnector(limit=MAX_CONNECTIONS, keepalive_timeout=KEEPALIVE_SECONDS)
        # No cookie jar: one caller's cookies must never ride on another's request.
        self.session = aiohttp.ClientSession(connector=connector, timeout=self._timeout(timeout_seconds), cookie_jar=aiohttp.DummyCookieJar())
        self.internal_secret = internal_secret
        self.internal_ttl_seconds = internal_ttl_seconds
        self.breaker = breaker or CircuitBreaker()
        self.breaker.on_open = self._follow_readiness
        self._readiness: asyncio.Task[None] | None = None
        self.tracer = tracer or trace.get_tracer(__name__)
        url = URL(self.base_url)
        self._server_attributes: dict[str, str | int] = {"server.address": url.host or "", "server.port": url.port or 80}
        self._timeouts: dict[float, aiohttp.ClientTimeout] = {}

    def identity_headers(self, principal: Principal) -> dict[str, str]:
        identity = Identity(subject=principal.subject, roles=principal.roles, hub_id=principal.hub_id)
        token = mint_internal_token(self.internal_secret, identity, ttl_seconds=self.internal_ttl_seconds)
        return {INTERNAL_TOKEN_HEADER: token, "X-Actor": principal.subject, "X-Actor-Role": principal.role}

    def unavailable(self, retry_after: str = "1") -> Problem:
        detail = f"The {self.name} service is unavailable; try again shortly."
        return Problem(503, "service-unavailable", detail, headers={"Retry-After": retry_after}, service=self.name)

    def _timeout(self, seconds: float) -> aiohttp.ClientTimeout:
        # The whole call (a pooled connection, connecting, sending, the complete answer) within
        # `seconds`; opening the connection within the connect timeout.
        return aiohttp.ClientTimeout(total=seconds, sock_connect=min(self.connect_timeout_seconds, seconds))

    async def call(
        self, method: str, path: str, *, headers: dict[str, str], params: Query = None, content: bytes = b"", timeout: float | None = None
    ) -> UpstreamAnswer:
        """One request to the service through its circuit breaker; safe methods are retried.

        Raises Problem 503 (unavailable or circuit open, with Retry-After) or 504 (timed out).
        """
        seconds = timeout if timeout is not None else timeout_for(method, path, read=self.read_timeout_seconds, write=self.timeout_seconds)
        # The path arrives decoded; any character (control characters, non-ASCII ids) is sent
        # percent-encoded, as the service will decode it.
        path = quote(path, safe="/:@!$&'()*+,;=")
        attempts = 1 + (len(RETRY_BACKOFF_SECONDS) if method in SAFE_METHODS else 0)
        for attempt in range(attempts):
            try:
                self.breaker.before_call()
            except CircuitOpen as exc:
                if self._readiness is not None and not self._readiness.done():  # may close any moment
                    exc.retry_after = min(exc.retry_after, READINESS_RETRY_AFTER_SECONDS)
                raise self.unavailable(retry_after=exc.retry_after_header) from exc
            try:
                answer = await self.send(method, path, headers=headers, params=params, content=content, seconds=seconds)
            except UpstreamUnreachable as exc:
                self.breaker.failed()
                log.warning("%s unavailable (attempt %d): %s", self.name, attempt + 1, exc)
                if attempt + 1 < attempts:
                    await asyncio.sleep(RETRY_BACKOFF_SECONDS[attempt])
                    continue
                raise self.unavailable() from exc
            except UpstreamTimeout as exc:
                # Not retried: the service is slow, asking again only adds to its load.
                self.breaker.failed()
                detail = f"The {self.name} service did not answer within {seconds:g} s."
                raise Problem(504, "upstream-timeout", detail, headers={"Retry-After": "5"}, service=self.name) from exc
            if answer.status_code in RETRYABLE_STATUS:
                self.breaker.failed()
                if attempt + 1 < attempts:
                    await asyncio.sleep(RETRY_BACKOFF_SECONDS[attempt])
                    continue
            else:
                self.breaker.succeeded()
            return answer
        raise AssertionError("unreachable")

    async def send(self, method: str, path: str, *, headers: Mapping[str, str], params: Query = None, content: bytes = b"", seconds: float) -> UpstreamAnswer:
        """One HTTP exchange, no breaker and no retry; `path` already percent-encoded.

        Raises UpstreamUnreachable (no connection, or it broke) or UpstreamTimeout.
        """
        url = URL(self.base_url + path, encoded=True)
        span = self.tracer.start_span(
            f"{method} {self.name}",
            kind=SpanKind.CLIENT,
            attributes={"http.request.method": method, "url.full": str(url), **self._server_attributes},
        )
        began = time.perf_counter()
        status: int | None = None
        try:
            outgoing = dict(headers)
            propagate.inject(outgoing, context=trace.set_span_in_context(span))
            timeout = self._timeouts.get(seconds) or self._timeouts.setdefault(seconds, self._timeout(seconds))
            try:
                # A redirect goes back to the caller, as the service gave it.
                request = self.session.request(method, url, params=params, data=content or None, headers=outgoing, timeout=timeout, allow_redirects=False)
                async with request as response:
                    answer = UpstreamAnswer(response.status, response.headers, await response.read())
            # A connect timeout means no connection: unavailable, like a refused one.
            except aiohttp.ConnectionTimeoutError as exc:
                raise UpstreamUnreachable(f"no connection within {self.connect_timeout_seconds:g} s") from exc
            except TimeoutError as exc:  # the whole call's time, or a read (aiohttp's are TimeoutErrors)
                raise UpstreamTimeout(f"no answer within {seconds:g} s") from exc
            except aiohttp.ClientError as exc:
                raise UpstreamUnreachable(str(exc) or type(exc).__name__) from exc
            status = answer.status_code
            span.set_attribute("http.response.status_code", status)
            if status >= 500:
                span.set_attribute("error.type", str(status))
                span.set_status(Status(StatusCode.ERROR))
            return answer
        except BaseException as exc:  # cancelled too (a composed view's deadline): the span still ends
            span.set_attribute("error.type", type(exc).__name__)
            span.set_status(Status(StatusCode.ERROR, str(exc)))
            raise
        finally:
            span.end()
            metric = {"http.method": method, "http.scheme": "http", "net.peer.name": self._server_attributes["server.address"]}
            if status is not None:
                metric["http.status_code"] = status
            _client_duration().record((time.perf_counter() - began) * 1000, metric)

    def forward_headers(self, request: Request) -> dict[str, str]:
        principal: Principal = request.state.principal  # set by auth.authorize on every routed request
        headers = {k: v for k, v in request.headers.items() if k.lower() in FORWARDED_REQUEST_HEADERS}
        headers.update(self.identity_headers(principal))
        reason: str | None = getattr(request.state, "access_reason", None)
        if reason is not None:
            headers[REASON_HEADER] = quote(reason, safe=" ")
        return headers

    def forward_params(self, request: Request) -> list[tuple[str, str]]:
        """The query (every value of a repeated name), plus the access reason as `reason` where
        the service records it (S2 reads)."""
        params = request.query_params.multi_items()
        reason: str | None = getattr(request.state, "access_reason", None)
        if reason is None or not getattr(request.state, "reason_in_query", False) or "reason" in request.query_params:
            return params
        return [*params, ("reason", reason)]

    async def forward(self, request: Request, path: str) -> Response:
        body = await request.body()
        headers = self.forward_headers(request)

        async def send(scoped_idempotency_key: str | None = None) -> Response:
            if scoped_idempotency_key is not None:
                headers["idempotency-key"] = scoped_idempotency_key
            upstream = await self.call(request.method, path, params=self.forward_params(request), content=body, headers=headers)
            response_headers = {name: upstream.headers[name] for name in FORWARDED_RESPONSE_HEADERS if name in upstream.headers}
            return Response(content=upstream.content, status_code=upstream.status_code, headers=response_headers)

        store: IdempotencyStore | None = getattr(request.app.state, "idempotency", None)
        if request.method == "POST" and store is not None and IDEMPOTENCY_HEADER in request.headers:
            principal: Principal = request.state.principal
            return await store.run(request, principal.subject, body, send)
        return await send()

    async def fetch(self, path: str, *, timeout: float) -> UpstreamAnswer:
        """A GET outside the breaker (probes, the service's OpenAPI document)."""
        return await self.send("GET", path, headers={}, seconds=timeout)

    async def ready(self) -> bool:
        return (await self.fetch("/readyz", timeout=2.0)).status_code == 200

    def _follow_readiness(self) -> None:
        """The circuit just opened: ask the service's readiness until it says yes (one task)."""
        if self._readiness is None or self._readiness.done():
            self._readiness = asyncio.get_running_loop().create_task(self._await_ready(), name=f"{self.name}-readiness")

    async def _await_ready(self) -> None:
        while self.breaker.opened_at is not None:
            try:
                if await self.ready():
                    log.info("%s is ready again; its circuit closes", self.name)
                    self.breaker.ready_again()
                    return
            except (UpstreamUnreachable, UpstreamTimeout):
                pass
            await asyncio.sleep(READINESS_PROBE_SECONDS)

    async def close(self) -> None:
        if self._readiness is not None:
            self._readiness.cancel()
        await self.session.close()
