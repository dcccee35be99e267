"""A replicated Kafka (three KRaft nodes, topics 3/2) loses a broker, then another, then its
controller, under steady writes through the gateway: nothing accepted is lost or duplicated, and
the gateway keeps accepting writes throughout (the outbox holds them; Kafka is not on the write's
path). The longer form: `python -m bench.chaos --brokers 3 --faults broker-leader,broker-leader-again,controller`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest
from confluent_kafka.admin import AdminClient, ConfigResource

from bench.chaos import run, table
from komagane_contracts.topics import EXCHANGE
from komagane_devstack.stack import Stack
from tests.chaos.stacks import chaos_platform

# Each fault waits until the killed node is back before the next: "then a second one later".
FAULTS = ["broker-leader", "broker-leader-again", "controller"]
LONGEST_PAUSE_S = 15.0  # writes go to the service's database and outbox: a broker is not on their path


@pytest.fixture(scope="module")
def cluster_stack() -> Iterator[Stack]:
    with chaos_platform("komagane-brokers-", "sqlite", kafka_brokers=3) as stack:
        yield stack


def test_the_registry_replicates_every_topic_three_times_with_two_in_sync(cluster_stack: Stack) -> None:
    quiet: dict[str, Any] = {"logger": logging.getLogger("komagane_devstack.rdkafka")}  # nodes are killed later in this module
    admin = AdminClient({"bootstrap.servers": cluster_stack.kafka.bootstrap, **cluster_stack.kafka.admin.librdkafka(), **quiet})
    topic = admin.list_topics(EXCHANGE.name, timeout=10).topics[EXCHANGE.name]
    assert {len(p.replicas) for p in topic.partitions.values()} == {3}
    assert {p.leader for p in topic.partitions.values()} <= {1, 2, 3}
    config = admin.describe_configs([ConfigResource(ConfigResource.Type.TOPIC, EXCHANGE.name)])
    entries = next(iter(config.values())).result()
    assert entries["min.insync.replicas"].value == "2"


@pytest.mark.timeout(1200)
async def test_losing_brokers_and_the_controller_loses_no_write(cluster_stack: Stack, capsys: pytest.CaptureFixture[str]) -> None:
    report = await run(cluster_stack, FAULTS, rate=20, people=30, between=6, hang_seconds=0)
    with capsys.disabled():
        print(f"\nbroker loss on three nodes ({', '.join(FAULTS)}):\n{table(report)}")
    counts = report["counts"]
    assert counts["accepted"] > 0 and counts["pending"] == 0 and counts["refused"] == 0, counts
    assert counts["distinct_visits"] == counts["accepted"] == counts["in_service"] == counts["on_kafka_once"], counts
    assert counts["on_kafka_duplicated"] == counts["missing_on_kafka"] == counts["profile_versions_off"] == 0, counts
    faults = report["faults"]
    assert faults[0]["target"] != faults[1]["target"], "the second loss is another broker: the first one's partitions moved"
    for fault in faults:
        assert fault["ready_after_s"] is not None, f"{fault['fault']} ({fault['target']}) did not come back by itself"
        assert fault["profiles_caught_up_after_s"] is not None, f"after {fault['fault']}, a write never reached its profile"
        assert fault["writes_accepted_again_after_s"] < LONGEST_PAUSE_S, fault
    assert all(child["state"] == "running" for child in report["supervisor"].values()), report["supervisor"]
