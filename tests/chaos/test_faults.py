"""The chaos suite, bounded: a supervised stack heals every fault without a person, losing nothing.

Careful clients write hub visits through the gateway at a steady rate while the broker is killed,
then hung (SIGSTOP), and a pillar service, the gateway, a profiles worker, Redis and PostgreSQL are
each killed with SIGKILL. Nobody restarts anything: the devstack's supervisor does. Afterwards
every accepted write is once in the exchange database, once on Kafka and once in its profile; none
is refused or left unanswered. The longer form with every process: `python -m bench.chaos`.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bench.chaos import run, table
from komagane_devstack.stack import Stack
from tests.chaos.stacks import chaos_platform

FAULTS = ["broker", "exchange", "gateway", "profiles", "redis", "postgres", "broker-hung"]


@pytest.fixture(scope="module")
def chaos_stack() -> Iterator[Stack]:
    with chaos_platform("komagane-chaos-", "postgresql", profiles_workers=2) as stack:
        yield stack


@pytest.mark.timeout(1200)
async def test_every_fault_is_healed_and_no_accepted_write_is_lost_or_duplicated(chaos_stack: Stack, capsys: pytest.CaptureFixture[str]) -> None:
    report = await run(chaos_stack, FAULTS, rate=20, people=40, between=6, hang_seconds=10)
    with capsys.disabled():
        print(f"\nchaos, bounded ({', '.join(FAULTS)}):\n{table(report)}")
    counts = report["counts"]
    assert counts["accepted"] > 0 and counts["pending"] == 0 and counts["refused"] == 0, counts
    assert counts["distinct_visits"] == counts["accepted"] == counts["in_service"] == counts["on_kafka_once"], counts
    assert counts["on_kafka_duplicated"] == counts["missing_on_kafka"] == counts["profile_versions_off"] == 0, counts
    assert counts["retries"] > 0, "the faults were felt: some writes had to be retried"
    for fault in report["faults"]:
        assert fault["ready_after_s"] is not None, f"{fault['fault']} did not come back by itself"
        assert fault["profiles_caught_up_after_s"] is not None, f"after {fault['fault']}, a write never reached its profile"
    assert all(child["state"] == "running" for child in report["supervisor"].values()), report["supervisor"]
