"""Redis forgets an erased person: every key that names them and every stored answer that
mentions them.

The processor already deletes the person's profile and lapse alert in its flush. Beyond those,
the gateway keeps per-caller keys (rate-limit buckets, and Idempotency-Key answers whose key or
body may hold the person id, e.g. the answer to their registration). Erasures are rare, so a
SCAN over the keyspace is an acceptable price for never having to list every key scheme here.
"""

from __future__ import annotations

from collections.abc import Iterable

import redis.asyncio as aioredis

# Stored answers of the gateway's Idempotency-Key store (komagane_gateway.idempotency).
STORED_ANSWERS = "gw:idem:*"


async def forget_in_redis(redis: aioredis.Redis, person_ids: Iterable[str]) -> int:
    """Delete every key naming one of the people, and every stored answer mentioning one. Returns
    how many keys went."""
    ids = [p.encode() for p in person_ids]
    doomed: set[bytes] = set()
    for person_id in ids:
        async for key in redis.scan_iter(match=b"*" + person_id + b"*", count=1000):
            doomed.add(key)
    async for key in redis.scan_iter(match=STORED_ANSWERS, count=1000):
        value = await redis.get(key)
        if value is not None and any(p in value for p in ids):
            doomed.add(key)
    if doomed:
        await redis.delete(*doomed)
    return len(doomed)
