"""Writes straight into the exchange service: its CPU per accepted write, outbox relay included.

Starts Kafka (with its logins, as it runs for real) and PostgreSQL, then the exchange service as
`make up` runs it, registers a hub and puts people into its replica table (as its consumer
would), and sends `POST /v1/hubs/{hub}/visits` open-loop at a fixed rate with the gateway's
internal token and a fresh `Idempotency-Key` each, as the gateway forwards them. Each round ends
once the outbox is drained, so the relay's share is counted. Prints, per round, the exchange's
and PostgreSQL's CPU milliseconds per accepted write (steadier than latency on a shared machine).

    python -m bench.exchange_writes [--rate 200] [--seconds 15] [--rounds 3] [--baseline DIR] [--fast-paths-off] [--py-spy]

With `--baseline DIR` a second exchange process runs from another checkout's services/exchange,
libs/kit and libs/contracts (e.g. `git worktree add DIR main`), against its own database on the
same broker and PostgreSQL, measured in interleaved rounds beside this one: a before/after. With
`--fast-paths-off` another runs this checkout with `FAST_PATHS=0` (every visit through FastAPI's
routing and its own transaction, not the grouped writes of komagane_kit.fastpath): what they save.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import pwd
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import psycopg

from komagane_client import ClientError, LeanTransport
from komagane_devstack.infra import PostgresServer
from komagane_devstack.kafka_cluster import KafkaCluster
from komagane_devstack.services import ServiceProcess
from komagane_kit.internal_auth import internal_headers

PEOPLE = [str(uuid.UUID(int=n + 1, version=4)) for n in range(200)]
SECRET = "bench-" + "s" * 40


def start_exchange(
    name: str, broker: KafkaCluster, postgres: PostgresServer, log_dir: Path, source: Path | None, extra_env: dict[str, str]
) -> tuple[ServiceProcess, str]:
    database_url = postgres.create_database(f"exchange_{name}")
    env = {
        "KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap,
        **broker.auth("exchange").env(),
        "DATABASE_URL": database_url,
        "INTERNAL_TOKEN_SECRET": SECRET,
        "LOG_LEVEL": "WARNING",
        **extra_env,
    }
    if source is not None:  # another checkout's code first on the path
        paths = [str(source / part) for part in ("services/exchange", "libs/kit", "libs/contracts")]
        env["PYTHONPATH"] = os.pathsep.join(paths + [os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    service = ServiceProcess(name, "komagane_exchange.main", log_dir, env=env)
    service.start()
    return service, database_url


def seed(service: ServiceProcess, database_url: str) -> str:
    headers = internal_headers(SECRET, ttl_seconds=3600)
    response = httpx.post(f"{service.url}/v1/hubs", json={"name_ja": "ベンチ交流館", "kind": "COMMUNITY_HALL", "area": "赤穂"}, headers=headers, timeout=30)
    response.raise_for_status()
    with psycopg.connect(database_url) as conn:
        for person in PEOPLE:
            conn.execute(
                "INSERT INTO known_person (person_id, age_band, residency_status, registered_at, replicated_at) VALUES (%s, '65-74', 'RESIDENT', %s, %s)"
                " ON CONFLICT DO NOTHING",
                (person, datetime.now(UTC), datetime.now(UTC)),
            )
    return str(response.json()["id"])


def backlog(database_url: str) -> int:
    with psycopg.connect(database_url) as conn:
        row = conn.execute("SELECT count(*) FROM outbox WHERE published_at IS NULL").fetchone()
    return int(row[0]) if row else 0


async def load(url: str, *, rate: float, seconds: float, concurrency: int = 64) -> tuple[int, int]:
    """Open loop: a request every 1/rate seconds; returns (accepted, refused or failed)."""
    headers = internal_headers(SECRET, ttl_seconds=3600)
    accepted = failed = 0
    gate = asyncio.Semaphore(concurrency)
    target = urlsplit(url)
    assert target.hostname is not None and target.port is not None
    client = LeanTransport(target.hostname, target.port, headers, connections=concurrency)
    try:

        async def write(n: int) -> None:
            nonlocal accepted, failed
            async with gate:
                body = json.dumps({"person_id": PEOPLE[n % len(PEOPLE)], "purpose": "お茶のみ"}).encode()
                try:
                    status, answer = await client.post(target.path, body, {"Idempotency-Key": uuid.uuid4().hex})
                    ok = status == 201
                    if not ok:
                        print(f"refused: {status} {answer[:300].decode(errors='replace')}", file=sys.stderr)
                except (ClientError, OSError, TimeoutError) as exc:
                    print(f"failed: {exc!r}", file=sys.stderr)
                    ok = False
            accepted, failed = accepted + ok, failed + (not ok)

        began = time.perf_counter()
        tasks = []
        for n in range(int(rate * seconds)):
            delay = began + n / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(write(n)))
        await asyncio.gather(*tasks)
    finally:
        await client.close()
    return accepted, failed


def measure(service: ServiceProcess, database_url: str, hub: str, postgres: PostgresServer, *, rate: float, seconds: float) -> tuple[float, float, int, int]:
    """One round: (exchange CPU ms per write, PostgreSQL CPU ms per write, accepted, failed)."""
    before = service.process.cpu_seconds(), postgres.process.cpu_seconds()
    accepted, failed = asyncio.run(load(f"{service.url}/v1/hubs/{hub}/visits", rate=rate, seconds=seconds))
    deadline = time.monotonic() + 60
    while backlog(database_url) and time.monotonic() < deadline:
        time.sleep(0.05)
    per = max(accepted, 1)
    return (service.process.cpu_seconds() - before[0]) * 1000 / per, (postgres.process.cpu_seconds() - before[1]) * 1000 / per, accepted, failed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rate", type=float, default=200, help="writes per second, open loop")
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--baseline", metavar="DIR", help="another checkout, measured in interleaved rounds beside this one")
    parser.add_argument("--fast-paths-off", action="store_true", help="this checkout again with FAST_PATHS=0, measured beside it")
    parser.add_argument("--py-spy", action="store_true", help="record this checkout's exchange in the last round (bench/results/py-spy-exchange-writes.txt)")
    parser.add_argument("--log-dir", help="keep the processes' logs here")
    args = parser.parse_args()

    results: dict[str, list[tuple[float, float, int, int]]] = {}
    with tempfile.TemporaryDirectory(prefix="komagane-bench-exchange-") as tmp:
        log_dir = Path(args.log_dir) if args.log_dir else Path(tmp) / "logs"
        if os.geteuid() == 0:  # PostgreSQL runs as its own user and must enter here
            user = pwd.getpwnam("postgres")
            os.chown(tmp, user.pw_uid, user.pw_gid)
        broker, postgres = KafkaCluster(Path(tmp) / "kafka", log_dir), PostgresServer(Path(tmp) / "postgres", log_dir)
        broker.start()
        postgres.start()
        services: list[tuple[str, ServiceProcess, str, str]] = []
        try:
            broker.create_topics()
            variants: dict[str, tuple[Path | None, dict[str, str]]] = {"this checkout": (None, {})}
            if args.baseline:
                variants["baseline"] = (Path(args.baseline).resolve(), {})
            if args.fast_paths_off:
                variants["fast paths off"] = (None, {"FAST_PATHS": "0"})
            for label, (source, extra_env) in variants.items():
                service, database_url = start_exchange(label.replace(" ", "_"), broker, postgres, log_dir, source, extra_env)
                services.append((label, service, database_url, seed(service, database_url)))
            for _label, service, database_url, hub in services:  # warm-up: connections, caches, producer
                measure(service, database_url, hub, postgres, rate=args.rate, seconds=2)
            for round_no in range(args.rounds):
                for label, service, database_url, hub in services:
                    spy = None
                    if args.py_spy and label == "this checkout" and round_no == args.rounds - 1:
                        out = Path("bench/results/py-spy-exchange-writes.txt")
                        spy_bin = str(Path(sys.executable).parent / "py-spy")
                        argv = [
                            spy_bin,
                            "record",
                            "-p",
                            str(service.process.pid),
                            "-d",
                            str(int(args.seconds)),
                            "-r",
                            "100",
                            "-f",
                            "raw",
                            "-o",
                            str(out),
                            "--nonblocking",
                            "--gil",
                        ]
                        spy = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                    results.setdefault(label, []).append(measure(service, database_url, hub, postgres, rate=args.rate, seconds=args.seconds))
                    if spy is not None:
                        spy.wait(60)
        finally:
            for _label, service, _url, _hub in services:
                service.stop()
            postgres.stop()
            broker.stop()

    print(f"\nexchange writes: {args.rate:g}/s open loop, {args.rounds} rounds of {args.seconds:g} s, PostgreSQL, Kafka with SASL")
    # PostgreSQL serves both exchange processes; in a round the other one is idle.
    print("| exchange | CPU ms/write (median; rounds) | PostgreSQL CPU ms/write (median) | accepted | failed |")
    print("|---|---|---|---|---|")
    for label, rounds in results.items():
        exchange_ms = [r[0] for r in rounds]
        print(
            f"| {label} | {statistics.median(exchange_ms):.2f} ({', '.join(f'{x:.2f}' for x in exchange_ms)}) "
            f"| {statistics.median(r[1] for r in rounds):.2f} | {sum(r[2] for r in rounds)} | {sum(r[3] for r in rounds)} |"
        )


if __name__ == "__main__":
    main()
