"""What the operator's view costs: `python -m bench.observability [--rate 250] [--seconds 30]`.

Runs the platform twice on SQLite, as `make up` does: once with tracing and metrics off
(`observe=False`: spans are made, so trace ids still reach logs and Kafka, but none is exported),
once with the operator's view on (`observe=True`: every span of every request sent to Zipkin,
metrics scraped by Prometheus every 5 s, the Kafka-lag and Redis exporters). In each: the memory
and CPU of every process at idle (`--idle` seconds) and under hub-visit writes through the gateway
at `--rate` per second for `--seconds`. Prints

- the observability processes' resident memory and CPU (cores) at idle and under load;
- the platform's own CPU per accepted write with and without export, the difference being
  what exporting every trace (sampled at 100 %) and serving metrics adds per write;
- and Zipkin's and the exporters' CPU per write on top.

Figures, never pass/fail: the machine is shared.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

from bench.e2e import known_to_exchange
from komagane_client import ClientError, Pending, PlatformClient, RetryPolicy
from komagane_devstack.stack import Stack, StackConfig

OBSERVERS = ("zipkin", "prometheus", "kafka-lag-exporter", "redis-exporter")


async def prepare(stack: Stack, people: int) -> tuple[str, list[str]]:
    assert stack.gateway is not None
    token = stack.mint_token("admin", subject="bench-observability", ttl_seconds=3600)
    async with httpx.AsyncClient(base_url=stack.gateway.url, headers={"Authorization": f"Bearer {token}"}, timeout=30) as client:
        hub = (await client.post("/v1/hubs", json={"name_ja": "計測館", "kind": "WELLNESS_HUB", "area": "赤穂"})).raise_for_status().json()["id"]
        ids = []
        for n in range(people):
            body = {"display_name": f"計測 {n}", "birth_year": 1940 + n % 70, "residency_status": "RESIDENT"}
            person = (await client.post("/v1/people", json=body)).raise_for_status().json()["id"]
            (await client.put(f"/v1/people/{person}/consents/PROFILE")).raise_for_status()
            ids.append(str(person))
    deadline = time.monotonic() + 120
    while await asyncio.to_thread(known_to_exchange, stack, ids) < len(ids):
        if time.monotonic() > deadline:
            raise TimeoutError("the exchange service's people replica did not catch up")
        await asyncio.sleep(0.2)
    return str(hub), ids


async def write_load(stack: Stack, hub: str, people: list[str], rate: float, seconds: float) -> int:
    """Hub visits at `rate` per second for `seconds` (what falls behind is not sent); accepted count."""
    assert stack.gateway is not None
    token = stack.mint_token("admin", subject="bench-observability", ttl_seconds=3600)
    writer = PlatformClient(stack.gateway.url, token=token, lean=True, concurrency=64, policy=RetryPolicy(deadline=30.0))
    path = f"/v1/hubs/{hub}/visits"
    accepted = 0
    began = time.perf_counter()
    deadline = began + seconds

    async def write(n: int) -> None:
        nonlocal accepted
        try:
            reply = await writer.post(path, body=json.dumps({"person_id": people[n % len(people)]}).encode(), key=uuid.uuid4().hex)
        except (Pending, ClientError, OSError, TimeoutError):
            return
        accepted += reply.status == 201

    tasks = []
    for n in range(int(rate * seconds)):
        due = began + n / rate
        if time.perf_counter() > deadline:
            break
        if (delay := due - time.perf_counter()) > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(write(n)))
    await asyncio.gather(*tasks)
    await writer.aclose()
    return accepted


def window(stack: Stack, before: dict[str, float], seconds: float) -> dict[str, float]:
    after = stack.cpu_seconds()
    return {name: (after[name] - before.get(name, 0.0)) / seconds for name in after}


def run(observe: bool, args: argparse.Namespace) -> dict[str, Any]:
    root = Path(tempfile.mkdtemp(prefix="komagane-bench-observe-"))
    unlimited = {f"RATE_LIMIT_{kind}_{what}": "1000000" for kind in ("READ", "WRITE") for what in ("PER_SECOND", "BURST")}
    stack = Stack(StackConfig(data_dir=root, observe=observe, extra_env={"LOG_LEVEL": "WARNING", **unlimited}))
    label = "observed" if observe else "tracing off"
    print(f"[{label}] starting the platform in {root} …", flush=True)
    try:
        stack.start()  # outside the event loop: the stack's start-up runs its own
        return asyncio.run(measure(stack, label, args))
    finally:
        stack.stop()


async def measure(stack: Stack, label: str, args: argparse.Namespace) -> dict[str, Any]:
    hub, people = await prepare(stack, args.people)
    await asyncio.sleep(args.settle)  # start-up and set-up work fades first
    before = stack.cpu_seconds()
    await asyncio.sleep(args.idle)
    idle_cores = window(stack, before, args.idle)
    idle_memory = stack.processes()
    before = stack.cpu_seconds()
    began = time.perf_counter()
    accepted = await write_load(stack, hub, people, args.rate, args.seconds)
    elapsed = time.perf_counter() - began
    cpu = {name: cores * elapsed for name, cores in window(stack, before, elapsed).items()}
    load_memory = stack.processes()
    return {
        "label": label,
        "idle_cores": idle_cores,
        "idle_memory_kib": idle_memory,
        "load_cpu_seconds": cpu,
        "load_memory_kib": load_memory,
        "elapsed": elapsed,
        "accepted": accepted,
    }


def report(off: dict[str, Any], on: dict[str, Any], args: argparse.Namespace) -> None:
    print(f"\nobservability processes (observed run; idle {args.idle:.0f} s, then {args.rate:.0f} writes/s for {args.seconds:.0f} s)")
    print(f"{'process':<20}{'RSS idle MiB':>14}{'CPU idle cores':>16}{'RSS load MiB':>14}{'CPU load cores':>16}")
    totals = [0.0, 0.0, 0.0, 0.0]
    for name in OBSERVERS:
        row = [
            on["idle_memory_kib"].get(name, 0) / 1024,
            on["idle_cores"].get(name, 0.0),
            on["load_memory_kib"].get(name, 0) / 1024,
            on["load_cpu_seconds"].get(name, 0.0) / on["elapsed"],
        ]
        totals = [t + v for t, v in zip(totals, row, strict=True)]
        print(f"{name:<20}{row[0]:>14.0f}{row[1]:>16.3f}{row[2]:>14.0f}{row[3]:>16.3f}")
    print(f"{'total':<20}{totals[0]:>14.0f}{totals[1]:>16.3f}{totals[2]:>14.0f}{totals[3]:>16.3f}")

    def platform_cpu(result: dict[str, Any]) -> float:
        return float(sum(v for k, v in result["load_cpu_seconds"].items() if k not in OBSERVERS))

    def platform_memory(result: dict[str, Any], key: str) -> float:
        return float(sum(v for k, v in result[key].items() if k not in OBSERVERS)) / 1024

    print(f"\n{'':<34}{'tracing off':>14}{'observed':>14}")
    print(f"{'accepted writes':<34}{off['accepted']:>14}{on['accepted']:>14}")
    print(f"{'achieved writes/s':<34}{off['accepted'] / off['elapsed']:>14.0f}{on['accepted'] / on['elapsed']:>14.0f}")
    print(f"{'platform RSS idle, MiB':<34}{platform_memory(off, 'idle_memory_kib'):>14.0f}{platform_memory(on, 'idle_memory_kib'):>14.0f}")
    print(f"{'platform CPU idle, cores':<34}{_idle_platform(off):>14.3f}{_idle_platform(on):>14.3f}")
    per_write_off = platform_cpu(off) / max(off["accepted"], 1) * 1000
    per_write_on = platform_cpu(on) / max(on["accepted"], 1) * 1000
    observers = sum(on["load_cpu_seconds"].get(name, 0.0) for name in OBSERVERS) / max(on["accepted"], 1) * 1000
    print(f"{'platform CPU per write, ms':<34}{per_write_off:>14.2f}{per_write_on:>14.2f}")
    print(f"\nexporting every trace and serving metrics adds {per_write_on - per_write_off:+.2f} ms of the platform's CPU per write")
    print(f"({(per_write_on / per_write_off - 1) * 100:+.0f} %); Zipkin, Prometheus and the exporters add {observers:.2f} ms per write on top.")


def _idle_platform(result: dict[str, Any]) -> float:
    return float(sum(v for k, v in result["idle_cores"].items() if k not in OBSERVERS))


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.observability", description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--rate", type=float, default=250.0, help="hub-visit writes per second")
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--idle", type=float, default=30.0, help="idle window measured before the load")
    parser.add_argument("--settle", type=float, default=15.0, help="wait after set-up before measuring")
    parser.add_argument("--people", type=int, default=50)
    args = parser.parse_args()
    off = run(False, args)
    on = run(True, args)
    report(off, on, args)


if __name__ == "__main__":
    main()
