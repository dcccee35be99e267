"""`python -m komagane_devstack up`: the whole platform on SQLite, with demo data (what `make up` runs).

Ports come from the environment (KOMAGANE_KAFKA_PORT, KOMAGANE_REDIS_PORT, KOMAGANE_GATEWAY_PORT,
KOMAGANE_PEOPLE_PORT, KOMAGANE_PROFILES_PORT) and data lives in .data/ (KOMAGANE_DATA_DIR), so
a second `make up` finds the same people again. Ctrl-C stops every process, in order.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from pathlib import Path
from types import FrameType

from komagane_devstack.demo import load_demo_people, load_demo_town
from komagane_devstack.paths import repo_root
from komagane_devstack.stack import PILLARS, Stack, StackConfig

# The profiles processor's web port (8106) sits between the pillars and partners.
DEFAULT_PORTS = {"people": 8101, "exchange": 8102, "jobs": 8103, "health": 8104, "housing": 8105, "partners": 8107}


def _port(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


def up() -> int:
    data_dir = Path(os.environ.get("KOMAGANE_DATA_DIR", repo_root() / ".data"))
    config = StackConfig(
        data_dir=data_dir,
        kafka_port=_port("KOMAGANE_KAFKA_PORT", 9092),
        redis_port=_port("KOMAGANE_REDIS_PORT", 16379),
        gateway_port=_port("KOMAGANE_GATEWAY_PORT", 8100),
        profiles_port=_port("KOMAGANE_PROFILES_PORT", 8106),
        service_ports={name: _port(f"KOMAGANE_{name.upper()}_PORT", DEFAULT_PORTS[name]) for name, _module in PILLARS},
    )
    stack = Stack(config)
    stop = threading.Event()

    def request_stop(signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    print(f"starting Kafka, Redis and the services (data in {data_dir}) …", flush=True)
    try:
        stack.start()
        assert stack.gateway is not None
        marker = data_dir / "demo-loaded"
        if not marker.exists():
            token = stack.mint_token("admin", subject="demo-loader", ttl_seconds=600)
            ids = load_demo_people(stack.gateway.url, token)
            load_demo_town(stack.gateway.url, token, ids)
            marker.write_text("\n".join(ids) + "\n")
        first_person = marker.read_text().split()[0]
        gateway = stack.gateway.url
        print(
            f"""
Komagane Lifelong-Active Town platform is up (ready in {stack.timings["stack_ready_s"]:.1f}s; Kafka {stack.timings["kafka_ready_s"]:.1f}s).

  API docs        {gateway}/docs   (Authorize with a token: make token ROLE=admin)
  a person        {gateway}/v1/people/{first_person}
  their profile   {gateway}/v1/profiles/{first_person}
  hubs, sessions  {gateway}/v1/hubs   {gateway}/v1/sessions
  event contract  {gateway}/asyncapi.json
  health          {gateway}/readyz
  a token         make token ROLE=resident SUB={first_person}   (roles: docs/access-matrix.md)
  Kafka           {stack.kafka.bootstrap}    Redis {stack.redis.url}
  logs            {stack.log_dir}

Press Ctrl-C to stop everything.""",
            flush=True,
        )
        while not stop.wait(timeout=2.0):
            for process in [stack.kafka.process, stack.redis.process] + [s.process for s in stack.services()]:
                process.check_alive()
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
