"""The profiles worker's read model watch on a real Redis (komagane_profiles.readmodel): a Redis
that lost the worker's writes is written again, exactly as before; one that is away is waited
for without an error; a failing timer is logged once per outage and does not end the worker."""

from __future__ import annotations

import asyncio
import logging
from datetime import date
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from komagane_contracts.readmodels import HUB_MIX_KEY_PREFIX, PROFILE_KEY_PREFIX
from komagane_devstack.infra import RedisServer
from komagane_profiles.pipeline import Replay
from komagane_profiles.readmodel import ReadModelWatch, survives_outages, write_read_model
from komagane_profiles.state import encode_state
from komagane_profiles.synthetic import people_events


def town() -> Replay:
    replay = Replay()
    replay.feed_all((m.event.value(), m.event.headers()) for m in people_events(people=60, events_per_person=8, start=date(2021, 4, 5), days=60, seed=31))
    return replay


async def everything(client: aioredis.Redis) -> dict[bytes, bytes | str | None]:
    keys = [key async for key in client.scan_iter(count=1000) if key.decode().startswith((PROFILE_KEY_PREFIX, HUB_MIX_KEY_PREFIX))]
    return dict(zip(keys, await client.mget(keys), strict=True)) if keys else {}


async def test_a_read_model_lost_by_redis_is_written_again(redis_client: aioredis.Redis) -> None:
    replay = town()
    people = [(person_id, encode_state(state)) for person_id, state in replay.people.items()]
    hubs = list(replay.hubs.items())

    async def rewrite() -> int:
        return await write_read_model(redis_client, people, hubs)

    watch = ReadModelWatch("profiles-test", lambda: redis_client, rewrite, [asyncio.Lock()])
    assert await watch.check() is False, "nothing is checked before the tables are recovered"
    watch.recovered = True
    assert await rewrite() == len(replay.profiles()) > 0
    await watch.mark()
    written = await everything(redis_client)
    assert len(written) == len(replay.profiles()) + len(hubs)
    assert await watch.check() is False, "the marker is there: nothing to do"

    await redis_client.flushall()  # what a restart without persistence leaves
    assert await watch.check() is True
    assert await everything(redis_client) == written
    assert await watch.check() is False and watch.rewrites == 1


async def test_redis_away_is_waited_for(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    server = RedisServer(tmp_path)
    server.start()
    client = aioredis.Redis.from_url(server.url)
    rewrites = 0

    async def rewrite() -> int:
        nonlocal rewrites
        rewrites += 1
        return 0

    watch = ReadModelWatch(None, lambda: client, rewrite, [])
    watch.recovered = True
    failures = 0

    @survives_outages("a timer writing to Redis")
    async def timer() -> None:
        nonlocal failures
        try:
            await client.set("kpis:test", b"1")
        except Exception:
            failures += 1
            raise

    try:
        server.process.kill()
        with caplog.at_level(logging.WARNING, logger="komagane_profiles.readmodel"):
            for _ in range(3):
                assert await watch.check() is False
                await timer()
        assert watch.redis_away and failures == 3
        assert sum("Redis is away" in r.message for r in caplog.records) == 1, "logged once per outage"
        assert sum("a timer writing to Redis failed" in r.message for r in caplog.records) == 1
        server.start()  # the same port, empty
        assert await watch.check() is True and rewrites == 1
        await timer()
        assert not watch.redis_away and await client.get("kpis:test") == b"1"
    finally:
        await client.aclose()
        server.stop()
