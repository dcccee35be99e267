"""The Redis read model: written again from the tables whenever Redis may have lost it.

Redis holds only derived data (profiles, hub mixes, city KPIs, lapse alerts), and in the
devstack it runs as a cache, without persistence: killed and started again it is empty, and
nothing would write most of it again (a profile is written when its person changes). So the
worker rewrites what it owns after every recovery of its tables (a start or a rebalance), and
keeps a marker key of its own in Redis: every `profiles_read_model_check_seconds` it refreshes
the marker only if it is still there (SET XX). A missing marker means Redis lost this worker's
writes (restarted empty, flushed, or evicted them), and the worker rewrites everything it owns,
with its batches' flushes held meanwhile so that no older value overwrites a newer one.

While Redis is away the worker goes on: the flushes retry with backoff (batching.py), the
timers log the outage once and try again at their next tick (`survives_outages`), and the
check rewrites the read model when Redis is back.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable, Sequence
from contextlib import AsyncExitStack
from datetime import date
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from komagane_contracts.readmodels import LAPSE_ALERTS_KEY, hub_mix_key, profile_key
from komagane_profiles.fold import profile_of
from komagane_profiles.lapses import lapse_of
from komagane_profiles.pipeline import hub_mix_of, profile_json
from komagane_profiles.state import ERASED_KEY_PREFIX, State, decode_state

log = logging.getLogger(__name__)

MARKER_PREFIX = "profiles:worker:"
# A worker that is gone for good leaves its marker behind for this long.
MARKER_TTL_SECONDS = 24 * 3600
PIPELINE_SIZE = 500


async def write_read_model(
    redis: aioredis.Redis,
    people: Iterable[tuple[str, bytes | None]],
    hubs: Iterable[tuple[str, Any]],
    *,
    note: Callable[[str, State], object] | None = None,
    told: Callable[[str, State], bool] | None = None,
    today: date | None = None,
) -> int:
    """Every profile and hub mix of these tables' entries into Redis; returns the profiles written.

    `note`: called with each person's state (the lapse watch is refilled from the same pass).
    `told`: whether a person's lapse was told already: their alert is written again as of
    `today` (the alert event itself went out when it was told, and is not sent again).
    """
    written = 0
    pipeline = redis.pipeline(transaction=False)
    for person_id, raw in people:
        state = decode_state(raw) if raw else None
        if state is None or person_id.startswith(ERASED_KEY_PREFIX):
            continue
        if note is not None:
            note(person_id, state)
        if told is not None and today is not None and told(person_id, state):
            alert = lapse_of(state, today)
            if alert is not None:
                pipeline.hset(LAPSE_ALERTS_KEY, person_id, alert.model_dump_json())
        profile = profile_of(state)
        if profile is None:
            continue
        pipeline.set(profile_key(person_id), profile_json(profile))
        written += 1
        if written % PIPELINE_SIZE == 0:
            await pipeline.execute()
    for hub_id, state in hubs:
        if state:
            pipeline.set(hub_mix_key(hub_id), hub_mix_of(dict(state)).model_dump_json())
    await pipeline.execute()
    return written


class ReadModelWatch:
    """Notices that Redis lost what this worker wrote, and has it written again."""

    def __init__(
        self,
        worker: str | None,
        redis: Callable[[], aioredis.Redis],
        rewrite: Callable[[], Awaitable[int]],
        locks: Sequence[asyncio.Lock],
    ) -> None:
        # A worker without a stable name gets one per run (its marker expires after it).
        self.key = MARKER_PREFIX + (worker or f"run-{uuid.uuid4().hex[:12]}")
        self.redis = redis
        self.rewrite = rewrite
        self.locks = locks
        self.recovered = False  # checks begin once the tables have been recovered
        self.rewrites = 0
        self.redis_away = False

    async def mark(self) -> None:
        await self.redis().set(self.key, b"1", ex=MARKER_TTL_SECONDS)

    async def check(self) -> bool:
        """Rewrites the read model if Redis lost it; True if it did."""
        if not self.recovered:
            return False
        try:
            present = await self.redis().set(self.key, b"1", ex=MARKER_TTL_SECONDS, xx=True)
            if present:
                self._redis_back()
                return False
            began = time.monotonic()
            async with AsyncExitStack() as held:
                for lock in self.locks:  # no flush writes meanwhile
                    await held.enter_async_context(lock)
                written = await self.rewrite()
                await self.mark()
        except RedisError as exc:
            self._redis_away(exc)
            return False
        self._redis_back()
        self.rewrites += 1
        log.warning(
            "Redis had lost this worker's read model (restarted empty?): rewrote %d profiles from the tables in %.2f s", written, time.monotonic() - began
        )
        return True

    def _redis_away(self, exc: BaseException) -> None:
        if not self.redis_away:
            log.warning("Redis is away (%s): the read model is written again when it is back", exc)
        self.redis_away = True

    def _redis_back(self) -> None:
        if self.redis_away:
            log.info("Redis is back")
        self.redis_away = False


def survives_outages(what: str) -> Callable[[Callable[[], Awaitable[None]]], Callable[[], Awaitable[None]]]:
    """For a timer's function: a failure is logged (once per outage) and the timer goes on.

    faust ends the whole worker when a timer raises: a KPI flush or lapse check failing for
    as long as Redis or Kafka is away took the worker down with it.
    """

    def decorate(fun: Callable[[], Awaitable[None]]) -> Callable[[], Awaitable[None]]:
        failing = False

        @functools.wraps(fun)
        async def guarded() -> None:
            nonlocal failing
            try:
                await fun()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if not failing:
                    log.warning("%s failed (%s: %s); tried again at its next tick", what, type(exc).__name__, exc)
                failing = True
                return
            if failing:
                log.info("%s works again", what)
            failing = False

        return guarded

    return decorate
