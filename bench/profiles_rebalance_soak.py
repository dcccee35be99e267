"""Rebalance soak of the profiles processor: a second worker joins and leaves, round after
round, while events arrive, and the live outputs are compared with a replay of the topics.

Each round produces a fresh slice of a synthetic town (people events first, then the rest),
starts a second worker in the same group while it is produced, and then either stops it
cleanly or kills it (every other round); every fourth round both workers first fold the whole
slice and the outputs are compared while both run. After each round the single worker must
commit every input and internal topic, and its outputs — profiles, hub mixes, city KPIs in
Redis and on the compacted topics — must equal the replay (tests.e2e.test_profiles_correctness).

Prints one line per round and a summary: rounds whose outputs matched, rounds that stalled
(with each worker's /progress), rounds that differed. Never passes or fails on timing.

    python -m bench.profiles_rebalance_soak --rounds 16
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx

from komagane_contracts.topics import HUB_ATTENDANCE, KPI_CONTRIBUTIONS, PEOPLE
from komagane_devstack.services import ServiceProcess
from komagane_devstack.stack import Stack, StackConfig
from komagane_profiles.synthetic import people_events
from tests.e2e.test_profiles_correctness import INPUT_TOPICS, caught_up, compare_with_replay, produce_events, split

ALL_TOPICS = [*INPUT_TOPICS, HUB_ATTENDANCE.name, KPI_CONTRIBUTIONS.name]
KILLED_MEMBER_TIMEOUT = 150.0  # seconds: a killed (dynamic) member holds its partitions until its session ends


async def progress(worker: ServiceProcess) -> Any:
    """The worker's /progress, cut to the partitions with messages still to commit."""
    try:
        async with httpx.AsyncClient(base_url=worker.url, timeout=5.0) as client:
            body = (await client.get("/progress")).json()
    except httpx.HTTPError as exc:
        return repr(exc)
    body["partitions"] = {tp: p for tp, p in body["partitions"].items() if p["highwater"] and p["committed"] != p["highwater"]}
    return body


async def committed_everything(stack: Stack, topics: list[str], timeout: float, workers: list[ServiceProcess]) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await caught_up(stack.kafka.bootstrap, topics):
            return True
        await asyncio.sleep(0.5)
    for worker in workers:
        print(f"  stalled: {worker.name} {json.dumps(await progress(worker))}", flush=True)
    return False


async def one_round(stack: Stack, n: int, data_dir: Path) -> str:
    """'ok', 'stalled' or 'differed'."""
    first = stack.profiles
    assert first is not None
    messages = list(people_events(people=200, events_per_person=15, start=date(2010, 1, 4) + timedelta(days=200 * n), days=120, seed=100 + n))
    people, others = split(messages)
    # A dynamic member (the first's static name would fence the first out): it leaves the group when stopped.
    env = {name: value for name, value in first.env.items() if name not in ("PROFILES_WEB_PORT", "PROFILES_INSTANCE_ID")}
    env["PROFILES_DATA_DIR"] = str(data_dir / f"second-{n}")
    second = ServiceProcess(f"profiles-second-{n}", "komagane_profiles", stack.log_dir, port_env="PROFILES_WEB_PORT", env=env)
    second.start()
    try:
        await produce_events(stack.kafka.bootstrap, people)
        if not await committed_everything(stack, [PEOPLE.name], KILLED_MEMBER_TIMEOUT, [first, second]):
            return "stalled"
        producing = asyncio.create_task(produce_events(stack.kafka.bootstrap, others))
        if n % 4 == 2:
            await producing
            if not await committed_everything(stack, ALL_TOPICS, KILLED_MEMBER_TIMEOUT, [first, second]):
                return "stalled"
            if not await compare_with_replay(stack):
                print(f"  differed with two workers: {(await compare_with_replay(stack)).items[:5]}", flush=True)
                return "differed"
        await asyncio.sleep(1.0 + n % 3)
    finally:
        second.process.kill() if n % 2 else second.stop()
    await producing
    if not await committed_everything(stack, ALL_TOPICS, KILLED_MEMBER_TIMEOUT, [first]):
        return "stalled"
    differences = await compare_with_replay(stack)
    if not differences:
        print(f"  differed: {differences.items[:5]} ({len(differences.items)} in all)", flush=True)
        return "differed"
    return "ok"


async def soak(stack: Stack, rounds: int, data_dir: Path) -> dict[str, int]:
    outcomes = {"ok": 0, "stalled": 0, "differed": 0}
    for n in range(rounds):
        started = time.monotonic()
        outcome = await one_round(stack, n, data_dir)
        outcomes[outcome] += 1
        how = "killed" if n % 2 else "stopped"
        print(f"round {n + 1}/{rounds}: second worker {how}: {outcome} ({time.monotonic() - started:.0f} s)", flush=True)
    return outcomes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=16)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="komagane-soak-") as tmp:
        data_dir = Path(tmp)
        env = {"OUTBOX_POLL_SECONDS": "0.5", "PROFILES_LAPSE_CHECK_SECONDS": "1"}
        stack = Stack(StackConfig(data_dir=data_dir, extra_env=env))
        stack.start()
        os.environ.update(stack.kafka.admin.env())  # the soak reads and writes topics as the broker's operator
        try:
            outcomes = asyncio.run(soak(stack, args.rounds, data_dir))
        finally:
            stack.stop()
    print(f"rounds: {args.rounds}; outputs equal to the replay: {outcomes['ok']}; stalled: {outcomes['stalled']}; differed: {outcomes['differed']}")


if __name__ == "__main__":
    main()
