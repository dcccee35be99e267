"""End-to-end benchmark: sustained writes through the gateway to the profile, measured against
the platform's own ceilings in the same run. Prints figures and ratios; never passes or fails.

1. Write steps (default 100, 250, 500, 1,000 events/s for 60 s each): hub visits for people with
   PROFILE consent, sent open-loop through the gateway. Per step: achieved rate, errors, and the
   latency from the accepted write (the 201) to the profile reflecting it, seen on the compacted
   profiles topic (the person's profile version reaching the count of their accepted writes).
2. Loss check: every accepted write is in the exchange database, on the exchange topic exactly
   once, and in the profile exactly once (its version grew by exactly the accepted writes).
3. Ceilings on the same broker: Kafka's ProducerPerformance into a scratch topic shaped like the
   exchange topic, ConsumerPerformance and a bare aiokafka loop reading it back.
4. Reads: cached profiles through the gateway beside a bare FastAPI endpoint serving the same body.
5. Memory of every process at idle and under the step nearest 500 events/s.
6. Rebuild: the run's whole history replayed by a fresh profile processor (empty store,
   offset 0; bench.profiles_replay.faust_workers).

    python -m bench.e2e                          # the full run (several minutes)
    python -m bench.e2e --seconds 15 --steps 100,250,500 --people 300   # a quick look

Results go to bench/results/<date>.json and .md. Kafka connection settings come from
komagane_kit.kafka (client_options / java_client_properties), as for every client.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import pwd
import re
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import orjson
import uvloop
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from komagane_client import ClientError, LeanTransport, Pending, PlatformClient, RetryPolicy
from komagane_contracts.topics import EXCHANGE, HOUSING, JOBS, PEOPLE, PROFILES
from komagane_devstack.paths import repo_root
from komagane_devstack.process import free_port
from komagane_devstack.stack import Stack, StackConfig
from komagane_kit.kafka import client_options, java_client_properties

RESULTS = Path(__file__).parent / "results"
CEILING_TOPIC = "bench.ceiling.v1"
KAFKA_LIBS = repo_root() / "infra" / "kafka" / "libs"


async def partitions_of(consumer: AIOKafkaConsumer, topic: str) -> list[TopicPartition]:
    await consumer._client.force_metadata_update()  # a fresh consumer knows no partitions yet
    return [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or set())]


def pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


@dataclass
class Step:
    target: int
    seconds: float
    sent: int = 0
    accepted: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    elapsed: float = 0.0
    latencies: list[float] = field(default_factory=list)
    accepted_at: list[float] = field(default_factory=list)  # seconds into the step, beside each latency
    # Per reflected write: its id, when the 201 came (wall clock) and the profile record's timestamp.
    reflected: list[tuple[str, float, float]] = field(default_factory=list)
    stages_ms: dict[str, dict[str, float | None]] = field(default_factory=dict)
    unreflected: int = 0
    shed: int = 0
    retried: int = 0  # attempts after a 429/5xx or a broken connection, same Idempotency-Key (komagane_client)
    memory_kib: dict[str, int] = field(default_factory=dict)
    cpu_seconds: dict[str, float] = field(default_factory=dict)  # per process, from the step's start until the profiles caught up

    def figures(self) -> dict[str, Any]:
        per_write = {name: round(seconds * 1000 / self.accepted, 2) for name, seconds in self.cpu_seconds.items()} if self.accepted else {}
        return {
            "cpu_ms_per_write": per_write,
            "target_per_s": self.target,
            "seconds": round(self.elapsed, 1),
            "sent": self.sent,
            "not_sent_behind_schedule": self.shed,
            "accepted": self.accepted,
            "achieved_per_s": round(self.accepted / self.elapsed, 1) if self.elapsed else 0,
            "errors": dict(self.errors),
            "retried": self.retried,
            "write_to_profile_ms": _quantiles_ms(self.latencies),
            "p99_ms_by_window": self.p99_by_window(),
            "stages_ms": self.stages_ms,
            "not_reflected": self.unreflected,
        }

    def p99_by_window(self, window: float = 10.0) -> list[float | None]:
        """p99 write→profile of the writes accepted in each `window` seconds of the step: steady
        figures mean the platform keeps up; rising ones mean a stage falls further behind."""
        windows: dict[int, list[float]] = {}
        for at, latency in zip(self.accepted_at, self.latencies, strict=True):
            windows.setdefault(int(at // window), []).append(latency)
        return [_ms(pct(windows.get(n, []), 0.99)) for n in range(max(windows, default=-1) + 1)]


def _own_cpu_seconds() -> float:
    times = os.times()
    return times.user + times.system


def _quantiles_ms(values: list[float]) -> dict[str, float | None]:
    return {q: _ms(pct(values, v)) for q, v in (("p50", 0.5), ("p95", 0.95), ("p99", 0.99), ("max", 1.0))}


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 1)


class ProfileWatcher:
    """Follows the compacted profiles topic: when each person's profile reached each version."""

    def __init__(self, bootstrap: str) -> None:
        self.consumer = AIOKafkaConsumer(**client_options(bootstrap), group_id=None, enable_auto_commit=False, fetch_max_wait_ms=10)
        self.version: dict[str, int] = {}
        # Per person: (version, when this process read it, the record's timestamp in epoch seconds).
        self.reached: dict[str, list[tuple[int, float, float]]] = {}
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self.consumer.start()
        partitions = await partitions_of(self.consumer, PROFILES.name)
        self.consumer.assign(partitions)
        await self.consumer.seek_to_end(*partitions)
        self._task = asyncio.create_task(self._follow())

    async def _follow(self) -> None:
        while True:
            batches = await self.consumer.getmany(timeout_ms=50, max_records=5000)
            now = time.perf_counter()
            for records in batches.values():
                for record in records:
                    if record.value is None or record.key is None:
                        continue
                    person, version = record.key.decode(), int(orjson.loads(record.value)["version"])
                    if version > self.version.get(person, 0):
                        self.version[person] = version
                        self.reached.setdefault(person, []).append((version, now, record.timestamp / 1000))

    def first_time(self, person: str, version: int) -> tuple[float, float] | None:
        """When the version was first read here (perf_counter) and its record's timestamp."""
        for reached, at, stamped in self.reached.get(person, []):
            if reached >= version:
                return at, stamped
        return None

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        await self.consumer.stop()


class Bench:
    def __init__(self, stack: Stack, people: int, concurrency: int, read_concurrency: int) -> None:
        assert stack.gateway is not None
        self.stack = stack
        self.people_count = people
        self.concurrency = concurrency  # writes in flight at most
        self.read_concurrency = read_concurrency
        token = stack.mint_token("admin", subject="bench-e2e", ttl_seconds=4 * 3600)
        # Idle connections are dropped before the gateway's uvicorn closes them (5 s): reused at
        # the very moment it closes one, a request fails with a read error.
        pool = max(concurrency, read_concurrency)
        limits = httpx.Limits(max_connections=pool, max_keepalive_connections=pool, keepalive_expiry=3.0)
        self.client = httpx.AsyncClient(base_url=stack.gateway.url, headers={"Authorization": f"Bearer {token}"}, timeout=30, limits=limits)
        self.people: list[str] = []
        self.hub = ""
        self.base_version: dict[str, int] = {}
        self.written: Counter[str] = Counter()
        self.visit_ids: list[str] = []

    async def setup(self) -> None:
        hub = await self.client.post("/v1/hubs", json={"name_ja": "GOTCHA!WELLNESS 駒ケ根", "kind": "WELLNESS_HUB", "area": "赤穂"})
        self.hub = hub.raise_for_status().json()["id"]
        gate = asyncio.Semaphore(32)

        async def register(n: int) -> str:
            async with gate:
                body = {"display_name": f"計測 {n}", "birth_year": 1940 + n % 70, "residency_status": "RESIDENT"}
                person = (await self.client.post("/v1/people", json=body)).raise_for_status().json()["id"]
                (await self.client.put(f"/v1/people/{person}/consents/PROFILE")).raise_for_status()
                return str(person)

        self.people = list(await asyncio.gather(*(register(n) for n in range(self.people_count))))
        # Every person's profile exists (the processor has seen the consent) and the exchange
        # service's replica knows them all, so no write is refused as unknown-person.
        deadline = time.monotonic() + 300
        for person in self.people:
            while (await self.client.get(f"/v1/profiles/{person}")).status_code != 200:
                if time.monotonic() > deadline:
                    raise TimeoutError("profiles did not appear")
                await asyncio.sleep(0.2)
        while await asyncio.to_thread(known_to_exchange, self.stack, self.people) < len(self.people):
            if time.monotonic() > deadline:
                raise TimeoutError("the exchange service's people replica did not catch up")
            await asyncio.sleep(0.2)

    async def versions(self) -> dict[str, int]:
        gate = asyncio.Semaphore(32)

        async def read(person: str) -> tuple[str, int]:
            async with gate:
                return person, int((await self.client.get(f"/v1/profiles/{person}")).json()["version"])

        return dict(await asyncio.gather(*(read(p) for p in self.people)))

    async def run_step(self, step: Step, watcher: ProfileWatcher, sample_memory: bool) -> None:
        # Settle first: the baseline is every profile as it stands when the step begins.
        self.base_version = await self.versions()
        accepted: dict[str, list[tuple[float, float, str]]] = {p: [] for p in self.people}
        gate = asyncio.Semaphore(self.concurrency)
        total = int(step.target * step.seconds)
        began = time.perf_counter()

        deadline = began + step.seconds

        async def write(n: int) -> None:
            person = self.people[n % len(self.people)]
            async with gate:
                if time.perf_counter() > deadline:
                    step.shed += 1  # the platform fell behind: what is still queued at the end is not sent
                    return
                step.sent += 1
                try:
                    reply = await writer.post(visits_path, body=json.dumps({"person_id": person}).encode(), key=uuid.uuid4().hex)
                    status = reply.status
                    created = json.loads(reply.body) if status == 201 else None
                except Pending:
                    step.errors["pending"] += 1  # unanswered within the deadline: maybe stored
                    return
                except (ClientError, OSError, TimeoutError) as exc:
                    step.errors[type(exc).__name__] += 1
                    return
            if created is not None:
                accepted[person].append((time.perf_counter(), time.time(), created["id"]))
                self.visit_ids.append(created["id"])
                self.written[person] += 1
                step.accepted += 1
            else:
                step.errors[str(status)] += 1

        # The load comes from the platform's client in its lean mode (komagane_client.lean): the
        # client shares the machine's two cores with everything it measures. It retries as the
        # careful clients do; retries are counted apart from errors.
        visits_path = f"/v1/hubs/{self.hub}/visits"
        writer = self._gateway_writer(self.concurrency)
        cpu_before = {**await asyncio.to_thread(self.stack.cpu_seconds), "bench client": _own_cpu_seconds()}
        tasks = []
        memory_task = asyncio.create_task(self._sample_memory(step, step.seconds / 2)) if sample_memory else None
        for n in range(total):
            due = began + n / step.target
            if time.perf_counter() > deadline:
                step.shed += total - n
                break
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(write(n)))
        await asyncio.gather(*tasks)
        step.elapsed = time.perf_counter() - began
        step.retried = writer.stats.retried
        await writer.aclose()
        if memory_task:
            await memory_task
        # Wait for the profiles to catch up with every accepted write (bounded).
        deadline = time.perf_counter() + 120
        while time.perf_counter() < deadline:
            behind = [p for p in self.people if watcher.version.get(p, 0) < self.base_version[p] + len(accepted[p])]
            if not behind:
                break
            await asyncio.sleep(0.2)
        cpu_after = {**await asyncio.to_thread(self.stack.cpu_seconds), "bench client": _own_cpu_seconds()}
        step.cpu_seconds = {name: cpu_after[name] - cpu_before.get(name, 0.0) for name in cpu_after}
        for person, times in accepted.items():
            for k, (at, wall, visit) in enumerate(sorted(times), start=1):
                seen = watcher.first_time(person, self.base_version[person] + k)
                if seen is None:
                    step.unreflected += 1
                else:
                    step.latencies.append(max(0.0, seen[0] - at))
                    step.accepted_at.append(at - began)
                    step.reflected.append((visit, wall, seen[1]))

    async def _sample_memory(self, step: Step, after: float) -> None:
        await asyncio.sleep(after)
        step.memory_kib = await asyncio.to_thread(self.stack.processes)

    def _gateway_client(self, connections: int) -> LeanTransport:
        """The lean keep-alive transport (komagane_client.lean) to the gateway with the bench's token."""
        assert self.stack.gateway is not None
        gateway = urlsplit(self.stack.gateway.url)
        assert gateway.hostname is not None and gateway.port is not None
        return LeanTransport(gateway.hostname, gateway.port, {"Authorization": self.client.headers["Authorization"]}, connections=connections)

    def _gateway_writer(self, connections: int) -> PlatformClient:
        """The platform's client in its lean mode, with the bench's token; a write still
        unanswered after 30 s (the old request timeout) is counted as pending."""
        assert self.stack.gateway is not None
        token = self.client.headers["Authorization"].removeprefix("Bearer ")
        return PlatformClient(self.stack.gateway.url, token=token, lean=True, concurrency=connections, policy=RetryPolicy(deadline=30.0))

    async def reads(self, seconds: float) -> dict[str, Any]:
        reader = self._gateway_client(self.read_concurrency)
        try:
            return await read_load(reader, [f"/v1/profiles/{p}" for p in self.people], seconds, self.read_concurrency)
        finally:
            await reader.close()


async def read_load(client: LeanTransport, paths: list[str], seconds: float, concurrency: int) -> dict[str, Any]:
    """Reads from `concurrency` loops for `seconds`. The lean client, as for the writes: with a
    heavier one the client's own CPU, not the server, set both rates of the ratio."""
    latencies: list[float] = []
    errors = 0
    stop_at = time.perf_counter() + seconds

    async def worker(offset: int) -> None:
        nonlocal errors
        n = offset
        while time.perf_counter() < stop_at:
            began = time.perf_counter()
            try:
                status, _ = await client.get(paths[n % len(paths)])
            except (ClientError, OSError, TimeoutError):
                status = 0
            if status == 200:
                latencies.append(time.perf_counter() - began)
            else:
                errors += 1
            n += concurrency

    began = time.perf_counter()
    await asyncio.gather(*(worker(i) for i in range(concurrency)))
    elapsed = time.perf_counter() - began
    return {"reads_per_s": round(len(latencies) / elapsed, 1), "p50_ms": _ms(pct(latencies, 0.5)), "p99_ms": _ms(pct(latencies, 0.99)), "errors": errors}


# -- loss check --------------------------------------------------------------------------------
async def read_all(bootstrap: str, topic: str) -> list[Any]:
    consumer = AIOKafkaConsumer(**client_options(bootstrap), group_id=None, enable_auto_commit=False, auto_offset_reset="earliest")
    await consumer.start()
    try:
        partitions = await partitions_of(consumer, topic)
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        out: list[Any] = []
        while True:
            positions = [await consumer.position(tp) for tp in partitions]
            if all(pos >= ends[tp] for pos, tp in zip(positions, partitions, strict=True)):
                break
            for records in (await consumer.getmany(timeout_ms=500, max_records=10000)).values():
                out.extend(records)
        return out
    finally:
        await consumer.stop()


def _count_in_exchange(stack: Stack, table: str, column: str, ids: list[str]) -> int:
    """How many of `ids` the exchange service's database holds (the benchmark's own check, read-only)."""
    if stack.postgres is not None:
        from psycopg import connect

        with connect(stack.postgres.url("exchange")) as conn:
            row = conn.execute(f"SELECT count(*) FROM {table} WHERE {column} = ANY(%s)", (ids,)).fetchone()
            return int(row[0]) if row else 0
    import sqlite3

    with sqlite3.connect(stack.config.data_dir / "exchange.db") as conn:
        found = 0
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            found += int(conn.execute(f"SELECT count(*) FROM {table} WHERE {column} IN ({','.join('?' * len(chunk))})", chunk).fetchone()[0])
        return found


def stored_visits(stack: Stack, ids: list[str]) -> int:
    return _count_in_exchange(stack, "hub_visit", "id", ids)


def known_to_exchange(stack: Stack, people: list[str]) -> int:
    return _count_in_exchange(stack, "known_person", "person_id", people)


def stages(step: Step, published: dict[str, float]) -> dict[str, dict[str, float | None]]:
    """Where a reflected write's time went, by the records' timestamps (so the bench client's own
    delays in reading the profiles topic are left out): from the 201 to the event on the exchange
    topic (the outbox relay), from there to the profile record (the processor), and the two together."""
    relay, processor, total = [], [], []
    for visit, accepted, profiled in step.reflected:
        on_topic = published.get(visit)
        if on_topic is not None:
            relay.append(max(0.0, on_topic - accepted))
            processor.append(max(0.0, profiled - on_topic))
        total.append(max(0.0, profiled - accepted))
    return {"to_exchange_topic": _quantiles_ms(relay), "topic_to_profile": _quantiles_ms(processor), "to_profile_record": _quantiles_ms(total)}


async def loss_check(bench: Bench, watcher: ProfileWatcher, first_versions: dict[str, int], steps: list[Step]) -> dict[str, Any]:
    ids = list(bench.visit_ids)
    in_service = await asyncio.to_thread(stored_visits, bench.stack, ids)
    records = await read_all(bench.stack.kafka.bootstrap, EXCHANGE.name)
    on_kafka: Counter[str] = Counter()
    published: dict[str, float] = {}  # visit id → its record's timestamp (set by the outbox relay)
    for record in records:
        headers = dict(record.headers or [])
        if headers.get("ce_type", b"").decode().endswith("hub-visited.v1"):
            visit = json.loads(record.value)["visit_id"]
            on_kafka[visit] += 1
            published.setdefault(visit, record.timestamp / 1000)
    for step in steps:
        step.stages_ms = stages(step, published)
    accepted = set(ids)
    final = await bench.versions()
    profile_delta = sum(final[p] - first_versions[p] for p in bench.people)
    return {
        "accepted_writes": len(ids),
        "in_service": in_service,
        "on_kafka_once": sum(1 for i in accepted if on_kafka[i] == 1),
        "on_kafka_duplicated": sum(1 for i in accepted if on_kafka[i] > 1),
        "missing_on_kafka": sum(1 for i in accepted if on_kafka[i] == 0),
        "profile_versions_added": profile_delta,
        "expected_profile_versions": sum(bench.written.values()),
    }


# -- ceilings ----------------------------------------------------------------------------------
def _java(main_class: str, *args: str, timeout: float = 600) -> str:
    argv = ["java", "-Xmx512m", "-cp", f"{KAFKA_LIBS}/*", f"-Dlog4j2.configurationFile={KAFKA_LIBS.parent / 'log4j2.properties'}", main_class, *args]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=True)
    return done.stdout


async def create_ceiling_topic(bootstrap: str) -> None:
    admin = AIOKafkaAdminClient(**client_options(bootstrap))
    await admin.start()
    try:
        if CEILING_TOPIC not in await admin.list_topics():
            await admin.create_topics([NewTopic(CEILING_TOPIC, num_partitions=EXCHANGE.partitions, replication_factor=1)])
    finally:
        await admin.close()


def producer_ceiling(bootstrap: str, records: int, size: int) -> dict[str, Any]:
    props = java_client_properties(bootstrap) | {"acks": "all", "enable.idempotence": "true", "linger.ms": "5"}
    # A properties file, not --producer-props: the SASL JAAS value holds '=' and spaces.
    with tempfile.NamedTemporaryFile("w", suffix=".properties", delete=False) as config:
        config.write("".join(f"{k}={v}\n" for k, v in props.items()))
    try:
        out = _java(
            "org.apache.kafka.tools.ProducerPerformance",
            *("--topic", CEILING_TOPIC, "--num-records", str(records), "--record-size", str(size), "--throughput", "-1"),
            *("--producer.config", config.name),
        )
    finally:
        os.unlink(config.name)
    last = [line for line in out.splitlines() if "records sent" in line][-1]
    rate = float(re.search(r"\(?([\d.]+) records/sec", last).group(1))  # type: ignore[union-attr]
    return {"records": records, "record_bytes": size, "records_per_s": round(rate), "summary": last.strip()}


def consumer_ceiling(bootstrap: str, records: int) -> dict[str, Any]:
    with tempfile.NamedTemporaryFile("w", suffix=".properties", delete=False) as config:
        config.write("".join(f"{k}={v}\n" for k, v in java_client_properties(bootstrap).items()))
    try:
        out = _java(
            "org.apache.kafka.tools.ConsumerPerformance",
            *("--bootstrap-server", bootstrap, "--topic", CEILING_TOPIC, "--messages", str(records)),
            *("--group", f"bench-{uuid.uuid4().hex[:8]}", "--consumer.config", config.name, "--timeout", "60000"),
        )
    finally:
        os.unlink(config.name)
    header, values = [line for line in out.splitlines() if line.strip()][-2:]
    row = dict(zip([h.strip() for h in header.split(",")], [v.strip() for v in values.split(",")], strict=False))
    return {"records_per_s": round(float(row["nMsg.sec"])), "fetch_records_per_s": round(float(row.get("fetch.nMsg.sec", row["nMsg.sec"])))}


async def aiokafka_ceiling(bootstrap: str, records: int) -> dict[str, Any]:
    consumer = AIOKafkaConsumer(
        **client_options(bootstrap), group_id=None, enable_auto_commit=False, auto_offset_reset="earliest", max_partition_fetch_bytes=4 << 20
    )
    await consumer.start()
    try:
        partitions = await partitions_of(consumer, CEILING_TOPIC)
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        seen = 0
        began = time.perf_counter()
        while seen < records:
            for batch in (await consumer.getmany(timeout_ms=500, max_records=10000)).values():
                seen += len(batch)
        elapsed = time.perf_counter() - began
        return {"records": seen, "records_per_s": round(seen / elapsed)}
    finally:
        await consumer.stop()


# -- bare FastAPI endpoint for reads -------------------------------------------------------------
BARE_APP = """
import json, os
from fastapi import FastAPI, Response
app = FastAPI()
BODY = open(os.environ["BENCH_BODY"], "rb").read()
@app.get("/v1/profiles/{person_id}")
async def profile(person_id: str) -> Response:
    return Response(BODY, media_type="application/json")
"""


async def bare_reads(body: bytes, people: list[str], seconds: float, concurrency: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="komagane-bare-") as tmp:
        (Path(tmp) / "bare_app.py").write_text(BARE_APP)
        (Path(tmp) / "body.json").write_bytes(body)
        port = free_port()
        env = {**os.environ, "BENCH_BODY": str(Path(tmp) / "body.json")}
        argv = [sys.executable, "-m", "uvicorn", "bare_app:app", "--port", str(port), "--log-level", "warning", "--no-access-log"]
        server = subprocess.Popen(argv, cwd=tmp, env=env)  # noqa: ASYNC220 (started once, not awaited on)
        try:
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
                for _ in range(100):
                    try:
                        if (await client.get(f"/v1/profiles/{people[0]}")).status_code == 200:
                            break
                    except httpx.HTTPError:
                        await asyncio.sleep(0.1)
            reader = LeanTransport("127.0.0.1", port, {}, connections=concurrency)
            try:
                return await read_load(reader, [f"/v1/profiles/{p}" for p in people], seconds, concurrency)
            finally:
                await reader.close()
        finally:
            server.terminate()
            server.wait(10)


# -- the run -----------------------------------------------------------------------------------
def start_stack(root: Path, database: str, extra_env: dict[str, str] | None = None, profiles_workers: int = 1, kafka_brokers: int = 1) -> Stack:
    if database == "postgresql" and os.geteuid() == 0:
        user = pwd.getpwnam("postgres")
        os.chown(root, user.pw_uid, user.pw_gid)  # PostgreSQL runs as its own user and must enter here
    # Capacity is measured, not the per-client rate limit: the limiter runs, as in production
    # (a token taken per request, reads' profiles fetched in the same Redis call), with limits
    # no bench client reaches (gateway settings).
    unlimited = {f"RATE_LIMIT_{kind}_{what}": "1000000" for kind in ("READ", "WRITE") for what in ("PER_SECOND", "BURST")}
    env = {"LOG_LEVEL": "WARNING", **unlimited, **(extra_env or {})}
    config = StackConfig(root, database=database, postgres_dir=root / "postgres", extra_env=env, profiles_workers=profiles_workers, kafka_brokers=kafka_brokers)
    stack = Stack(config)
    stack.start()
    os.environ.update(stack.kafka.admin.env())  # the benchmark watches topics as the broker's operator
    return stack


async def measure(stack: Stack, args: argparse.Namespace, results: dict[str, Any]) -> None:
    bench = Bench(stack, args.people, args.concurrency, args.read_concurrency)
    print(f"setting up {args.people} people with PROFILE consent …", flush=True)
    await bench.setup()
    results["memory_idle_kib"] = await asyncio.to_thread(stack.processes)
    watcher = ProfileWatcher(stack.kafka.bootstrap)
    await watcher.start()
    first_versions = await bench.versions()
    steps = [Step(int(s), args.seconds) for s in args.steps.split(",")]
    memory_step = min(steps, key=lambda s: abs(s.target - 500))
    try:
        for step in steps:
            names = args.py_spy.split(",") if args.py_spy and step is memory_step else []
            profilers = {name: _start_py_spy(stack, name, step.seconds) for name in names}
            await bench.run_step(step, watcher, sample_memory=step is memory_step)
            figures = step.figures()
            for name, profiler in profilers.items():
                if profiler is not None:
                    results.setdefault("py_spy", {})[name] = {"step_per_s": step.target, "top": _py_spy_top(profiler)}
            print(
                f"step {step.target:5d}/s  achieved {figures['achieved_per_s']:7.1f}/s  errors {sum(step.errors.values()):5d}  "
                f"write→profile p50 {figures['write_to_profile_ms']['p50']} ms  p95 {figures['write_to_profile_ms']['p95']} ms  "
                f"p99 {figures['write_to_profile_ms']['p99']} ms  not reflected {step.unreflected}",
                flush=True,
            )
            results["steps"].append(figures)
        results["memory_under_load_kib"] = {"step_per_s": memory_step.target, **memory_step.memory_kib}
        results["loss"] = await loss_check(bench, watcher, first_versions, steps)
        results["steps"] = [step.figures() for step in steps]
        print(f"loss check: {results['loss']}", flush=True)
        gateway_reads = await bench.reads(args.read_seconds)
        body = (await bench.client.get(f"/v1/profiles/{bench.people[0]}")).content
        bare = await bare_reads(body, bench.people, args.read_seconds, args.read_concurrency)
        results["reads"] = {"gateway": gateway_reads, "bare_fastapi": bare, "ratio": round(gateway_reads["reads_per_s"] / max(1, bare["reads_per_s"]), 2)}
        print(f"reads: gateway {gateway_reads}  bare FastAPI {bare}", flush=True)
    finally:
        await watcher.stop()
        await bench.client.aclose()


def _start_py_spy(stack: Stack, name: str, seconds: float) -> tuple[subprocess.Popen[bytes], Path] | None:
    service = next((s for s in stack.services() if s.name == name), None)
    pid = service.process.pid if service else None
    if pid is None:
        return None
    out = RESULTS / f"py-spy-{name}.txt"
    spy = str(Path(sys.executable).parent / "py-spy")
    argv = [spy, "record", "-p", str(pid), "-d", str(int(seconds)), "-r", "50", "-f", "raw", "-o", str(out), "--nonblocking", "--gil"]
    return subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL), out


def _py_spy_top(profiler: tuple[subprocess.Popen[bytes], Path]) -> list[str]:
    process, out = profiler
    process.wait(120)
    if not out.exists():
        return []
    return py_spy_summary(out)


def py_spy_summary(raw: Path) -> list[str]:
    """Where the samples were: the top frames by own time, then our code by inclusive time."""
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        frames = stack.split(";")
        total += int(count)
        own[frames[-1]] += int(count)
        for frame in dict.fromkeys(frames):
            inclusive[frame] += int(count)
    if not total:
        return []
    top_own = [f"own  {100 * n / total:5.1f}% {frame}" for frame, n in own.most_common(8)]
    ours = [f"incl {100 * n / total:5.1f}% {frame}" for frame, n in inclusive.most_common(60) if "komagane" in frame and "main" not in frame][:10]
    return top_own + ours


async def history_messages(bootstrap: str) -> list[tuple[str, bytes, bytes, list[tuple[str, bytes]]]]:
    """The run's whole history on the pillar topics, as bench.profiles_replay replays it."""
    out = []
    for topic in (PEOPLE.name, EXCHANGE.name, JOBS.name, HOUSING.name):
        for record in await read_all(bootstrap, topic):
            out.append((topic, record.key, record.value, list(record.headers or [])))
    return out


async def ceilings(stack: Stack, args: argparse.Namespace, results: dict[str, Any]) -> None:
    bootstrap = stack.kafka.bootstrap
    await create_ceiling_topic(bootstrap)
    visits = [r for r in await read_all(bootstrap, EXCHANGE.name) if r.value]
    size = int(statistics.mean(len(r.value) + sum(len(k) + len(v) for k, v in r.headers or []) for r in visits[:5000])) if visits else 600
    producer = await asyncio.to_thread(producer_ceiling, bootstrap, args.ceiling_records, size)
    consumer = await asyncio.to_thread(consumer_ceiling, bootstrap, args.ceiling_records)
    bare = await aiokafka_ceiling(bootstrap, args.ceiling_records)
    results["ceilings"] = {"kafka_producer_perf": producer, "kafka_consumer_perf": consumer, "aiokafka_consume_loop": bare}
    print(f"ceilings: producer {producer['records_per_s']}/s, consumer {consumer['records_per_s']}/s, aiokafka loop {bare['records_per_s']}/s", flush=True)


def rebuild(messages: list[tuple[str, bytes, bytes, list[tuple[str, bytes]]]], results: dict[str, Any]) -> None:
    from io import StringIO

    from bench import profiles_replay

    captured = StringIO()
    stdout, sys.stdout = sys.stdout, captured
    try:
        profiles_replay.faust_workers(messages, 1)
    finally:
        sys.stdout = stdout
    text = captured.getvalue()
    print(text, end="")
    match = re.search(r"faust workers? \(1 process\)\s+(\d+) events in\s+([\d.]+) s\s+(\d+) events/s", text)
    steady = re.search(r"from the first commit on\s+([\d.]+) s\s+(\d+) events/s", text)
    results["rebuild"] = {"events": int(match.group(1)), "seconds": float(match.group(2)), "events_per_s": int(match.group(3))} if match else {"output": text}
    if match and steady:
        results["rebuild"] |= {"seconds_from_first_commit": float(steady.group(1)), "events_per_s_from_first_commit": int(steady.group(2))}


def ratios(results: dict[str, Any]) -> dict[str, Any]:
    ceilings = results.get("ceilings", {})
    best = max((s["achieved_per_s"] for s in results["steps"] if not s["errors"]), default=0)
    out: dict[str, Any] = {"best_clean_write_rate_per_s": best}
    if ceilings:
        out["writes_vs_kafka_producer"] = round(best / ceilings["kafka_producer_perf"]["records_per_s"], 4)
        if "rebuild" in results and "events_per_s" in results["rebuild"]:
            out["rebuild_vs_kafka_consumer"] = round(results["rebuild"]["events_per_s"] / ceilings["kafka_consumer_perf"]["records_per_s"], 4)
            out["rebuild_vs_aiokafka_loop"] = round(results["rebuild"]["events_per_s"] / ceilings["aiokafka_consume_loop"]["records_per_s"], 4)
    if "reads" in results:
        out["reads_vs_bare_fastapi"] = results["reads"]["ratio"]
    return out


def markdown(results: dict[str, Any]) -> str:
    lines = [
        f"# End-to-end benchmark, {results['date']}",
        "",
        f"`{results['command']}` on {results['machine']} ({results['database']}, {results['people']} people, "
        f"{results.get('profiles_workers', 1)} profile processor worker(s)).",
        f"Load average (1 min) {results.get('load_average_at_start', '?')} at the start and {results.get('load_average_at_end', '?')} at the end:",
        "other processes share the cores. Figures only; nothing here passes or fails.",
        "",
        "## Writes through the gateway → profile",
        "",
        "| target/s | achieved/s | accepted | errors | p50 ms | p95 ms | p99 ms | max ms | not reflected |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for s in results["steps"]:
        w = s["write_to_profile_ms"]
        errors = sum(s["errors"].values())
        figures = [s["target_per_s"], s["achieved_per_s"], s["accepted"], errors, w["p50"], w["p95"], w["p99"], w["max"], s["not_reflected"]]
        lines.append("| " + " | ".join(str(f) for f in figures) + " |")
    windowed = [s for s in results["steps"] if s.get("p99_ms_by_window")]
    if windowed:
        lines += ["", "p99 ms of the writes accepted in each 10 s of the step (rising: a stage falls further behind):", ""]
        lines += [f"- {s['target_per_s']}/s: " + " → ".join(str(v) for v in s["p99_ms_by_window"]) for s in windowed]
    staged = [s for s in results["steps"] if s.get("stages_ms")]
    if staged:
        lines += [
            "",
            "Where the time went, by the Kafka records' timestamps (leaves out the bench client's own delay in reading the profiles):",
            "",
            "| target/s | 201 → exchange topic p50 / p99 ms | exchange topic → profile p50 / p99 ms | 201 → profile record p50 / p95 / p99 ms |",
            "|---:|---:|---:|---:|",
        ]
        for s in staged:
            relay, processor, total = (s["stages_ms"][k] for k in ("to_exchange_topic", "topic_to_profile", "to_profile_record"))
            cells = [f"{relay['p50']} / {relay['p99']}", f"{processor['p50']} / {processor['p99']}", f"{total['p50']} / {total['p95']} / {total['p99']}"]
            lines.append(f"| {s['target_per_s']} | " + " | ".join(cells) + " |")
    cpu = [s for s in results["steps"] if s.get("cpu_ms_per_write")]
    if cpu:
        names = list(cpu[0]["cpu_ms_per_write"])
        lines += [
            "",
            "## CPU per accepted write (ms), every process, from the step's start until the profiles caught up",
            "",
            "| target/s | " + " | ".join(names) + " | total |",
            "|---:|" + "---:|" * (len(names) + 1),
        ]
        for s in cpu:
            per = s["cpu_ms_per_write"]
            lines.append(f"| {s['target_per_s']} | " + " | ".join(str(per.get(n, "")) for n in names) + f" | {sum(per.values()):.2f} |")
    loss = results.get("loss", {})
    if loss:
        lines += ["", "## Loss check", "", "| check | count |", "|---|---:|"] + [f"| {k.replace('_', ' ')} | {v} |" for k, v in loss.items()]
    c = results.get("ceilings")
    if c:
        lines += [
            "",
            "## Ceilings (same broker, topic shaped like the exchange topic)",
            "",
            "| what | records/s |",
            "|---|---:|",
            f"| Kafka ProducerPerformance ({c['kafka_producer_perf']['record_bytes']} B, acks=all, idempotent) | {c['kafka_producer_perf']['records_per_s']} |",
            f"| Kafka ConsumerPerformance | {c['kafka_consumer_perf']['records_per_s']} |",
            f"| bare aiokafka consume loop | {c['aiokafka_consume_loop']['records_per_s']} |",
        ]
    if "rebuild" in results:
        r = results["rebuild"]
        lines += ["", "## Rebuild", "", "Profile processor, one worker, from offset 0 with an empty store: the run's history plus synthetic person events."]
        if "events_per_s" in r:
            lines += [
                "",
                "| events | seconds | events/s (start-up included) | events/s from the first commit |",
                "|---:|---:|---:|---:|",
                f"| {r['events']} | {r['seconds']} | {r['events_per_s']} | {r.get('events_per_s_from_first_commit', '')} |",
            ]
        else:
            lines += ["", f"```\n{r.get('output', '')}\n```"]
    if "reads" in results:
        r = results["reads"]
        lines += [
            "",
            "## Cached profile reads",
            "",
            "| endpoint | reads/s | p50 ms | p99 ms |",
            "|---|---:|---:|---:|",
            f"| gateway `GET /v1/profiles/{{id}}` | {r['gateway']['reads_per_s']} | {r['gateway']['p50_ms']} | {r['gateway']['p99_ms']} |",
            f"| bare FastAPI, same body | {r['bare_fastapi']['reads_per_s']} | {r['bare_fastapi']['p50_ms']} | {r['bare_fastapi']['p99_ms']} |",
        ]
    lines += ["", "## Ratios", "", "| ratio | value |", "|---|---:|"] + [f"| {k.replace('_', ' ')} | {v} |" for k, v in results.get("ratios", {}).items()]
    idle, loaded = results.get("memory_idle_kib", {}), results.get("memory_under_load_kib", {})
    if idle:
        lines += [
            "",
            f"## Resident memory (MiB), idle and under the {loaded.get('step_per_s')}/s step",
            "",
            "| process | idle | under load |",
            "|---|---:|---:|",
        ]
        lines += [f"| {name} | {idle[name] / 1024:.0f} | {loaded.get(name, 0) / 1024:.0f} |" for name in idle]
    for name, spied in results.get("py_spy", {}).items():
        lines += ["", f"## py-spy: {name} under the {spied['step_per_s']}/s step (share of samples: own time, then inclusive)", "", "```"]
        lines += spied["top"] + ["```"]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", default="100,250,500,1000", help="target write rates, events/s")
    parser.add_argument("--seconds", type=float, default=60, help="length of each step")
    parser.add_argument("--people", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=64, help="writes in flight at most")
    parser.add_argument("--database", choices=["postgresql", "sqlite"], default="postgresql")
    parser.add_argument("--read-seconds", type=float, default=10)
    parser.add_argument("--read-concurrency", type=int, default=64, help="reads in flight at most (gateway and bare endpoint alike)")
    parser.add_argument("--ceiling-records", type=int, default=200_000)
    parser.add_argument("--py-spy", metavar="NAMES", help="profile these processes (gateway,exchange,profiles,…) in the step nearest 500/s")
    parser.add_argument("--profiles-workers", type=int, default=1, help="profile processor workers (one consumer group; the rebuild always uses one)")
    parser.add_argument("--no-rebuild", action="store_true")
    parser.add_argument("--stack-env", action="append", default=[], metavar="NAME=VALUE", help="extra environment for every process of the stack (experiments)")
    parser.add_argument(
        "--rebuild-events",
        type=int,
        default=1_000_000,
        help="synthetic person events added to the run's history for the rebuild (a town's year, as bench.profiles_replay)",
    )
    args = parser.parse_args()
    results: dict[str, Any] = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d"),
        "command": "python -m bench.e2e " + " ".join(sys.argv[1:]),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "load_average_at_start": round(os.getloadavg()[0], 1),
        "database": args.database,
        "people": args.people,
        "profiles_workers": args.profiles_workers,
        "steps": [],
    }
    RESULTS.mkdir(exist_ok=True)
    messages: list[tuple[str, bytes, bytes, list[tuple[str, bytes]]]] = []
    with tempfile.TemporaryDirectory(prefix="komagane-bench-e2e-") as tmp:
        stack = start_stack(Path(tmp), args.database, dict(item.split("=", 1) for item in args.stack_env), args.profiles_workers)
        try:
            # On uvloop: the client shares the two cores with everything it measures (a few
            # per cent less client CPU per write than the standard loop).
            with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
                runner.run(measure(stack, args, results))
                runner.run(ceilings(stack, args, results))
                if not args.no_rebuild:
                    messages = runner.run(history_messages(stack.kafka.bootstrap))
        except BaseException:
            print(stack.log_tails(), file=sys.stderr)
            raise
        finally:
            stack.stop()
    if messages:
        from bench.profiles_replay import generate

        # The run's own history plus synthetic person events, so start-up does not dominate the rate.
        rebuild(messages + generate(args.rebuild_events), results)
    results["ratios"] = ratios(results)
    results["load_average_at_end"] = round(os.getloadavg()[0], 1)
    stem = RESULTS / results["date"]
    stem.with_suffix(".json").write_text(json.dumps(results, ensure_ascii=False, indent=2) + "\n")
    stem.with_suffix(".md").write_text(markdown(results))
    print(markdown(results))
    print(f"written to {stem}.json and {stem}.md")


if __name__ == "__main__":
    main()
