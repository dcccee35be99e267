"""The profiles worker comes back fast and whole (issue 21).

- Killed with SIGKILL and started again, it gets its partitions back at once (a static member
  of its consumer group), not after its dead predecessor's session expired (55–60 s before).
- Redis restarted empty (it runs without persistence) is filled again by the worker, which
  goes on running while Redis is away.
- Stopped while the broker is away, it ends within seconds instead of waiting for ever.

Each ends with the live outputs equal to a replay of the input topics: nothing was lost or
counted twice. The figures are printed (`pytest tests/e2e/test_profiles_recovery.py -s`).

The module runs its own platform: it kills the broker, Redis and the worker, which the tests on
the session's platform must not see.
"""

from __future__ import annotations

import asyncio
import signal
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis

from komagane_contracts.envelope import CloudEvent
from komagane_contracts.events.people import ConsentGranted, PersonRegistered
from komagane_contracts.readmodels import LAPSE_ALERTS_KEY, PROFILE_KEY_PREFIX, city_kpis_key
from komagane_contracts.topics import HUB_ATTENDANCE, KPI_CONTRIBUTIONS, PEOPLE
from komagane_contracts.vocabulary import AgeBand, ResidencyStatus
from komagane_devstack.stack import Stack
from komagane_profiles.synthetic import Message, people_events
from tests.e2e.test_profiles_correctness import (
    INPUT_TOPICS,
    caught_up,
    outputs_equal_replay,
    produce_events,
    produce_population,
    redis_values,
    wait_caught_up,
)
from tests.e2e.test_profiles_scale_out import people_partitions
from tests.support.platform import own_platform
from tests.support.waiting import eventually

ALL_TOPICS = [*INPUT_TOPICS, HUB_ATTENDANCE.name, KPI_CONTRIBUTIONS.name]
# A restarted worker's new events are in its profiles within this long of the kill: well under
# the 60 s session a dynamic member's partitions waited for.
CAUGHT_UP_WITHIN_SECONDS = 30.0


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """This module's own platform (it overrides the session's `stack` here)."""
    env = {"OUTBOX_POLL_SECONDS": "0.5", "OUTBOX_BACKOFF_MAX_SECONDS": "1", "PROFILES_LAPSE_CHECK_SECONDS": "1"}
    with own_platform(tmp_path_factory.mktemp("recovery-stack"), env) as platform:
        yield platform


def newcomer() -> tuple[str, list[Message]]:
    """A person registered with PROFILE consent now: their profile appears once folded."""
    person_id, now = str(uuid.uuid4()), datetime.now(UTC)
    registered = PersonRegistered(
        person_id=person_id, age_band=AgeBand.ADULT_40_64, residency_status=ResidencyStatus.RESIDENT, preferred_language="ja",
        lives_alone=False, registered_at=now,
    )  # fmt: skip
    consent = ConsentGranted(person_id=person_id, purpose="PROFILE", granted_at=now)
    return person_id, [Message(PEOPLE.name, person_id.encode(), CloudEvent.of(body, time=now)) for body in (registered, consent)]


async def profile(gateway: httpx.AsyncClient, person_id: str) -> dict[str, Any] | None:
    response = await gateway.get(f"/v1/profiles/{person_id}")
    return response.json() if response.status_code == 200 else None


async def load_town(stack: Stack, *, people: int, seed: int) -> None:
    messages = list(people_events(people=people, events_per_person=10, start=date(2015, 3, 2), days=120, seed=seed))
    await produce_events(stack.kafka.bootstrap, await produce_population(stack, messages))
    await wait_caught_up(stack, ALL_TOPICS, timeout=300)


@pytest.mark.timeout(600)
async def test_a_killed_worker_gets_its_partitions_back_at_once(stack: Stack, gateway: httpx.AsyncClient) -> None:
    worker = stack.profiles
    assert worker is not None
    await load_town(stack, people=200, seed=21)
    assert await people_partitions(worker) == set(range(6))

    killed = time.monotonic()
    worker.process.kill()
    person_id, events = newcomer()
    await produce_events(stack.kafka.bootstrap, events)  # while the worker is down
    await asyncio.to_thread(worker.start)
    ready = time.monotonic() - killed

    async def assigned() -> bool:
        try:
            return await people_partitions(worker) == set(range(6))
        except httpx.HTTPError:
            return False

    await eventually(assigned, timeout=CAUGHT_UP_WITHIN_SECONDS, interval=0.1, what="the partitions back")
    reassigned = time.monotonic() - killed
    left = max(0.1, CAUGHT_UP_WITHIN_SECONDS - (time.monotonic() - killed))
    await eventually(lambda: profile(gateway, person_id), timeout=left, interval=0.1, what="the newcomer's profile")
    folded = time.monotonic() - killed
    print(f"\nprofiles worker kill -9: ready {ready:.1f} s, partitions assigned {reassigned:.1f} s, new event in its profile {folded:.1f} s")
    await wait_caught_up(stack, ALL_TOPICS, timeout=120)
    await outputs_equal_replay(stack)  # resumed from its commits and its store: nothing twice


@pytest.mark.timeout(600)
async def test_redis_restarted_empty_is_written_again_by_the_worker(stack: Stack, gateway: httpx.AsyncClient) -> None:
    worker = stack.profiles
    assert worker is not None and worker.process.pid is not None
    await load_town(stack, people=150, seed=22)
    pid = worker.process.pid
    before = await redis_values(stack, PROFILE_KEY_PREFIX)
    sample = sorted(before)[:40]
    reads = {person_id: await profile(gateway, person_id) for person_id in sample}
    assert all(reads.values()), "the sample's profiles are served before Redis goes"
    redis = aioredis.Redis.from_url(stack.redis.url)
    try:
        alerts = set(await redis.hkeys(LAPSE_ALERTS_KEY))
    finally:
        await redis.aclose()

    stack.redis.process.kill(stay_down=True)  # away until this test starts it (not the supervisor)
    person_id, events = newcomer()
    await produce_events(stack.kafka.bootstrap, events)  # folded while Redis is away

    async def redis_missed() -> bool:
        async with httpx.AsyncClient(base_url=worker.url, timeout=5.0) as client:
            return bool((await client.get("/readyz")).json()["checks"]["redis"] == "failing")

    await eventually(redis_missed, timeout=30, what="the worker to see Redis away")
    # The newcomer's KPI contribution is folded (it needs no Redis) and its month is due to be
    # written to Redis: the KPI flush fails meanwhile, and the worker must outlive that.
    await wait_caught_up(stack, [KPI_CONTRIBUTIONS.name], timeout=60)
    await eventually(redis_missed, timeout=30, what="the worker still up with Redis away")
    gone = time.monotonic()
    await asyncio.to_thread(stack.redis.start)  # the same port, empty
    back = time.monotonic()

    async def served_again() -> bool:
        return all([await profile(gateway, p) == read for p, read in reads.items()]) and await profile(gateway, person_id) is not None

    await eventually(served_again, timeout=60, interval=0.2, what="the profiles served again as before")
    refilled = time.monotonic() - back
    redis = aioredis.Redis.from_url(stack.redis.url)
    try:
        assert set(await redis.hkeys(LAPSE_ALERTS_KEY)) >= alerts, "the lapse alerts told are there again"
    finally:
        await redis.aclose()
    assert (await redis_values(stack, PROFILE_KEY_PREFIX)).items() >= before.items()
    assert worker.process.running() and worker.process.pid == pid, "the same worker, never restarted"
    print(f"\nredis kill -9 (away {back - gone:.1f} s): {len(before) + 1} profiles served again {refilled:.1f} s after it was back")
    await outputs_equal_replay(stack)  # the city KPIs and hub mixes too


@pytest.mark.timeout(900)
async def test_a_stop_while_kafka_is_away_ends_within_seconds(stack: Stack) -> None:
    worker = stack.profiles
    assert worker is not None and worker.process.proc is not None
    messages = list(people_events(people=300, events_per_person=20, start=date(2014, 6, 2), days=150, seed=23))
    await produce_events(stack.kafka.bootstrap, await produce_population(stack, messages))
    redis = aioredis.Redis.from_url(stack.redis.url)
    try:  # stopped while it is visibly in the middle of the stream (its KPIs are appearing)
        await eventually(lambda: redis.exists(city_kpis_key("2014-07")), timeout=120, interval=0.05, what="the stream under way")
    finally:
        await redis.aclose()
    assert not await caught_up(stack.kafka.bootstrap, ALL_TOPICS), "batches still to write when the broker goes"
    stack.kafka.process.kill(stay_down=True)  # away until this test starts it (not the supervisor)
    asked = time.monotonic()
    worker.process.signal(signal.SIGTERM, stay_down=True)

    async def ended() -> bool:
        return not worker.process.running()

    await eventually(ended, timeout=15, interval=0.1, what="the worker to end after SIGTERM with Kafka away")
    stopped = time.monotonic() - asked
    print(f"\nprofiles worker SIGTERM with Kafka away: ended in {stopped:.1f} s (exit status {worker.process.proc.returncode})")
    await asyncio.to_thread(stack.kafka.start)
    await asyncio.to_thread(worker.start)
    await wait_caught_up(stack, ALL_TOPICS, timeout=420)
    await outputs_equal_replay(stack, timeout=180)  # what was not committed was read again, once
