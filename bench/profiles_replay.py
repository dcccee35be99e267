"""Rebuild rate of the profiles processor: mixed person events replayed into an empty store.

Generates `--events` mixed person events (registrations, consents, hub visits and attendance,
volunteering, seminars, trial stays, moves, 関係人口; komagane_profiles.synthetic), then measures

1. the pure fold path (komagane_profiles.pipeline.Replay: parse, fold, profile, hub mix and KPI
   steps, no I/O) in events per second, and
2. the faust worker: a fresh Kafka and Redis, the events produced into the pillar topics first,
   then one profiles worker started on an empty data directory; the rate is the events over the
   time from its start until it has committed every input and internal topic.

Prints figures only; it never passes or fails on timing.

    python -m bench.profiles_replay [--events 200000] [--pure-only]
    python -m bench.profiles_replay --events 1000000
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import tempfile
import time
from datetime import date
from pathlib import Path

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import GroupCoordinatorNotAvailableError

from komagane_contracts.topics import EXCHANGE, HOUSING, HUB_ATTENDANCE, JOBS, KPI_CONTRIBUTIONS, PEOPLE
from komagane_devstack.infra import KafkaBroker, RedisServer
from komagane_devstack.services import ServiceProcess
from komagane_kit.kafka import client_options
from komagane_profiles.pipeline import Replay
from komagane_profiles.synthetic import people_events

EVENTS_PER_PERSON = 50
INPUT_TOPICS = (PEOPLE.name, EXCHANGE.name, JOBS.name, HOUSING.name)


def generate(events: int) -> list[tuple[str, bytes, bytes, list[tuple[str, bytes]]]]:
    people = max(1, -(-events // (EVENTS_PER_PERSON - 1)))  # registration + consent + activities ≈ 49.7 each
    out = []
    for m in people_events(people=people, events_per_person=EVENTS_PER_PERSON, start=date(2025, 1, 6), days=365, seed=42, hubs=40):
        out.append((m.topic, m.key, m.event.value(), m.event.headers()))
    out.sort(key=lambda m: m[0] != PEOPLE.name)  # people first, each topic in order (stable sort)
    return out


def pure_fold(messages: list[tuple[str, bytes, bytes, list[tuple[str, bytes]]]]) -> None:
    replay = Replay()
    began = time.perf_counter()
    for _, _, value, headers in messages:
        replay.feed(value, headers)
    elapsed = time.perf_counter() - began
    months = replay.city_kpis()
    print(f"pure fold path                   {len(messages):9d} events in {elapsed:7.1f} s   {len(messages) / elapsed:9.0f} events/s")
    print(f"  people {len(replay.people)}, profiles {len(replay.profiles())}, hubs {len(replay.hubs)}, KPI months {len(months)}")
    print(f"  peak memory of this process    {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:9.0f} MiB")


async def produce(bootstrap: str, messages: list[tuple[str, bytes, bytes, list[tuple[str, bytes]]]]) -> float:
    producer = AIOKafkaProducer(**client_options(bootstrap), acks="all", enable_idempotence=True, linger_ms=20, max_batch_size=512 * 1024)
    await producer.start()
    began = time.perf_counter()
    try:
        for topic, key, value, headers in messages:
            await producer.send(topic, key=key, value=value, headers=headers)
        await producer.flush()
    finally:
        await producer.stop()
    return time.perf_counter() - began


async def end_offsets(bootstrap: str, topic: str) -> dict[int, int]:
    consumer = AIOKafkaConsumer(**client_options(bootstrap), group_id=None)
    await consumer.start()
    try:
        await consumer._client.force_metadata_update()
        tps = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or set())]
        return {tp.partition: offset for tp, offset in (await consumer.end_offsets(tps)).items()}
    finally:
        await consumer.stop()


async def lag(bootstrap: str, group: str, topics: tuple[str, ...]) -> int:
    """Messages on `topics` the group has not committed yet; -1 while the group is not there."""
    admin = AIOKafkaAdminClient(**client_options(bootstrap))
    await admin.start()
    try:
        committed = await admin.list_consumer_group_offsets(group)
    except GroupCoordinatorNotAvailableError:
        return -1  # the group (or its coordinator) is not there yet
    finally:
        await admin.close()
    remaining = 0
    for topic in topics:
        for partition, end in (await end_offsets(bootstrap, topic)).items():
            done = next((meta.offset for tp, meta in committed.items() if tp.topic == topic and tp.partition == partition), 0)
            remaining += max(0, end - max(done, 0))
    return remaining


def faust_worker(messages: list[tuple[str, bytes, bytes, list[tuple[str, bytes]]]]) -> None:
    with tempfile.TemporaryDirectory(prefix="komagane-bench-profiles-") as tmp:
        root = Path(tmp)
        kafka = KafkaBroker(root / "kafka", root / "logs")
        redis = RedisServer(root / "logs")
        worker: ServiceProcess | None = None
        try:
            kafka.start()
            redis.start()
            kafka.create_topics()
            os.environ.update(kafka.admin.env())  # this process produces and watches lag as the operator
            took = asyncio.run(produce(kafka.bootstrap, messages))
            print(f"produced into the pillar topics  {len(messages):9d} events in {took:7.1f} s")
            env = {
                "KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap,
                **kafka.auth("profiles").env(),
                "REDIS_URL": redis.url,
                "PROFILES_DATA_DIR": str(root / "profiles"),
                "LOG_LEVEL": "WARNING",
            }
            worker = ServiceProcess("profiles", "komagane_profiles", root / "logs", port_env="PROFILES_WEB_PORT", env=env)
            began = time.perf_counter()
            worker.start()
            peak = 0
            topics = (*INPUT_TOPICS, HUB_ATTENDANCE.name, KPI_CONTRIBUTIONS.name)
            while (remaining := asyncio.run(lag(kafka.bootstrap, "komagane-profiles", topics))) != 0:
                worker.process.check_alive()
                peak = max(peak, worker.process.rss_kib())
                time.sleep(1.0)
                if time.perf_counter() - began > 3600:
                    raise TimeoutError(f"{remaining} messages still to go after an hour")
            elapsed = time.perf_counter() - began
            print(
                f"faust worker (1 process)         {len(messages):9d} events in {elapsed:7.1f} s   {len(messages) / elapsed:9.0f} events/s (start-up included)"
            )
            print(f"  peak resident memory           {peak / 1024:9.0f} MiB")
        finally:
            if worker is not None:
                worker.stop()
            redis.stop()
            kafka.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=200_000, help="mixed person events to replay (the issue's bar: 1000000)")
    parser.add_argument("--pure-only", action="store_true", help="skip the faust worker (no Kafka needed)")
    args = parser.parse_args()
    began = time.perf_counter()
    messages = generate(args.events)
    print(f"generated                        {len(messages):9d} events in {time.perf_counter() - began:7.1f} s")
    pure_fold(messages)
    if not args.pure_only:
        faust_worker(messages)


if __name__ == "__main__":
    main()
