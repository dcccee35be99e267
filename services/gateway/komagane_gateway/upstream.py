"""Forwarding requests to pillar services: timeouts, retries and a circuit breaker (resilience.py)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any
from urllib.parse import quote

import httpx
from fastapi import Request, Response

from komagane_gateway.idempotency import HEADER as IDEMPOTENCY_HEADER
from komagane_gateway.idempotency import IdempotencyStore
from komagane_gateway.resilience import RETRY_BACKOFF_SECONDS, RETRYABLE_STATUS, SAFE_METHODS, CircuitBreaker, CircuitOpen, timeout_for
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
FORWARDED_RESPONSE_HEADERS = ("content-type", "location", "retry-after", "etag", "idempotent-replayed", "content-language")


class Upstream:
    """One pillar service behind the gateway, with its own circuit breaker (resilience.py)."""

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
    ) -> None:
        self.name = name
        self.timeout_seconds = timeout_seconds
        self.read_timeout_seconds = read_timeout_seconds
        self.connect_timeout_seconds = connect_timeout_seconds
        # Pooled connections are dropped before the services' uvicorn closes idle ones (5 s), so a
        # POST (never retried) does not go out on a connection the service is just closing.
        limits = httpx.Limits(max_connections=200, max_keepalive_connections=50, keepalive_expiry=3.0)
        self.client = httpx.AsyncClient(base_url=base_url, timeout=httpx.Timeout(timeout_seconds, connect=connect_timeout_seconds), limits=limits)
        self.internal_secret = internal_secret
        self.internal_ttl_seconds = internal_ttl_seconds
        self.breaker = breaker or CircuitBreaker()

    def identity_headers(self, principal: Principal) -> dict[str, str]:
        identity = Identity(subject=principal.subject, roles=principal.roles, hub_id=principal.hub_id)
        token = mint_internal_token(self.internal_secret, identity, ttl_seconds=self.internal_ttl_seconds)
        return {INTERNAL_TOKEN_HEADER: token, "X-Actor": principal.subject, "X-Actor-Role": principal.role}

    def unavailable(self, retry_after: str = "5") -> Problem:
        detail = f"The {self.name} service is unavailable; try again shortly."
        return Problem(503, "service-unavailable", detail, headers={"Retry-After": retry_after}, service=self.name)

    async def call(
        self, method: str, path: str, *, headers: dict[str, str], params: Any = None, content: bytes = b"", timeout: float | None = None
    ) -> httpx.Response:
        """One request to the service through its circuit breaker; safe methods are retried.

        Raises Problem 503 (unavailable or circuit open, with Retry-After) or 504 (timed out).
        """
        seconds = timeout if timeout is not None else timeout_for(method, path, read=self.read_timeout_seconds, write=self.timeout_seconds)
        # The path arrives decoded; any character (control characters, non-ASCII ids) is sent
        # percent-encoded, as the service will decode it.
        path = quote(path, safe="/:@!$&'()*+,;=")
        request_timeout = httpx.Timeout(seconds, connect=min(self.connect_timeout_seconds, seconds))
        attempts = 1 + (len(RETRY_BACKOFF_SECONDS) if method in SAFE_METHODS else 0)
        for attempt in range(attempts):
            try:
                self.breaker.before_call()
            except CircuitOpen as exc:
                raise self.unavailable(retry_after=exc.retry_after_header) from exc
            try:
                response = await self.client.request(method, path, params=params, content=content, headers=headers, timeout=request_timeout)
            except (httpx.ConnectError, httpx.ConnectTimeout, httpx.RemoteProtocolError, httpx.ReadError) as exc:
                self.breaker.failed()
                log.warning("%s unavailable (attempt %d): %s", self.name, attempt + 1, exc)
                if attempt + 1 < attempts:
                    await asyncio.sleep(RETRY_BACKOFF_SECONDS[attempt])
                    continue
                raise self.unavailable() from exc
            except httpx.TimeoutException as exc:
                # Not retried: the service is slow, asking again only adds to its load.
                self.breaker.failed()
                detail = f"The {self.name} service did not answer within {seconds:g} s."
                raise Problem(504, "upstream-timeout", detail, headers={"Retry-After": "5"}, service=self.name) from exc
            if response.status_code in RETRYABLE_STATUS:
                self.breaker.failed()
                if attempt + 1 < attempts:
                    await asyncio.sleep(RETRY_BACKOFF_SECONDS[attempt])
                    continue
            else:
                self.breaker.succeeded()
            return response
        raise AssertionError("unreachable")

    def forward_headers(self, request: Request) -> dict[str, str]:
        principal: Principal = request.state.principal  # set by auth.authorize on every routed request
        headers = {k: v for k, v in request.headers.items() if k.lower() in FORWARDED_REQUEST_HEADERS}
        headers.update(self.identity_headers(principal))
        reason: str | None = getattr(request.state, "access_reason", None)
        if reason is not None:
            headers[REASON_HEADER] = quote(reason, safe=" ")
        return headers

    def forward_params(self, request: Request) -> Any:
        """The query, plus the access reason as `reason` where the service records it (S2 reads)."""
        reason: str | None = getattr(request.state, "access_reason", None)
        if reason is None or not getattr(request.state, "reason_in_query", False) or "reason" in request.query_params:
            return request.query_params
        return [*request.query_params.multi_items(), ("reason", reason)]

    async def forward(self, request: Request, path: str) -> Response:
        body = await request.body()
        headers = self.forward_headers(request)

        async def send(scoped_idempotency_key: str | None = None) -> Response:
            if scoped_idempotency_key is not None:
                headers["idempotency-key"] = scoped_idempotency_key
            upstream = await self.call(request.method, path, params=self.forward_params(request), content=body, headers=headers)
            response_headers = {k: v for k, v in upstream.headers.items() if k.lower() in FORWARDED_RESPONSE_HEADERS}
            return Response(content=upstream.content, status_code=upstream.status_code, headers=response_headers)

        store: IdempotencyStore | None = getattr(request.app.state, "idempotency", None)
        if request.method == "POST" and store is not None and IDEMPOTENCY_HEADER in request.headers:
            principal: Principal = request.state.principal
            return await store.run(request, principal.subject, body, send)
        return await send()

    async def ready(self) -> bool:
        response = await self.client.get("/readyz", timeout=2.0)
        return response.status_code == 200

    async def close(self) -> None:
        await self.client.aclose()
