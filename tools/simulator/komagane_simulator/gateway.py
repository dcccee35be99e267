"""The gateway as a frontend or staff app sees it: HTTP with a bearer token, nothing else.

Bounded concurrency, an `Idempotency-Key` on every POST (derived from the plan, so a retried or
repeated load replays instead of duplicating), `Retry-After` honoured on 429 and 503, and a
short wait when a pillar's people replica has not yet seen a fresh registration.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import httpx

log = logging.getLogger("komagane_simulator")
RETRY_STATUSES = frozenset({429, 503})
MAX_RETRY_AFTER = 30.0
REPLICA_WAIT = 60.0  # a fresh person reaches every pillar's replica within this (normally ms)
TOKEN_REFRESH_SECONDS = 1800
ACCESS_REASON = quote("town-simulator: 紙の台帳から")  # headers are ASCII: percent-encoded UTF-8 (RFC 8187)


class RequestFailed(Exception):
    def __init__(self, method: str, path: str, status: int, body: str) -> None:
        super().__init__(f"{method} {path} → {status}: {body[:300]}")
        self.status = status


@dataclass
class Stats:
    sent: int = 0
    ok: int = 0
    retried: int = 0
    failed: Counter[str] = field(default_factory=Counter)
    started: float = field(default_factory=time.monotonic)

    def rate(self) -> float:
        return self.ok / max(1e-9, time.monotonic() - self.started)


class Gateway:
    def __init__(self, base_url: str, token: Callable[[], str], *, concurrency: int = 16, timeout: float = 60.0) -> None:
        self._token_factory = token
        self._token = token()
        self._token_at = time.monotonic()
        self._gate = asyncio.Semaphore(concurrency)
        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        self.client = httpx.AsyncClient(base_url=base_url, timeout=timeout, limits=limits)
        self.stats = Stats()

    async def aclose(self) -> None:
        await self.client.aclose()

    def _headers(self, idempotency_key: str | None) -> dict[str, str]:
        if time.monotonic() - self._token_at > TOKEN_REFRESH_SECONDS:
            self._token, self._token_at = self._token_factory(), time.monotonic()
        # Staff acting for people say why (the gateway asks for a reason on proxy writes).
        headers = {"Authorization": f"Bearer {self._token}", "X-Access-Reason": ACCESS_REASON}
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key[:200]
        return headers

    async def request(self, method: str, path: str, *, json: Any = None, key: str | None = None, params: dict[str, str] | None = None) -> Any:
        """Send, retrying what is retryable; the JSON answer, or RequestFailed."""
        replica_deadline = time.monotonic() + REPLICA_WAIT
        original_key, replica_retries = key, 0
        attempt = 0
        while True:
            attempt += 1
            async with self._gate:
                self.stats.sent += 1
                try:
                    response = await self.client.request(method, path, json=json, params=params, headers=self._headers(key if method == "POST" else None))
                except httpx.TransportError as exc:
                    if attempt > 5:
                        self.stats.failed["transport"] += 1
                        raise RequestFailed(method, path, 0, repr(exc)) from exc
                    response = None
            if response is None:
                self.stats.retried += 1
                await asyncio.sleep(min(5.0, 0.2 * 2**attempt))
                continue
            if response.status_code < 400:
                self.stats.ok += 1
                return response.json() if response.content else None
            if response.status_code in RETRY_STATUSES and attempt < 20:
                self.stats.retried += 1
                await asyncio.sleep(_retry_after(response, attempt))
                continue
            if response.status_code == 422 and _problem_type(response).endswith("/unknown-person") and time.monotonic() < replica_deadline:
                self.stats.retried += 1
                # The 422 is stored under its key like any answer, so asking again with that key
                # would only replay it. It changed nothing: the retry is a new request, whose key
                # is still derived from the plan.
                replica_retries += 1
                key = f"{original_key}~replica-{replica_retries}" if original_key else None
                await asyncio.sleep(0.25)
                continue
            self.stats.failed[f"{response.status_code} {_problem_type(response).rsplit('/', 1)[-1]}"] += 1
            raise RequestFailed(method, path, response.status_code, response.text)

    async def post(self, path: str, body: Any, key: str) -> Any:
        return await self.request("POST", path, json=body, key=key)

    async def put(self, path: str, body: Any = None) -> Any:
        return await self.request("PUT", path, json=body)

    async def get(self, path: str, **params: str) -> Any:
        return await self.request("GET", path, params=params or None)


def _retry_after(response: httpx.Response, attempt: int) -> float:
    try:
        wait = float(response.headers.get("Retry-After", ""))
    except ValueError:
        return min(MAX_RETRY_AFTER, 0.1 * 2.0**attempt)
    return min(MAX_RETRY_AFTER, max(0.05, wait))


def _problem_type(response: httpx.Response) -> str:
    try:
        return str(response.json().get("type", ""))
    except ValueError:
        return ""
