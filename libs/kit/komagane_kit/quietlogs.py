"""One log line per change of the broker's state instead of a stream of connection errors.

While Kafka is away, aiokafka logs every failed attempt (connect, metadata, fetch, heartbeat,
commit) several times a second, and faust adds "Broker stopped responding"; meanwhile the
outbox relay and the consumers simply retry. `BrokerLogGate`, a filter on the clients' own
loggers (so it holds whichever handler prints them: faust's worker installs its own), turns the
first such record into

    Kafka broker unreachable since 12:03:04Z (Unable connect to node with id 1: …)

drops the rest, and turns the client's next successful metadata update (a debug record of
`aiokafka.cluster`, enabled for that) into

    Kafka broker back after 42 s (unreachable since 12:03:04Z)

It also drops faust's "Stream has not started processing" and "Has not committed … at all
since worker start", which faust raises for partitions that simply had nothing to read yet.
"""

from __future__ import annotations

import logging
import pkgutil
import re
import threading
from datetime import UTC, datetime

# aiokafka's and faust's words for "the broker did not answer" (WARNING and above only).
_UNREACHABLE = re.compile(
    r"Unable connect|Unable to (update|request) metadata|Failed fetch|Heartbeat|Group Coordinator|coordinator dead|"
    r"OffsetCommit failed|Failed to commit|Auto offset commit failed|Got error produce response|KafkaConnectionError|"
    r"NodeNotReady|Connection (at|to) .* (lost|closed)|Broker stopped responding",
    re.IGNORECASE,
)
_BACK = "Updated cluster metadata"
# Warnings faust raises for a partition that has had nothing to read: not an alarm.
_IDLE_FALSE_ALARMS = ("Stream has not started processing", "at all since worker start")
_CLIENT_LOGGERS = ("aiokafka", "faust", "mode")
# faust's modules that report fetches, commits and idle partitions.
_FAUST_LOGGERS = ("faust.transport.drivers.aiokafka", "faust.transport.consumer", "faust.transport.producer")


class BrokerLogGate(logging.Filter):
    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self.down_since: float | None = None  # wall-clock time of the first error of an outage

    def filter(self, record: logging.LogRecord) -> bool:
        if not record.name.startswith(_CLIENT_LOGGERS):
            return True
        message = record.getMessage()
        if record.name.startswith("aiokafka.cluster") and message.startswith(_BACK):
            return self._back(record)
        if record.levelno < logging.WARNING:
            # aiokafka.cluster is at DEBUG only for the "back" signal above: nothing else of it.
            return not record.name.startswith("aiokafka.cluster")
        if any(alarm in message for alarm in _IDLE_FALSE_ALARMS):
            return False
        if _UNREACHABLE.search(message):
            return self._down(record, message)
        return True

    def _down(self, record: logging.LogRecord, message: str) -> bool:
        with self._lock:
            if self.down_since is not None:
                return False
            self.down_since = record.created
        since = datetime.fromtimestamp(record.created, UTC).strftime("%H:%M:%SZ")
        _rewrite(record, logging.WARNING, f"Kafka broker unreachable since {since} ({message[:300]})")
        return True

    def _back(self, record: logging.LogRecord) -> bool:
        with self._lock:
            since, self.down_since = self.down_since, None
        if since is None:
            return False
        started = datetime.fromtimestamp(since, UTC).strftime("%H:%M:%SZ")
        _rewrite(record, logging.INFO, f"Kafka broker back after {record.created - since:.0f} s (unreachable since {started})")
        return True


def _rewrite(record: logging.LogRecord, level: int, message: str) -> None:
    record.levelno, record.levelname = level, logging.getLevelName(level)
    record.msg, record.args = message, None
    record.exc_info = record.exc_text = None


_installed: BrokerLogGate | None = None


def install() -> BrokerLogGate:
    """Gate every aiokafka module's logger and faust's transport loggers (a new gate replaces the
    previous one), and let aiokafka's metadata updates through to it (the "back" signal)."""
    global _installed
    gate = BrokerLogGate()
    for name in client_logger_names():
        logger = logging.getLogger(name)
        if _installed is not None:
            logger.removeFilter(_installed)
        logger.addFilter(gate)
    _installed = gate
    logging.getLogger("aiokafka.cluster").setLevel(logging.DEBUG)
    return gate


def client_logger_names() -> list[str]:
    import aiokafka

    modules = [m.name for m in pkgutil.walk_packages(aiokafka.__path__, "aiokafka.")]
    return ["aiokafka", *modules, *_FAUST_LOGGERS]
