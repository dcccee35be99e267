"""Rate limits per client and route class: a token bucket in Redis, refilled continuously.

The client is the token's subject (a person id, a staff or partner client id) or, for calls
without a token, the remote address. The route class is the access class of the request
(access.py: `profile`, `catalogue`, `operations`, …), so a client hammering one kind of call
does not exhaust its allowance for another. Reads and writes have separate settings
(`RATE_LIMIT_READ_PER_SECOND`/`_BURST`, `RATE_LIMIT_WRITE_PER_SECOND`/`_BURST`); the defaults
are generous — they stop a runaway client, not a busy frontend.

One Lua script takes a token atomically (Redis runs it alone, so concurrent gateways share the
bucket exactly), using Redis's own clock. Requests arriving together share one script call: while
a call is out, the next requests queue and go in the next one (komagane_kit.groupcommit), so under load a
read costs a fraction of a Redis round trip instead of one each. Every answer carries the IETF draft headers
`RateLimit-Limit`, `RateLimit-Remaining`, `RateLimit-Reset` (seconds until the bucket is full);
a refusal is 429 problem+json with `Retry-After`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import redis.asyncio as aioredis
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from komagane_kit.groupcommit import GroupCommit

# Takes one token from each of several buckets in one call (the requests of one batch, see
# RateLimiter). ARGV holds, per request, its rate (tokens/s), capacity and how many read-model
# keys follow its bucket in KEYS. Returns per request {allowed, tokens left (floor), ms until one
# token is back (0 when allowed), ms until full}, followed — when allowed — by the values of its
# read-model keys (what the request is about to read: one round trip for both). Requests on the
# same bucket are served in order, exactly as separate calls would be.
TOKEN_BUCKETS = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local replies = {}
local k = 1
for a = 1, #ARGV, 3 do
  local rate = tonumber(ARGV[a])
  local capacity = tonumber(ARGV[a + 1])
  local reads = tonumber(ARGV[a + 2])
  local bucket = KEYS[k]
  local state = redis.call('HMGET', bucket, 'tokens', 'ts')
  local tokens = tonumber(state[1])
  local ts = tonumber(state[2])
  if tokens == nil then
    tokens = capacity
    ts = now
  end
  tokens = math.min(capacity, tokens + (now - ts) * rate / 1000)
  local allowed = 0
  local wait_ms = 0
  if tokens >= 1 then
    tokens = tokens - 1
    allowed = 1
  else
    wait_ms = math.ceil((1 - tokens) * 1000 / rate)
  end
  local full_ms = math.ceil((capacity - tokens) * 1000 / rate)
  redis.call('HSET', bucket, 'tokens', tostring(tokens), 'ts', now)
  redis.call('PEXPIRE', bucket, full_ms + 1000)
  local reply = {allowed, math.floor(tokens), wait_ms, full_ms}
  for i = 1, reads do
    if allowed == 1 then
      reply[#reply + 1] = redis.call('GET', KEYS[k + i])
    end
  end
  replies[#replies + 1] = reply
  k = k + 1 + reads
end
return replies
"""

KEY_PREFIX = "gw:rl:"
STATE_KEY = "ratelimit"


@dataclass(frozen=True)
class Limit:
    per_second: float
    burst: int


@dataclass(frozen=True)
class Decision:
    allowed: bool
    limit: int
    remaining: int
    retry_after_seconds: int
    reset_seconds: int
    # Values of the keys asked for with `prefetch` (None: absent), when allowed.
    prefetched: dict[str, bytes | None] = field(default_factory=dict)

    def headers(self) -> dict[str, str]:
        return {"RateLimit-Limit": str(self.limit), "RateLimit-Remaining": str(self.remaining), "RateLimit-Reset": str(self.reset_seconds)}


@dataclass(frozen=True)
class _Pending:
    bucket: str
    limit: Limit
    prefetch: tuple[str, ...]


class RateLimiter:
    def __init__(self, redis: aioredis.Redis, *, read: Limit, write: Limit, enabled: bool = True) -> None:
        self.redis = redis
        self.read = read
        self.write = write
        self.enabled = enabled
        self._script: Any = redis.register_script(TOKEN_BUCKETS)
        self._batches: GroupCommit[_Pending, list[Any]] = GroupCommit(self._send)  # requests arriving together: one call
        self.calls = 0  # script calls made (a batch is one); for tests and benchmarks

    async def take(self, client: str, route_class: str, *, write: bool, prefetch: tuple[str, ...] = ()) -> Decision | None:
        """Take a token; with `prefetch`, also read those keys in the same round trip (a single
        Redis node: the keys of one script call must live together)."""
        if not self.enabled:
            return None
        limit = self.write if write else self.read
        kind = "w" if write else "r"
        reply = await self._batches.submit(_Pending(f"{KEY_PREFIX}{client}:{route_class}:{kind}", limit, prefetch))
        allowed, remaining, wait_ms, full_ms = reply[:4]
        return Decision(
            prefetched=dict(zip(prefetch, reply[4:], strict=False)) if allowed else {},
            allowed=bool(allowed),
            limit=limit.burst,
            remaining=int(remaining),
            retry_after_seconds=max(1, math.ceil(int(wait_ms) / 1000)),
            reset_seconds=math.ceil(int(full_ms) / 1000),
        )

    async def _send(self, batch: list[_Pending]) -> list[list[Any]]:
        keys: list[str] = []
        args: list[float | int] = []
        for pending in batch:
            keys += [pending.bucket, *pending.prefetch]
            args += [pending.limit.per_second, pending.limit.burst, len(pending.prefetch)]
        self.calls += 1
        replies: list[list[Any]] = await self._script(keys=keys, args=args)
        return replies


class RateLimitHeaders:
    """Adds the `RateLimit-*` headers of the request's decision (request.state.ratelimit) to the
    response, whatever produced it — a route, a forwarded service answer, or an error."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                decision: Decision | None = scope.get("state", {}).get(STATE_KEY)
                if decision is not None:
                    headers = list(message.get("headers", []))
                    present = {name.lower() for name, _ in headers}
                    for name, value in decision.headers().items():
                        if name.lower().encode() not in present:
                            headers.append((name.encode(), value.encode()))
                    message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_headers)
