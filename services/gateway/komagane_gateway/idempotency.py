"""`Idempotency-Key` on every POST at the gateway, stored in Redis and scoped per caller.

The first request with a key takes a lock (SET NX with a short expiry), goes to the service,
and its answer (anything but a 5xx) is stored for `IDEMPOTENCY_TTL_SECONDS`. A second request
with the same key and the same method, path, query and body:
- while the first is still running, waits for it (up to `IDEMPOTENCY_WAIT_SECONDS`, then 409
  with `Retry-After`) — two concurrent identical requests never both reach the service;
- afterwards, gets the stored answer again, with `Idempotent-Replayed: true`.
The same key with a different request is 422. A 5xx or an unavailable service frees the key,
so the client may retry.

Keys are per caller (the token's subject): two clients choosing the same key do not meet. The
service is sent the scoped key (a hash of subject and key), so its own idempotency store — the
second line, for calls that reach it some other way — keeps callers apart too.

Every write with a key makes two Redis calls (take the key, store the answer); the calls of
concurrent requests go together in one pipeline (komagane_kit.groupcommit), in the order they were made.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
from collections.abc import Awaitable, Callable
from typing import Any

import redis.asyncio as aioredis
from fastapi import Request, Response
from redis.asyncio.client import Pipeline

from komagane_kit.errors import Problem
from komagane_kit.groupcommit import GroupCommit

HEADER = "idempotency-key"
MAX_KEY_LENGTH = 200
KEY_PREFIX = "gw:idem:"
POLL_SECONDS = 0.05


def scoped_key(subject: str, key: str) -> str:
    return hashlib.sha256(f"{subject}\0{key}".encode()).hexdigest()


class IdempotencyStore:
    def __init__(self, redis: aioredis.Redis, *, ttl_seconds: int = 24 * 3600, lock_seconds: int = 60, wait_seconds: float = 10.0) -> None:
        self.redis = redis
        self.ttl_seconds = ttl_seconds
        self.lock_seconds = lock_seconds
        self.wait_seconds = wait_seconds
        # One command each (a call on the pipeline): the commands of concurrent requests go together.
        self._commands: GroupCommit[Callable[[Pipeline], Any], Any] = GroupCommit(self._pipeline)

    async def _pipeline(self, commands: list[Callable[[Pipeline], Any]]) -> list[Any]:
        pipe = self.redis.pipeline(transaction=False)
        for command in commands:
            command(pipe)
        results: list[Any] = await pipe.execute(raise_on_error=False)  # an error fails only its own command
        return results

    async def run(self, request: Request, subject: str, body: bytes, call: Callable[[str], Awaitable[Response]]) -> Response:
        """Answer `request` once per (caller, key): `call(scoped_key)` does the real work."""
        key = request.headers[HEADER].strip()
        if not key or len(key) > MAX_KEY_LENGTH:
            raise Problem(400, "invalid-idempotency-key", f"Idempotency-Key must be 1–{MAX_KEY_LENGTH} characters.")
        scoped = scoped_key(subject, key)
        redis_key = KEY_PREFIX + scoped
        fingerprint = hashlib.sha256(b"\n".join([request.method.encode(), request.url.path.encode(), request.url.query.encode(), body])).hexdigest()
        pending = json.dumps({"fp": fingerprint, "state": "pending"})
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.wait_seconds
        while True:
            if await self._commands.submit(lambda pipe: pipe.set(redis_key, pending, nx=True, ex=self.lock_seconds)):
                return await self._first(redis_key, fingerprint, scoped, call)
            raw = await self._commands.submit(lambda pipe: pipe.get(redis_key))
            if raw is None:
                continue  # freed or expired a moment ago: try to take it
            record: dict[str, Any] = json.loads(raw)
            if record["fp"] != fingerprint:
                raise Problem(
                    422,
                    "idempotency-key-reused",
                    "This Idempotency-Key was used with a different request; use a new key for a new request.",
                    errors=[{"field": "Idempotency-Key", "message": "already used for a different request"}],
                )
            if record["state"] == "done":
                return _replay(record)
            if loop.time() >= deadline:
                raise Problem(409, "idempotency-key-in-progress", "A request with this Idempotency-Key is still being processed.", headers={"Retry-After": "1"})
            await asyncio.sleep(POLL_SECONDS)

    async def _first(self, redis_key: str, fingerprint: str, scoped: str, call: Callable[[str], Awaitable[Response]]) -> Response:
        try:
            response = await call(scoped)
        except BaseException:
            await self._commands.submit(lambda pipe: pipe.delete(redis_key))
            raise
        if response.status_code >= 500:
            await self._commands.submit(lambda pipe: pipe.delete(redis_key))
            return response
        record = {
            "fp": fingerprint,
            "state": "done",
            "status": response.status_code,
            "headers": {k: v for k, v in response.headers.items() if k.lower() not in ("content-length", "idempotent-replayed")},
            "body": base64.b64encode(response.body).decode(),
        }
        stored = json.dumps(record)
        await self._commands.submit(lambda pipe: pipe.set(redis_key, stored, ex=self.ttl_seconds))
        return response


def _replay(record: dict[str, Any]) -> Response:
    headers = {**record["headers"], "Idempotent-Replayed": "true"}
    return Response(content=base64.b64decode(record["body"]), status_code=record["status"], headers=headers)
