"""The gateway's token bucket on a real Redis: burst, refusal, refill, and the prefetched read."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from komagane_devstack.infra import RedisServer
from komagane_gateway.ratelimit import Limit, RateLimiter


@pytest.fixture
async def redis_client(tmp_path: Path) -> AsyncIterator[aioredis.Redis]:
    server = RedisServer(tmp_path)
    server.start()
    client = aioredis.Redis.from_url(server.url)
    yield client
    await client.aclose()
    server.stop()


async def test_burst_then_refusal_then_refill(redis_client: aioredis.Redis) -> None:
    limiter = RateLimiter(redis_client, read=Limit(per_second=10, burst=3), write=Limit(per_second=1, burst=1))
    taken = [await limiter.take("sub:a", "profile", write=False) for _ in range(4)]
    assert [d.allowed for d in taken if d] == [True, True, True, False]
    assert [d.remaining for d in taken if d] == [2, 1, 0, 0]
    refused = taken[-1]
    assert refused is not None and refused.retry_after_seconds == 1 and refused.limit == 3
    # Writes and other clients have buckets of their own.
    assert (await limiter.take("sub:a", "profile", write=True)) is not None
    other = await limiter.take("sub:b", "profile", write=False)
    assert other is not None and other.allowed and other.remaining == 2
    await asyncio.sleep(0.25)  # 10 tokens/s: two are back
    again = await limiter.take("sub:a", "profile", write=False)
    assert again is not None and again.allowed


async def test_prefetch_reads_keys_only_when_allowed(redis_client: aioredis.Redis) -> None:
    await redis_client.set("profile:v1:p-1", b'{"version": 3}')
    limiter = RateLimiter(redis_client, read=Limit(per_second=0.01, burst=1), write=Limit(per_second=1, burst=1))
    first = await limiter.take("sub:c", "profile", write=False, prefetch=("profile:v1:p-1", "profile:v1:absent"))
    assert first is not None and first.prefetched == {"profile:v1:p-1": b'{"version": 3}', "profile:v1:absent": None}
    second = await limiter.take("sub:c", "profile", write=False, prefetch=("profile:v1:p-1",))
    assert second is not None and not second.allowed and second.prefetched == {}


async def test_disabled_limiter_decides_nothing(redis_client: aioredis.Redis) -> None:
    limiter = RateLimiter(redis_client, read=Limit(1, 1), write=Limit(1, 1), enabled=False)
    assert await limiter.take("sub:d", "profile", write=False) is None
