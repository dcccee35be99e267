"""The gateway as a frontend or staff app sees it: HTTP with a bearer token, nothing else.

The careful retrying is the platform's shared client's (komagane_client): bounded concurrency,
the same `Idempotency-Key` on every attempt of a POST (derived from the plan, so a retried or
repeated load replays instead of duplicating), backoff with jitter, `Retry-After` honoured on
429 and 502/503/504, and a write unanswered at the deadline counted as pending. What is the
simulator's own: a short wait when a pillar's people replica has not yet seen a fresh
registration.
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

from komagane_client import Pending, PlatformClient, ProtocolError, Reply, RetryPolicy

log = logging.getLogger("komagane_simulator")
REPLICA_WAIT = 60.0  # a fresh person reaches every pillar's replica within this (normally ms)
# How long one request may go unanswered (a service restarting, the broker away) before it is
# counted as pending: longer than the platform's recovery from any single crash.
PENDING_AFTER_SECONDS = 120.0
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
    def __init__(
        self, base_url: str, token: Callable[[], str], *, concurrency: int = 16, timeout: float = 60.0, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        """`transport`: an httpx transport in place of the network (tests)."""
        # Staff acting for people say why (the gateway asks for a reason on proxy writes).
        self.client = PlatformClient(
            base_url,
            token=token,
            headers={"X-Access-Reason": ACCESS_REASON},
            policy=RetryPolicy(deadline=PENDING_AFTER_SECONDS),
            concurrency=concurrency,
            timeout=timeout,
            transport=transport,
        )
        self.stats = Stats()

    async def aclose(self) -> None:
        await self.client.aclose()

    async def request(self, method: str, path: str, *, json: Any = None, key: str | None = None, params: dict[str, str] | None = None) -> Any:
        """Send (the client retries what is retryable); the JSON answer, or RequestFailed."""
        replica_deadline = time.monotonic() + REPLICA_WAIT
        original_key, replica_retries = key, 0
        while True:
            before = self.client.stats.sent
            try:
                reply = await self.client.request(method, path, json=json, key=key[:200] if key else None, params=params)
            except Pending as exc:
                self._count_attempts(before)
                self.stats.failed["pending"] += 1
                raise RequestFailed(method, path, 0, str(exc)) from exc
            except (ProtocolError, httpx.HTTPError) as exc:
                self._count_attempts(before)
                self.stats.failed["transport"] += 1
                raise RequestFailed(method, path, 0, repr(exc)) from exc
            self._count_attempts(before)
            if reply.status < 400:
                self.stats.ok += 1
                return reply.json()
            if reply.status == 422 and _problem_type(reply).endswith("/unknown-person") and time.monotonic() < replica_deadline:
                self.stats.retried += 1
                # The 422 is stored under its key like any answer, so asking again with that key
                # would only replay it. It changed nothing: the retry is a new request, whose key
                # is still derived from the plan.
                replica_retries += 1
                key = f"{original_key}~replica-{replica_retries}" if original_key else None
                await asyncio.sleep(0.25)
                continue
            self.stats.failed[f"{reply.status} {_problem_type(reply).rsplit('/', 1)[-1]}"] += 1
            raise RequestFailed(method, path, reply.status, reply.body.decode(errors="replace"))

    def _count_attempts(self, before: int) -> None:
        attempts = self.client.stats.sent - before
        self.stats.sent += attempts
        self.stats.retried += attempts - 1

    async def post(self, path: str, body: Any, key: str) -> Any:
        return await self.request("POST", path, json=body, key=key)

    async def put(self, path: str, body: Any = None) -> Any:
        return await self.request("PUT", path, json=body)

    async def get(self, path: str, **params: str) -> Any:
        return await self.request("GET", path, params=params or None)


def _problem_type(reply: Reply) -> str:
    try:
        body = reply.json()
    except ValueError:
        return ""
    return str(body.get("type", "")) if isinstance(body, dict) else ""
