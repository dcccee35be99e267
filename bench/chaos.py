"""Chaos: kill processes of a running platform under steady writes and count what survived.

Careful clients (one Idempotency-Key per write, retried until answered) send hub visits through
the gateway at a steady rate while, one after the other, each fault is injected into the
supervised stack: `kill -9` of the broker, each pillar service, the gateway, each profiles worker,
Redis and PostgreSQL, and a `SIGSTOP` of the broker (a hung, not dead, process). Nobody restarts
anything by hand: the devstack's supervisor does. When the load stops and everything settles,
every accepted write is looked for in the exchange database, on Kafka by event id and in its
person's profile (the profile's version grew by exactly that person's accepted writes).

Per fault it prints how long until the process was ready again, until writes were accepted again
(the longest gap between accepted writes after the fault) and until the profiles caught up (every
write accepted more than a second before is in its profile); the next fault waits for that.

    python -m bench.chaos                     # every fault, the PostgreSQL stack (several minutes)
    python -m bench.chaos --faults broker,exchange --rate 20

`tests/chaos/` runs a bounded form of the same in `make test`.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import shutil
import signal
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg
import redis.asyncio as aioredis

from bench.e2e import ProfileWatcher, known_to_exchange, read_all, start_stack, stored_visits
from komagane_client import Pending, PlatformClient, RetryPolicy
from komagane_contracts.topics import EXCHANGE
from komagane_devstack.process import ManagedProcess
from komagane_devstack.stack import Stack
from komagane_kit.kafka import cluster_ready


@dataclass
class Write:
    person: str
    key: str
    first_sent: float
    answered_at: float | None = None
    status: int | None = None
    visit_id: str | None = None


@dataclass
class FaultResult:
    name: str
    target: str  # the process hit
    injected_at: float
    ready_after_s: float | None = None
    accepting_again_s: float = 0.0
    profiles_caught_up_s: float | None = None
    refused: dict[int, int] = field(default_factory=dict)

    def figures(self) -> dict[str, Any]:
        def r(value: float | None) -> float | None:
            return None if value is None else round(value, 1)

        return {
            "fault": self.name,
            "target": self.target,
            "ready_after_s": r(self.ready_after_s),
            "writes_accepted_again_after_s": r(self.accepting_again_s),
            "profiles_caught_up_after_s": r(self.profiles_caught_up_s),
            "refused": self.refused,
        }


@dataclass
class Fault:
    name: str
    process: Callable[[Stack], ManagedProcess]
    hang_seconds: float = 0.0  # > 0: SIGSTOP for this long, then SIGCONT, instead of SIGKILL


def faults_of(stack: Stack, hang_seconds: float) -> dict[str, Fault]:
    """Every fault this stack can take, by name."""
    out = {
        "broker": Fault("broker", lambda s: s.kafka.process),
        "broker-hung": Fault("broker-hung", lambda s: s.kafka.process, hang_seconds=hang_seconds),
        "redis": Fault("redis", lambda s: s.redis.process),
        "gateway": Fault("gateway", lambda s: _gateway(s).process),
    }
    if stack.kafka.brokers > 1:
        # Chosen when injected: the node leading most of the busiest topic's partitions (after
        # one such loss, another node leads them), and the controller quorum's leader.
        out["broker-leader"] = Fault("broker-leader", lambda s: s.kafka.busiest_leader(EXCHANGE.name).process)
        out["broker-leader-again"] = Fault("broker-leader-again", lambda s: s.kafka.busiest_leader(EXCHANGE.name).process)
        out["controller"] = Fault("controller", lambda s: s.kafka.active_controller().process)
    if stack.postgres is not None:
        out["postgres"] = Fault("postgres", lambda s: _postgres(s))
    for name in stack.pillars:
        out[name] = Fault(name, lambda s, n=name: s.pillars[n].process)  # type: ignore[misc]
    workers = [w.process.name for w in [stack.profiles, *stack.profiles_extra] if w is not None]
    for worker in workers:
        out[worker] = Fault(worker, lambda s, w=worker: next(p for p in s.managed() if p.name == w))  # type: ignore[misc]
    return out


def _gateway(stack: Stack) -> Any:
    assert stack.gateway is not None
    return stack.gateway


def _postgres(stack: Stack) -> ManagedProcess:
    assert stack.postgres is not None
    return stack.postgres.process


class Load:
    """Hub visits at a steady rate from careful clients (komagane_client: the same Idempotency-Key
    on every attempt, back-off, Retry-After honoured); every write is retried until answered."""

    def __init__(self, gateway: str, token: str, hub: str, people: list[str], rate: float, give_up_after: float = 240.0) -> None:
        self.client = PlatformClient(gateway, token=token, policy=RetryPolicy(deadline=give_up_after, max_backoff=2.0), concurrency=64, timeout=10.0)
        self.path = f"/v1/hubs/{hub}/visits"
        self.people = people
        self.rate = rate
        self.writes: list[Write] = []
        self.refused: Counter[int] = Counter()
        self._stop = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()

    async def run(self) -> None:
        began, n = time.perf_counter(), 0
        while not self._stop.is_set():
            write = Write(self.people[n % len(self.people)], uuid.uuid4().hex, time.perf_counter())
            self.writes.append(write)
            task = asyncio.create_task(self.send(write))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
            n += 1
            await asyncio.sleep(max(0.0, began + n / self.rate - time.perf_counter()))

    async def send(self, write: Write) -> None:
        try:
            reply = await self.client.post(self.path, {"person_id": write.person}, key=write.key)
        except Pending:
            return  # unanswered at the deadline: counted as pending, not as lost
        write.answered_at, write.status = time.perf_counter(), reply.status
        if reply.status == 201:
            write.visit_id = reply.json()["id"]
        else:
            self.refused[reply.status] += 1

    async def stop(self) -> None:
        """Stop sending new writes and wait until every write sent is answered (or given up)."""
        self._stop.set()
        await asyncio.gather(*list(self._tasks), return_exceptions=True)
        await self.client.aclose()

    def accepted(self) -> list[Write]:
        return [w for w in self.writes if w.status == 201]


async def ready_again(process: ManagedProcess, probe: Callable[[], Awaitable[bool]], since: float, timeout: float = 180.0) -> float | None:
    """Seconds from `since` until the process runs (restarted by the supervisor) and answers."""
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        if process.running() and await probe():
            return time.perf_counter() - since
        await asyncio.sleep(0.1)
    return None


def probe_for(stack: Stack, fault: Fault) -> Callable[[], Awaitable[bool]]:
    """Readiness of the faulted process, as the stack waits for it at start."""
    process = fault.process(stack)
    service = next((s for s in stack.services() if s.process is process), None)

    async def http_ready() -> bool:
        assert service is not None
        try:
            async with httpx.AsyncClient(timeout=2.0) as client:
                return (await client.get(f"{service.url}/readyz")).status_code == 200
        except httpx.HTTPError:
            return False

    async def kafka_ready() -> bool:
        node = stack.kafka.node_of(process)
        return node is not None and await cluster_ready(node.bootstrap, timeout=2.0, auth=stack.kafka.admin)

    async def redis_ready() -> bool:
        client = aioredis.Redis.from_url(stack.redis.url, socket_timeout=2.0)
        try:
            return bool(await client.ping())
        except aioredis.RedisError:
            return False
        finally:
            await client.aclose()

    async def postgres_ready() -> bool:
        assert stack.postgres is not None
        try:
            async with await psycopg.AsyncConnection.connect(stack.postgres.url(), connect_timeout=2):
                return True
        except psycopg.OperationalError:
            return False

    if service is not None:
        return http_ready
    if process in stack.kafka.processes:
        return kafka_ready
    return redis_ready if process is stack.redis.process else postgres_ready


async def inject(stack: Stack, fault: Fault) -> FaultResult:
    process = fault.process(stack)
    result = FaultResult(fault.name, process.name, time.perf_counter())
    if fault.hang_seconds:
        process.signal(signal.SIGSTOP)
        await asyncio.sleep(fault.hang_seconds)  # the fault itself is a duration
        process.signal(signal.SIGCONT)
    else:
        process.kill()
    result.ready_after_s = await ready_again(process, probe_for(stack, fault), result.injected_at)
    return result


def caught_up(load: Load, watcher: ProfileWatcher, base: dict[str, int], margin: float = 1.0) -> bool:
    """Every write accepted more than `margin` seconds ago is in its person's profile (the k-th
    accepted write of a person is there once the profile's version reaches base + k)."""
    cutoff = time.perf_counter() - margin
    due = Counter(w.person for w in load.accepted() if (w.answered_at or 0.0) <= cutoff)
    return all(watcher.version.get(person, 0) >= base[person] + n for person, n in due.items())


async def profiles_catch_up(load: Load, watcher: ProfileWatcher, base: dict[str, int], since: float, timeout: float = 300.0) -> float | None:
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        if caught_up(load, watcher, base):
            return time.perf_counter() - since
        await asyncio.sleep(0.1)
    return None


def gaps_and_refusals(load: Load, results: list[FaultResult]) -> None:
    """Per fault: the longest gap between accepted writes after it, and what was refused meanwhile."""
    answered = sorted(w.answered_at for w in load.accepted() if w.answered_at is not None)
    for n, result in enumerate(results):
        t0 = result.injected_at
        end = results[n + 1].injected_at if n + 1 < len(results) else float("inf")
        after = [t0] + [at for at in answered if t0 <= at < end]
        gap = max((b - a for a, b in itertools.pairwise(after)), default=0.0)
        result.accepting_again_s = gap if gap > 1.0 else 0.0
        refused = Counter(w.status for w in load.writes if w.status not in (None, 201) and t0 <= (w.answered_at or 0.0) < end)
        result.refused = {int(status): count for status, count in refused.items() if status is not None}


async def counts(stack: Stack, load: Load, base: dict[str, int], final: dict[str, int]) -> dict[str, Any]:
    """Per accepted write: in the exchange database, once on Kafka, once in its profile."""
    accepted = load.accepted()
    ids = [w.visit_id for w in accepted if w.visit_id]
    on_kafka: Counter[str] = Counter()
    records: dict[str, list[str]] = {}  # visit id → where its records are, for a duplicate's report
    for record in await read_all(stack.kafka.bootstrap, EXCHANGE.name):
        headers = dict(record.headers or [])
        if headers.get("ce_type", b"").decode().endswith("hub-visited.v1"):
            visit = json.loads(record.value)["visit_id"]
            on_kafka[visit] += 1
            records.setdefault(visit, []).append(f"{headers.get('ce_id', b'').decode()}@{record.partition}:{record.offset}")
    per_person = Counter(w.person for w in accepted)
    profile_off = sum(abs(final[p] - base[p] - per_person[p]) for p in base)
    return {
        "sent": len(load.writes),
        "accepted": len(accepted),
        "refused": sum(load.refused.values()),
        "refused_by_status": dict(load.refused),
        "pending": sum(1 for w in load.writes if w.status is None),
        "distinct_visits": len(set(ids)),
        "in_service": await asyncio.to_thread(stored_visits, stack, ids),
        "on_kafka_once": sum(1 for i in ids if on_kafka[i] == 1),
        "on_kafka_duplicated": sum(1 for i in ids if on_kafka[i] > 1),
        "missing_on_kafka": sum(1 for i in ids if on_kafka[i] == 0),
        "profile_versions_off": profile_off,
        "retries": load.client.stats.retried,
        "duplicates": {i: records[i] for i in ids if on_kafka[i] > 1},
    }


async def profile_versions(gateway: httpx.AsyncClient, people: list[str]) -> dict[str, int]:
    out = {}
    for person in people:
        response = await gateway.get(f"/v1/profiles/{person}")
        out[person] = int(response.json()["version"]) if response.status_code == 200 else -1
    return out


async def setup_town(gateway: httpx.AsyncClient, people: int) -> tuple[str, list[str]]:
    hub = (await gateway.post("/v1/hubs", json={"name_ja": "ぱとな", "kind": "WELLNESS_HUB", "area": "赤穂"})).raise_for_status().json()["id"]
    ids = []
    for n in range(people):
        body = {"display_name": f"混沌 {n}", "birth_year": 1940 + n % 60, "residency_status": "RESIDENT"}
        person = (await gateway.post("/v1/people", json=body)).raise_for_status().json()["id"]
        (await gateway.put(f"/v1/people/{person}/consents/PROFILE")).raise_for_status()
        ids.append(person)
    return hub, ids


async def town_known(stack: Stack, gateway: httpx.AsyncClient, ids: list[str], timeout: float = 120) -> None:
    """Every person has a profile and is known to the exchange service, so no visit is refused."""
    deadline = time.perf_counter() + timeout
    while min((await profile_versions(gateway, ids)).values()) < 0 or await asyncio.to_thread(known_to_exchange, stack, ids) < len(ids):
        if time.perf_counter() > deadline:
            raise TimeoutError("the town's people did not reach the profiles and the exchange service")
        await asyncio.sleep(0.2)


async def run(stack: Stack, names: list[str], *, rate: float, people: int, between: float, hang_seconds: float) -> dict[str, Any]:
    """Inject each named fault in turn under steady writes; the counts and per-fault recovery."""
    token = stack.mint_token("admin", subject="chaos", ttl_seconds=4 * 3600)
    gateway_url = _gateway(stack).url
    async with httpx.AsyncClient(base_url=gateway_url, headers={"Authorization": f"Bearer {token}"}, timeout=10.0) as gateway:
        hub, ids = await setup_town(gateway, people)
        await town_known(stack, gateway, ids)
        watcher = ProfileWatcher(stack.kafka.bootstrap)
        await watcher.start()
        base = await profile_versions(gateway, ids)
        load = Load(gateway_url, token, hub, ids, rate)
        sending = asyncio.create_task(load.run())
        faults, results = faults_of(stack, hang_seconds), []
        try:
            await asyncio.sleep(between)  # steady state first: the fault hits a busy platform
            for name in names:
                result = await inject(stack, faults[name])
                result.profiles_caught_up_s = await profiles_catch_up(load, watcher, base, result.injected_at)
                results.append(result)
                await asyncio.sleep(between)
        finally:
            await load.stop()
            await sending
        # Settle: every accepted write in its profile, as read through the gateway.
        expected = Counter(w.person for w in load.accepted())
        deadline = time.perf_counter() + 180
        final = await profile_versions(gateway, ids)
        while any(final[p] < base[p] + expected[p] for p in ids) and time.perf_counter() < deadline:
            await asyncio.sleep(0.5)
            final = await profile_versions(gateway, ids)
        await watcher.stop()
        gaps_and_refusals(load, results)
        return {"counts": await counts(stack, load, base, final), "faults": [r.figures() for r in results], "supervisor": stack.supervisor.status()}


def table(report: dict[str, Any]) -> str:
    lines = ["| fault | process | ready after s | writes accepted again after s | profiles caught up after s | refused |", "|---|---|---:|---:|---:|---|"]
    for f in report["faults"]:
        refused = ", ".join(f"{n}×{status}" for status, n in f["refused"].items()) or "none"
        cells = [f["fault"], f["target"], f["ready_after_s"], f["writes_accepted_again_after_s"], f["profiles_caught_up_after_s"], refused]
        lines.append("| " + " | ".join(str(c) for c in cells) + " |")
    return "\n".join(lines) + "\n\n" + json.dumps(report["counts"], indent=1)


def main() -> None:
    parser = argparse.ArgumentParser(prog="bench.chaos")
    parser.add_argument("--faults", default="", help="comma-separated; default every fault of the stack")
    parser.add_argument("--rate", type=float, default=50.0, help="writes per second through the gateway")
    parser.add_argument("--people", type=int, default=200)
    parser.add_argument("--between", type=float, default=20.0, help="seconds of steady load before and after each fault")
    parser.add_argument("--hang", type=float, default=30.0, help="seconds the broker is kept SIGSTOPped")
    parser.add_argument("--database", choices=["postgresql", "sqlite"], default="postgresql")
    parser.add_argument("--brokers", type=int, default=1, help="Kafka nodes (3: a replicated cluster; adds the broker-leader and controller faults)")
    parser.add_argument("--keep", action="store_true", help="keep the data and logs (the path is printed)")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="komagane-chaos-"))
    if args.keep:
        print(f"data and logs in {root}", flush=True)
    stack = start_stack(root, args.database, profiles_workers=2, kafka_brokers=args.brokers)
    try:
        names = [n for n in args.faults.split(",") if n] or list(faults_of(stack, args.hang))
        report = asyncio.run(run(stack, names, rate=args.rate, people=args.people, between=args.between, hang_seconds=args.hang))
    finally:
        stack.stop()
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    print(table(report))


if __name__ == "__main__":
    main()
