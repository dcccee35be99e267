"""Rebuild rate of the profiles processor: mixed person events replayed into an empty store.

Generates `--events` mixed person events (registrations, consents, hub visits and attendance,
volunteering, seminars, trial stays, moves, 関係人口; komagane_profiles.synthetic), then measures

1. the pure fold path (komagane_profiles.pipeline.Replay: parse, fold, profile, hub mix and KPI
   steps, no I/O) in events per second, and
2. the faust workers, one and then two processes: each time a fresh Kafka and Redis, the events
   produced into the pillar topics first (PROFILES_PARTITIONS partitions each), then the
   workers started on empty data directories; the rate is the events over the time from their
   start until they have committed every input and internal topic (and again from their first
   commit, without the start-up), with the peak resident memory of all workers.
3. with py-spy installed (requirements-dev.txt), a py-spy sample of the single worker while it
   replays: where its time goes (own time per function, and this project's functions inclusive).

Prints figures only; it never passes or fails on timing.

    python -m bench.profiles_replay [--events 200000] [--pure-only] [--workers 1,2] [--py-spy 30]
    python -m bench.profiles_replay --events 1000000
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import date
from pathlib import Path

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import GroupCoordinatorNotAvailableError

from komagane_contracts.topics import (
    HUB_ATTENDANCE,
    KPI_CONTRIBUTIONS,
    PEOPLE,
    PROFILES_INPUTS,
    PROFILES_PARTITIONS,
)
from komagane_devstack.infra import RedisServer
from komagane_devstack.kafka_cluster import KafkaCluster
from komagane_devstack.services import ServiceProcess
from komagane_kit.kafka import client_options
from komagane_profiles.pipeline import Replay
from komagane_profiles.synthetic import people_events

EVENTS_PER_PERSON = 50
INPUT_TOPICS = tuple(t.name for t in PROFILES_INPUTS)


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


def faust_workers(
    messages: list[tuple[str, bytes, bytes, list[tuple[str, bytes]]]], workers: int, py_spy_seconds: float = 0.0, py_spy_out: Path | None = None
) -> None:
    """`workers` profiles processes (one consumer group) over the messages, on a fresh Kafka,
    Redis and empty data directories; the input topics have PROFILES_PARTITIONS partitions."""
    with tempfile.TemporaryDirectory(prefix="komagane-bench-profiles-") as tmp:
        root = Path(tmp)
        kafka = KafkaCluster(root / "kafka", root / "logs")
        redis = RedisServer(root / "logs")
        processes: list[ServiceProcess] = []
        spy: subprocess.Popen[bytes] | None = None
        try:
            kafka.start()
            redis.start()
            kafka.create_topics()
            os.environ.update(kafka.admin.env())  # this process produces and watches lag as the operator
            took = asyncio.run(produce(kafka.bootstrap, messages))
            print(f"produced into the pillar topics  {len(messages):9d} events in {took:7.1f} s ({PROFILES_PARTITIONS} partitions each)")
            for n in range(workers):
                env = {
                    "KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap,
                    **kafka.auth("profiles").env(),
                    "REDIS_URL": redis.url,
                    "PROFILES_DATA_DIR": str(root / f"profiles-{n}"),
                    "LOG_LEVEL": "WARNING",
                }
                processes.append(ServiceProcess(f"profiles-{n}", "komagane_profiles", root / "logs", port_env="PROFILES_WEB_PORT", env=env))
            began = time.perf_counter()
            for worker in processes:
                worker.process.start()  # not waiting for readiness: the clock runs from here
            peak = 0
            first_progress: float | None = None
            total: int | None = None
            topics = (*INPUT_TOPICS, HUB_ATTENDANCE.name, KPI_CONTRIBUTIONS.name)
            while (remaining := asyncio.run(lag(kafka.bootstrap, "komagane-profiles", topics))) != 0:
                for worker in processes:
                    worker.process.check_alive()
                peak = max(peak, sum(worker.process.rss_kib() for worker in processes))
                if total is None and remaining > 0:
                    total = remaining
                if first_progress is None and total is not None and 0 <= remaining < total:
                    first_progress = time.perf_counter()
                    if py_spy_seconds > 0:
                        spy = start_py_spy(processes[0], py_spy_out or root / "py-spy.txt", py_spy_seconds)
                time.sleep(1.0)
                if time.perf_counter() - began > 3600:
                    raise TimeoutError(f"{remaining} messages still to go after an hour")
            elapsed = time.perf_counter() - began
            cpu = sum(cpu_seconds(worker) for worker in processes)
            label = f"faust workers ({workers} process{'es' if workers > 1 else ''})"
            print(f"{label:32s} {len(messages):9d} events in {elapsed:7.1f} s   {len(messages) / elapsed:9.0f} events/s (start-up included)")
            if first_progress is not None:
                steady = time.perf_counter() - first_progress
                print(f"  from the first commit on        {steady:16.1f} s   {len(messages) / steady:9.0f} events/s")
            print(f"  CPU time of the workers        {cpu:9.1f} s   {len(messages) / cpu:9.0f} events per CPU-second (start-up included)")
            print(f"  peak resident memory (all)     {peak / 1024:9.0f} MiB")
            if spy is not None:
                spy.wait(timeout=py_spy_seconds + 60)
                print_py_spy(py_spy_out or root / "py-spy.txt")
        finally:
            if spy is not None and spy.poll() is None:
                spy.kill()
            for worker in processes:
                worker.stop()
            redis.stop()
            kafka.stop()


def cpu_seconds(worker: ServiceProcess) -> float:
    """User + system CPU time of a worker so far: its rate per CPU-second does not depend on how
    busy the rest of the machine is (the wall-clock rate does)."""
    pid = worker.process.pid
    if pid is None:
        return 0.0
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start_py_spy(worker: ServiceProcess, out: Path, seconds: float) -> subprocess.Popen[bytes] | None:
    """Sample the worker with py-spy (pinned in requirements-dev.txt) while it replays: only the
    thread holding the GIL, so waiting threads (the consumer thread's loop, the pool) do not count."""
    binary = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(binary).exists() or worker.process.pid is None:
        print("  (py-spy not installed: no profile)")
        return None
    command = [binary, "record", "--format", "raw", "--duration", str(int(seconds)), "--rate", "50", "--gil"]
    command += ["--output", str(out), "--pid", str(worker.process.pid)]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def print_py_spy(path: Path, top: int = 12) -> None:
    """The functions the worker spent its samples in: own time (leaf frames) and inclusive."""
    if not path.exists():
        print("  (py-spy wrote no profile)")
        return
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    samples = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        samples += n
        frames = [_frame(f) for f in stack.split(";")]
        own[frames[-1]] += n
        for frame in set(frames):
            inclusive[frame] += n
    print(f"  py-spy: {samples} samples of worker 0; own time (leaf frames):")
    for frame, n in own.most_common(top):
        print(f"    {100 * n / samples:5.1f} %  {frame}")
    print("  inclusive, this project's functions:")
    ours = [(f, n) for f, n in inclusive.most_common() if "komagane_" in f]
    for frame, n in ours[:top]:
        print(f"    {100 * n / samples:5.1f} %  {frame}")


def _frame(raw: str) -> str:
    """ "function (path/to/module.py:line)" → "function (module.py)" for grouping."""
    name, _, where = raw.partition(" (")
    module = where.rstrip(")").rsplit(":", 1)[0]
    parts = Path(module).parts
    short = "/".join(parts[-2:]) if parts else module
    return f"{name} ({short})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=200_000, help="mixed person events to replay (the issue's bar: 1000000)")
    parser.add_argument("--pure-only", action="store_true", help="skip the faust workers (no Kafka needed)")
    parser.add_argument("--workers", default="1,2", help="worker counts to measure, comma-separated (default: 1,2)")
    parser.add_argument("--py-spy", type=float, default=30.0, metavar="SECONDS", help="sample the single worker with py-spy this long (0: off)")
    parser.add_argument("--py-spy-out", type=Path, default=None, metavar="FILE", help="keep py-spy's raw (collapsed) stacks here")
    parser.add_argument("--skip-pure", action="store_true", help="skip the pure fold path")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stop the broker and workers on the way out
    began = time.perf_counter()
    messages = generate(args.events)
    print(f"generated                        {len(messages):9d} events in {time.perf_counter() - began:7.1f} s")
    gc.freeze()  # the generated messages live to the end: keep the collector from walking them again and again
    if not args.skip_pure:
        pure_fold(messages)
    if not args.pure_only:
        for workers in (int(n) for n in args.workers.split(",")):
            faust_workers(messages, workers, py_spy_seconds=args.py_spy if workers == 1 else 0.0, py_spy_out=args.py_spy_out)


if __name__ == "__main__":
    main()
