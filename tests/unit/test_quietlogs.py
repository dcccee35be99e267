"""The broker's outage as two log lines, whatever the clients log meanwhile (komagane_kit.quietlogs)."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable, Iterator

import pytest

from komagane_kit.telemetry import configure_logging


@pytest.fixture
def logged() -> Iterator[Callable[[], list[str]]]:
    """The messages the process writes to its log (configure_logging's handler, into a buffer)."""
    root = logging.getLogger()
    saved = (root.handlers[:], root.level, {name: logging.getLogger(name).level for name in ("aiokafka", "aiokafka.cluster")})
    configure_logging("test-service")
    buffer = io.StringIO()
    handler = root.handlers[0]
    assert isinstance(handler, logging.StreamHandler)
    handler.setStream(buffer)
    yield lambda: [json.loads(line)["message"] for line in buffer.getvalue().splitlines()]
    root.handlers[:], root.level = saved[0], saved[1]
    for name, level in saved[2].items():
        logging.getLogger(name).setLevel(level)


def _outage(client: logging.Logger, cluster: logging.Logger, fetcher: logging.Logger, *, attempts: int) -> None:
    for _ in range(attempts):
        client.error("Unable connect to node with id %s: %s", 1, ConnectionRefusedError(111, "Connect call failed"))
        client.error("Unable to update metadata from %s", [1])
        fetcher.error("Failed fetch messages from %s: %s", 1, "NodeNotReadyError")
        logging.getLogger("aiokafka.consumer.group_coordinator").error("Heartbeat failed: %r", "KafkaConnectionError")
    cluster.debug("Updated cluster metadata to %s", "ClusterMetadata(brokers: 1)")


def test_an_outage_is_one_line_down_and_one_line_back(logged: Callable[[], list[str]]) -> None:
    client, cluster, fetcher = (logging.getLogger(n) for n in ("aiokafka.client", "aiokafka.cluster", "aiokafka.consumer.fetcher"))
    cluster.debug("Updated cluster metadata to %s", "before any outage: not logged")
    _outage(client, cluster, fetcher, attempts=50)
    logging.getLogger("komagane.outbox").warning("an ordinary warning of our own")
    _outage(client, cluster, fetcher, attempts=3)
    messages = logged()
    assert len(messages) == 5, messages
    assert messages[0].startswith("Kafka broker unreachable since ") and "Unable connect to node with id 1" in messages[0]
    assert messages[1].startswith("Kafka broker back after ") and "unreachable since" in messages[1]
    assert messages[2] == "an ordinary warning of our own"
    assert messages[3].startswith("Kafka broker unreachable since ") and messages[4].startswith("Kafka broker back after ")


def test_faust_idle_partition_warnings_are_dropped_and_its_other_warnings_kept(logged: Callable[[], list[str]]) -> None:
    faust = logging.getLogger("faust.transport.drivers.aiokafka")
    faust.warning("Stream has not started processing %r (started %s).", "TP(topic='exchange.v1', partition=3)", "5 minutes ago")
    faust.warning("Has not committed %r at all since worker start (started %s).", "TP(topic='exchange.v1', partition=3)", "5 minutes ago")
    faust.warning("Timer commit woke up too late")
    assert logged() == ["Timer commit woke up too late"]


def test_the_gate_holds_when_another_handler_replaces_ours(logged: Callable[[], list[str]]) -> None:
    """faust's worker installs its own handler on the root logger: the clients' loggers are gated."""
    buffer = io.StringIO()
    root = logging.getLogger()
    root.handlers[:] = [logging.StreamHandler(buffer)]
    client, cluster, fetcher = (logging.getLogger(n) for n in ("aiokafka.client", "aiokafka.cluster", "aiokafka.consumer.fetcher"))
    _outage(client, cluster, fetcher, attempts=20)
    lines = buffer.getvalue().splitlines()
    assert len(lines) == 2, lines
    assert lines[0].startswith("Kafka broker unreachable since ") and lines[1].startswith("Kafka broker back after ")
