"""`python -m komagane_devstack up`: the whole platform on SQLite with a living town (what `make up` runs).

Ports come from the environment (KOMAGANE_KAFKA_PORT, KOMAGANE_REDIS_PORT, KOMAGANE_GATEWAY_PORT,
KOMAGANE_PEOPLE_PORT, KOMAGANE_PROFILES_PORT, KOMAGANE_CONSOLE_PORT) and data lives in .data/ (KOMAGANE_DATA_DIR), so
a second `make up` finds the same town again. On first start the town simulator loads a town
(KOMAGANE_TOWN_PEOPLE residents, default 2,000, with KOMAGANE_TOWN_DAYS of history, default 90,
from KOMAGANE_TOWN_SEED) through the gateway; then it keeps a live trickle
(KOMAGANE_TOWN_RATE actions per second, default 2; 0 turns it off). KOMAGANE_DATABASE=postgresql
runs the services on a PostgreSQL cluster in data/postgres instead of SQLite files. The operator's
view starts too (observe.py: Zipkin on KOMAGANE_ZIPKIN_PORT, default 9411, and Prometheus on
KOMAGANE_PROMETHEUS_PORT, default 9090); KOMAGANE_OBSERVE=0 leaves it out. A process that
dies is restarted (supervisor.py); Ctrl-C stops every process, in order.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
import threading
from datetime import date
from pathlib import Path
from types import FrameType

from komagane_devstack.paths import repo_root
from komagane_devstack.stack import PILLARS, Stack, StackConfig
from komagane_simulator import Loaded, keep_alive, load_town, plan_town

# The profiles processor's web port (8106) sits between the pillars and partners.
DEFAULT_PORTS = {"people": 8101, "exchange": 8102, "jobs": 8103, "health": 8104, "housing": 8105, "partners": 8107}


def _port(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


async def _until(stop: threading.Event, work: asyncio.Future[object] | asyncio.Task[object]) -> None:
    """Wait for `work`, cancelling it on Ctrl-C. A process that dies meanwhile is the supervisor's."""
    while not work.done():
        if stop.is_set():
            work.cancel()
            break
        await asyncio.wait([work], timeout=1.0)
    await asyncio.gather(work, return_exceptions=True)


async def _town(stack: Stack, data_dir: Path, stop: threading.Event) -> str | None:
    """Load the town once (remembered in data_dir/town.json), then keep it alive; returns a showcase person id."""
    assert stack.gateway is not None
    gateway = stack.gateway.url

    def token() -> str:
        return stack.mint_token("admin", subject="town-simulator", ttl_seconds=3600)

    saved = data_dir / "town.json"
    if saved.exists():
        record = json.loads(saved.read_text())
        town = plan_town(record["seed"], record["people"], date.fromisoformat(record["as_of"]))
        ids: dict[str, str] = record["ids"]
        showcase: str | None = record.get("showcase")
    else:
        people = int(os.environ.get("KOMAGANE_TOWN_PEOPLE", 2000))
        days = int(os.environ.get("KOMAGANE_TOWN_DAYS", 90))
        seed = int(os.environ.get("KOMAGANE_TOWN_SEED", 2026))
        print(f"loading a town of {people:,} residents with {days} days of history (seed {seed}) through the gateway …", flush=True)
        task = asyncio.ensure_future(load_town(gateway, token, seed=seed, population=people, history_days=days, progress=lambda line: print(line, flush=True)))
        await _until(stop, task)
        if task.cancelled() or stop.is_set():
            return None
        loaded: Loaded = task.result()
        town, ids, showcase = loaded.town, loaded.ids, loaded.showcase()
        failed = sum(loaded.stats.failed.values())
        print(f"town loaded in {loaded.seconds:.0f}s: {loaded.stats.ok:,} requests ({loaded.stats.rate():.0f}/s), {failed} refused", flush=True)
        record = {"seed": seed, "people": people, "as_of": town.as_of.isoformat(), "ids": ids, "showcase": showcase}
        saved.write_text(json.dumps(record, ensure_ascii=False))
    _print_welcome(stack, town.as_of, showcase, ids.get("hub:wellness"))
    rate = float(os.environ.get("KOMAGANE_TOWN_RATE", 2))
    stop_live = asyncio.Event()
    live = (
        asyncio.ensure_future(keep_alive(gateway, token, town, ids, stop_live, per_second=rate)) if rate > 0 else asyncio.ensure_future(asyncio.Event().wait())
    )
    try:
        await _until(stop, live)
    finally:
        stop_live.set()
    return showcase


def _print_welcome(stack: Stack, as_of: date, person: str | None, hub: str | None) -> None:
    assert stack.gateway is not None and stack.console is not None
    gateway = stack.gateway.url
    person = person or "<person_id>"
    print(
        f"""
Komagane Lifelong-Active Town platform is up (ready in {stack.timings["stack_ready_s"]:.1f}s; Kafka {stack.timings["kafka_ready_s"]:.1f}s).

  START HERE      {stack.console.url}   (the web console: sign in as a demo resident, staff, care, city or partner)
{_observe_lines(stack)}
  API docs        {gateway}/docs   (Authorize with a token: make token ROLE=admin)
  a person        {gateway}/v1/people/{person}
  their profile   {gateway}/v1/profiles/{person}
  city KPIs       {gateway}/v1/kpis?month={as_of.strftime("%Y-%m")}
  ごちゃまぜ index {gateway}/v1/hubs/{hub or "<hub_id>"}/mix
  lapse alerts    {gateway}/v1/alerts/lapses   (ROLE=care)
  hubs, sessions  {gateway}/v1/hubs   {gateway}/v1/sessions
  event contract  {gateway}/asyncapi.json
  health          {gateway}/readyz
  a token         make token ROLE=resident SUB={person}   (roles: docs/access-matrix.md)
  Kafka           {stack.kafka.bootstrap}    Redis {stack.redis.url}
  logs            {stack.log_dir}

The town goes on living (a live trickle of visits, sessions, shifts and migration steps).
A process that dies is restarted by itself, with one line here each time.
Press Ctrl-C to stop everything.""",
        flush=True,
    )


def _observe_lines(stack: Stack) -> str:
    if stack.observe is None:
        return "  (traces and metrics: off; KOMAGANE_OBSERVE=1 starts Zipkin and Prometheus)\n"
    return (
        f"  traces (Zipkin) {stack.observe.zipkin_url}/zipkin/   (pick serviceName gateway; runbook: docs/operations.md)\n"
        f"  Prometheus      {stack.observe.prometheus_url}/classic/alerts   (every alert rule; graphs at /classic/graph)\n"
    )


def up() -> int:
    data_dir = Path(os.environ.get("KOMAGANE_DATA_DIR", repo_root() / ".data"))
    config = StackConfig(
        data_dir=data_dir,
        kafka_port=_port("KOMAGANE_KAFKA_PORT", 9092),
        redis_port=_port("KOMAGANE_REDIS_PORT", 16379),
        gateway_port=_port("KOMAGANE_GATEWAY_PORT", 8100),
        profiles_port=_port("KOMAGANE_PROFILES_PORT", 8106),
        console_port=_port("KOMAGANE_CONSOLE_PORT", 8110),
        service_ports={name: _port(f"KOMAGANE_{name.upper()}_PORT", DEFAULT_PORTS[name]) for name, _module in PILLARS},
        database=os.environ.get("KOMAGANE_DATABASE", "sqlite"),
        kafka_brokers=int(brokers) if (brokers := os.environ.get("KOMAGANE_KAFKA_BROKERS", "1")).isdigit() else 0,
        observe=os.environ.get("KOMAGANE_OBSERVE", "1") != "0",
        zipkin_port=_port("KOMAGANE_ZIPKIN_PORT", 9411),
        prometheus_port=_port("KOMAGANE_PROMETHEUS_PORT", 9090),
    )
    if config.database not in ("sqlite", "postgresql"):
        print(f"KOMAGANE_DATABASE must be sqlite or postgresql, not {config.database!r}", file=sys.stderr)
        return 2
    if not 1 <= config.kafka_brokers <= 5:
        print(f"KOMAGANE_KAFKA_BROKERS must be a number of Kafka nodes from 1 to 5 (3 for a replicated cluster), not {brokers!r}", file=sys.stderr)
        return 2
    stack = Stack(config)
    stack.supervisor.report = lambda line: print(line, flush=True)
    stop = threading.Event()

    def request_stop(signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    print(f"starting Kafka, Redis and the services (data in {data_dir}) …", flush=True)
    try:
        stack.start()
        asyncio.run(_town(stack, data_dir, stop))
    except Exception as exc:
        print(f"\nfailed: {exc}\n\n{stack.log_tails()}", file=sys.stderr)
        return 1
    finally:
        print("\nstopping …", flush=True)
        stack.stop()
        print("stopped; nothing left running.", flush=True)
    return 0


def main() -> None:
    parser = argparse.ArgumentParser(prog="komagane-devstack")
    parser.add_argument("command", choices=["up"])
    parser.parse_args()
    raise SystemExit(up())


if __name__ == "__main__":
    main()
