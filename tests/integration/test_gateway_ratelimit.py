"""The gateway's token bucket on a real Redis: burst, refusal, refill, and the prefetched read."""

from __future__ import annotations

import asyncio

import redis.asyncio as aioredis

from komagane_gateway.ratelimit import Decision, Limit, RateLimiter
from tests.support.waiting import eventually


async def test_burst_then_refusal_then_refill(redis_client: aioredis.Redis) -> None:
    # A token a second: the four takes fit in it even on a loaded machine, so none comes back between them.
    limiter = RateLimiter(redis_client, read=Limit(per_second=1, burst=3), write=Limit(per_second=1, burst=1))
    taken = [await limiter.take("sub:a", "profile", write=False) for _ in range(4)]
    assert [d.allowed for d in taken if d] == [True, True, True, False]
    assert [d.remaining for d in taken if d] == [2, 1, 0, 0]
    refused = taken[-1]
    assert refused is not None and refused.retry_after_seconds == 1 and refused.limit == 3
    # Writes and other clients have buckets of their own.
    assert (await limiter.take("sub:a", "profile", write=True)) is not None
    other = await limiter.take("sub:b", "profile", write=False)
    assert other is not None and other.allowed and other.remaining == 2

    async def refilled() -> Decision | None:  # a refused take takes nothing: probing is free
        decision = await limiter.take("sub:a", "profile", write=False)
        return decision if decision is not None and decision.allowed else None

    await eventually(refilled, timeout=10, what="a token back")


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


async def test_requests_arriving_together_share_one_call_and_are_served_in_order(redis_client: aioredis.Redis) -> None:
    await redis_client.set("profile:v1:p-2", b'{"version": 7}')
    limiter = RateLimiter(redis_client, read=Limit(per_second=0.01, burst=5), write=Limit(per_second=1, burst=1))
    decisions = await asyncio.gather(*(limiter.take("sub:e", "profile", write=False, prefetch=("profile:v1:p-2",)) for _ in range(8)))
    assert limiter.calls == 1  # one script call for the eight
    assert [d.allowed for d in decisions if d] == [True] * 5 + [False] * 3
    assert [d.remaining for d in decisions if d] == [4, 3, 2, 1, 0, 0, 0, 0]
    assert [d.prefetched for d in decisions if d] == [{"profile:v1:p-2": b'{"version": 7}'}] * 5 + [{}] * 3


async def test_a_failed_call_fails_every_request_of_its_batch_and_the_next_batch_goes_on(redis_client: aioredis.Redis) -> None:
    limiter = RateLimiter(redis_client, read=Limit(per_second=10, burst=10), write=Limit(per_second=1, burst=1))
    # A bucket key holding a string: Redis refuses HMGET on it, so the whole call fails.
    broken = limiter.take("", "x", write=False)  # bucket key gw:rl::x:r
    await redis_client.set("gw:rl::x:r", b"not a hash")
    results = await asyncio.gather(broken, limiter.take("sub:f", "profile", write=False), return_exceptions=True)
    assert all(isinstance(r, Exception) for r in results)
    after = await limiter.take("sub:f", "profile", write=False)
    assert after is not None and after.allowed
