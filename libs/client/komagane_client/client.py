"""The gateway as the platform's own tools call it: a write is retried until answered, never lost.

`PlatformClient.request` sends one request and retries it (retry.py) on a connection error or
a 429/502/503/504, with the same `Idempotency-Key` on every attempt of a POST (one is made up
when the caller gives none): the gateway and the service apply it once, however often it came.
What is still unanswered when the policy's deadline passes raises `Pending`, with the key, so
the caller can report it as pending (not lost) and repeat it later under that key.

Two transports: httpx (the default: any answer, query parameters) and, with `lean=True`, the
benchmarks' lean keep-alive transport (lean.py), whose cost per request is a fraction of
httpx's. The retry loop adds one status check per request to either.
"""

from __future__ import annotations

import asyncio
import json as jsonlib
import random
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx

from komagane_client.lean import LeanTransport
from komagane_client.replies import ConnectFailed, ExchangeFailed, ProtocolError, Reply
from komagane_client.retry import RETRY_STATUSES, RetryPolicy, still_in_progress

IDEMPOTENCY_HEADER = "Idempotency-Key"
# Methods whose repetition changes nothing more than the first did (RFC 9110): retried after a
# broken connection. A POST is too, since it always carries its Idempotency-Key; PATCH is not.
_REPEATABLE = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS", "POST"})
TOKEN_REFRESH_SECONDS = 1800.0


class Pending(Exception):
    """Not answered within the deadline: it may have been applied or not. Sending it again with
    `key` (its Idempotency-Key) settles which, without applying it twice."""

    def __init__(self, method: str, path: str, key: str | None, attempts: int, last: str) -> None:
        super().__init__(f"{method} {path} still pending after {attempts} attempt(s) (key {key}): {last}")
        self.method, self.path, self.key, self.attempts, self.last = method, path, key, attempts, last


@dataclass
class ClientStats:
    sent: int = 0  # attempts, retries included
    retried: int = 0
    pending: int = 0


class PlatformClient:
    def __init__(
        self,
        base_url: str,
        *,
        token: str | Callable[[], str] | None = None,
        headers: Mapping[str, str] | None = None,
        policy: RetryPolicy | None = None,
        concurrency: int = 16,
        timeout: float = 30.0,
        lean: bool = False,
        transport: httpx.AsyncBaseTransport | None = None,
        rng: random.Random | None = None,
    ) -> None:
        """`token`: a bearer token, or a function minting one (called again every half hour).
        `concurrency`: requests in flight at most (waits between attempts do not hold a place).
        `lean`: the lean transport (fixed headers, no query parameters). `transport`: an httpx
        transport for tests."""
        self.policy = policy or RetryPolicy()
        self.stats = ClientStats()
        self._rng = rng or random.Random()
        self._token_factory = token if callable(token) else None
        self._token = token() if callable(token) else token
        self._token_at = time.monotonic()
        self._headers = dict(headers or {})
        self._lean: LeanTransport | None = None
        self._httpx: httpx.AsyncClient | None = None
        if lean:
            url = urlsplit(base_url)
            fixed = {**self._headers, **({"Authorization": f"Bearer {self._token}"} if self._token else {})}
            self._lean = LeanTransport(url.hostname or "127.0.0.1", url.port or 80, fixed, connections=concurrency, timeout=timeout)
        else:
            self._gate = asyncio.Semaphore(concurrency)
            limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency, keepalive_expiry=3.0)
            self._httpx = httpx.AsyncClient(base_url=base_url, timeout=timeout, limits=limits, transport=transport)

    async def aclose(self) -> None:
        if self._lean is not None:
            await self._lean.close()
        if self._httpx is not None:
            await self._httpx.aclose()

    async def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        body: bytes | None = None,
        key: str | None = None,
        params: Mapping[str, str] | None = None,
    ) -> Reply:
        """The answer (any status but the retried ones), or `Pending` past the deadline; a
        ProtocolError (an unreadable answer) is raised as is."""
        if json is not None:
            body = jsonlib.dumps(json, ensure_ascii=False).encode()
        headers = {IDEMPOTENCY_HEADER: key or uuid.uuid4().hex} if method == "POST" else {}
        deadline = time.monotonic() + self.policy.deadline
        attempt = 0
        while True:
            attempt += 1
            self.stats.sent += 1
            retry_after: str | None = None
            try:
                reply = await self._send(method, path, body, headers, params)
                if reply.status not in RETRY_STATUSES and not still_in_progress(reply.status, reply.body):
                    return reply
                last, retry_after = f"{reply.status}", reply.retry_after
            except ConnectFailed as exc:
                last = f"no connection: {exc}"
            except (ExchangeFailed, TimeoutError) as exc:
                if method not in _REPEATABLE:
                    raise
                last = f"{type(exc).__name__}: {exc}"
            wait = self.policy.wait(attempt, retry_after, self._rng)
            if time.monotonic() + wait > deadline:
                self.stats.pending += 1
                raise Pending(method, path, headers.get(IDEMPOTENCY_HEADER), attempt, last)
            self.stats.retried += 1
            await asyncio.sleep(wait)

    async def post(self, path: str, json: Any = None, *, body: bytes | None = None, key: str | None = None) -> Reply:
        return await self.request("POST", path, json=json, body=body, key=key)

    async def put(self, path: str, json: Any = None) -> Reply:
        return await self.request("PUT", path, json=json)

    async def get(self, path: str, params: Mapping[str, str] | None = None) -> Reply:
        return await self.request("GET", path, params=params)

    async def _send(self, method: str, path: str, body: bytes | None, headers: dict[str, str], params: Mapping[str, str] | None) -> Reply:
        if self._lean is not None:
            if params:
                raise ValueError("the lean transport sends no query parameters: put them in the path")
            return await self._lean.send(method, path, body, headers)
        assert self._httpx is not None
        sent = {**self._headers, **self._auth(), **headers}
        if body is not None:
            sent.setdefault("Content-Type", "application/json")
        async with self._gate:
            try:
                response = await self._httpx.request(method, path, content=body, params=params, headers=sent)
            except httpx.ConnectError as exc:
                raise ConnectFailed(str(exc) or type(exc).__name__) from exc
            except httpx.TransportError as exc:  # timeouts, a broken connection, a protocol error
                raise ExchangeFailed(str(exc) or type(exc).__name__) from exc
        return Reply(response.status_code, response.content, response.headers.get("retry-after"), response.headers.get("content-type"))

    def _auth(self) -> dict[str, str]:
        if self._token_factory is not None and time.monotonic() - self._token_at > TOKEN_REFRESH_SECONDS:
            self._token, self._token_at = self._token_factory(), time.monotonic()
        return {"Authorization": f"Bearer {self._token}"} if self._token else {}


__all__ = ["ClientStats", "Pending", "PlatformClient", "ProtocolError"]
