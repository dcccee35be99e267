"""How fast a profiles worker comes back: after `kill -9`, and after Redis restarted empty.

On a fresh Kafka and Redis, one worker folds a synthetic town (`--people`, ten events each).
Then, `--rounds` times: the worker is killed with SIGKILL, a newcomer's registration is
produced while it is down, and the worker is started again; printed are the seconds from the
kill until it is ready, until it holds all six input partitions again, and until the
newcomer's profile is in Redis. Last, Redis is killed and started empty on the same port, and
printed is how long the worker takes to write every profile and hub mix again, as they were.

`--dynamic` runs the worker as a dynamic group member with faust's 60 s session (how it was
before issue 21) instead of the static member the devstack makes it. Prints figures, never
passes or fails.

    python -m bench.profiles_restart --people 2000 --rounds 2
    python -m bench.profiles_restart --people 2000 --rounds 2 --dynamic
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import date
from pathlib import Path

import httpx
import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError

from komagane_contracts.readmodels import HUB_MIX_KEY_PREFIX, PROFILE_KEY_PREFIX, profile_key
from komagane_contracts.topics import HUB_ATTENDANCE, KPI_CONTRIBUTIONS
from komagane_devstack.infra import RedisServer
from komagane_devstack.kafka_cluster import KafkaCluster
from komagane_devstack.services import ServiceProcess
from komagane_profiles.synthetic import people_events
from tests.e2e.test_profiles_correctness import INPUT_TOPICS, caught_up, produce_events
from tests.e2e.test_profiles_recovery import newcomer


async def until(probe: Callable[[], Awaitable[object]], *, timeout: float = 300.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if await probe():
                return
        except (httpx.HTTPError, OSError, RedisConnectionError):
            pass
        await asyncio.sleep(0.05)
    raise TimeoutError("gave up waiting")


async def read_model(redis: aioredis.Redis) -> dict[bytes, object]:
    keys = [k async for k in redis.scan_iter(count=1000) if k.decode().startswith((PROFILE_KEY_PREFIX, HUB_MIX_KEY_PREFIX))]
    return dict(zip(keys, await redis.mget(keys), strict=True)) if keys else {}


async def run(kafka: KafkaCluster, server: RedisServer, people: int, rounds: int, dynamic: bool, root: Path) -> None:
    env = {"KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap, **kafka.auth("profiles").env(), "REDIS_URL": server.url, "PROFILES_DATA_DIR": str(root / "profiles")}
    env |= {"PROFILES_SESSION_TIMEOUT_SECONDS": "60"} if dynamic else {"PROFILES_INSTANCE_ID": "profiles-1"}
    worker = ServiceProcess("profiles", "komagane_profiles", root / "logs", port_env="PROFILES_WEB_PORT", env=env)
    redis = aioredis.Redis.from_url(server.url)
    try:
        worker.start()
        sent = await produce_events(kafka.bootstrap, people_events(people=people, events_per_person=10, start=date(2020, 1, 6), days=90, seed=5))
        person_id, events = newcomer()
        await produce_events(kafka.bootstrap, events)  # after the town: folded once the town is
        await until(lambda: redis.exists(profile_key(person_id)))
        await until(lambda: caught_up(kafka.bootstrap, [*INPUT_TOPICS, HUB_ATTENDANCE.name, KPI_CONTRIBUTIONS.name]))
        print(f"{'dynamic member, 60 s session' if dynamic else 'static member'}: a town of {people} people ({sent} events) folded")

        async def assigned() -> bool:
            async with httpx.AsyncClient(base_url=worker.url, timeout=2.0) as client:
                active = (await client.get("/assignment")).json()["active"]
            return bool(sum(tp.startswith("people.v1:") for tp in active) == 6)

        for n in range(rounds):
            killed = time.monotonic()
            worker.process.kill()
            person_id, events = newcomer()
            await produce_events(kafka.bootstrap, events)
            worker.process.start()
            await until(lambda: worker_ready(worker))
            ready = time.monotonic() - killed
            await until(assigned)
            back = time.monotonic() - killed
            await until(lambda pid=person_id: redis.exists(profile_key(pid)))  # type: ignore[misc]
            folded = time.monotonic() - killed
            print(f"kill -9 round {n + 1}: ready {ready:5.1f} s, partitions assigned {back:5.1f} s, new event in its profile {folded:5.1f} s")

        await until(lambda: caught_up(kafka.bootstrap, [*INPUT_TOPICS, HUB_ATTENDANCE.name, KPI_CONTRIBUTIONS.name]))
        before = await read_model(redis)
        server.process.kill()
        server.start()
        restarted = time.monotonic()
        await until(lambda: same(redis, before))
        print(f"redis kill -9 and restart empty: {len(before)} profiles and hub mixes written again in {time.monotonic() - restarted:.1f} s")
    finally:
        await redis.aclose()
        worker.stop()


async def worker_ready(worker: ServiceProcess) -> bool:
    async with httpx.AsyncClient(base_url=worker.url, timeout=2.0) as client:
        return (await client.get("/readyz")).status_code == 200


async def same(redis: aioredis.Redis, before: dict[bytes, object]) -> bool:
    return await read_model(redis) == before


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--people", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--dynamic", action="store_true", help="a dynamic member with a 60 s session, as before issue 21")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="komagane-bench-restart-") as tmp:
        root = Path(tmp)
        kafka = KafkaCluster(root / "kafka", root / "logs")
        server = RedisServer(root / "logs")
        try:
            kafka.start()
            server.start()
            kafka.create_topics()
            os.environ.update(kafka.admin.env())  # this process produces as the operator
            asyncio.run(run(kafka, server, args.people, args.rounds, args.dynamic, root))
        finally:
            server.stop()
            kafka.stop()


if __name__ == "__main__":
    main()
