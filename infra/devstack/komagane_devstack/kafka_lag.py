"""Consumer lag per group, topic and partition from Kafka's admin API, for Prometheus.

`python -m komagane_devstack.kafka_lag --port 9308` serves `/metrics` on 127.0.0.1 with the
names the compose deployment's kafka-exporter uses, so the one set of alert rules
(infra/prometheus/rules) reads both:

  kafka_consumergroup_lag{consumergroup, topic, partition}     end offset − committed offset
  kafka_consumergroup_current_offset{consumergroup, topic, partition}
  kafka_topic_partition_current_offset{topic, partition}       end offset (a DLQ's depth)
  kafka_exporter_up                                             1 when the broker answered this scrape

Every scrape asks the broker afresh (three admin calls); a broker that does not answer gives
`kafka_exporter_up 0` and no other series, so an alert on lag goes quiet rather than stale.
Connection settings: KAFKA_BOOTSTRAP_SERVERS and the operator's login (KAFKA_SASL_*).
"""

from __future__ import annotations

import argparse
import logging
import os
import time
from collections.abc import Iterator

from confluent_kafka import ConsumerGroupTopicPartitions, TopicPartition
from confluent_kafka.admin import AdminClient, OffsetSpec
from prometheus_client.core import REGISTRY, GaugeMetricFamily
from prometheus_client.registry import Collector

from komagane_kit.kafka import KafkaAuth

log = logging.getLogger("komagane.kafka_lag")
TIMEOUT = 5.0


class LagCollector(Collector):
    def __init__(self, bootstrap: str, auth: KafkaAuth | None) -> None:
        config: dict[str, str | int | float | bool] = {"bootstrap.servers": bootstrap, "socket.timeout.ms": int(TIMEOUT * 1000), "log_level": 3}
        if auth is not None:
            config |= auth.librdkafka()
        self.admin = AdminClient(config)
        self._broker_up: bool | None = None

    def collect(self) -> Iterator[GaugeMetricFamily]:
        up = GaugeMetricFamily("kafka_exporter_up", "1 when the broker answered this scrape")
        try:
            families = self._families()
        except Exception as exc:  # the broker is away or refused: say so once, not per scrape
            self._state(False, exc)
            up.add_metric([], 0)
            yield up
            return
        self._state(True, None)
        up.add_metric([], 1)
        yield up
        yield from families

    def _state(self, answered: bool, exc: Exception | None) -> None:
        if answered != self._broker_up:
            if answered:
                log.info("broker answering")
            else:
                log.warning("broker not answering: %s", exc)
        self._broker_up = answered

    def _families(self) -> list[GaugeMetricFamily]:
        groups = [g.group_id for g in self.admin.list_consumer_groups(request_timeout=TIMEOUT).result(timeout=TIMEOUT).valid]
        committed: dict[tuple[str, str, int], int] = {}
        for group in groups:
            request = [ConsumerGroupTopicPartitions(group)]
            for future in self.admin.list_consumer_group_offsets(request, request_timeout=TIMEOUT).values():
                for tp in future.result(timeout=TIMEOUT).topic_partitions or []:
                    if tp.offset >= 0:
                        committed[(group, tp.topic, tp.partition)] = tp.offset
        metadata = self.admin.list_topics(timeout=TIMEOUT)
        partitions = [TopicPartition(t, p) for t, topic in metadata.topics.items() if not t.startswith("__") for p in topic.partitions]
        ends: dict[tuple[str, int], int] = {}
        if partitions:
            latest = OffsetSpec.latest()  # type: ignore[no-untyped-call]
            for tp, future in self.admin.list_offsets({tp: latest for tp in partitions}, request_timeout=TIMEOUT).items():
                ends[(tp.topic, tp.partition)] = future.result(timeout=TIMEOUT).offset

        labels = ["consumergroup", "topic", "partition"]
        lag = GaugeMetricFamily("kafka_consumergroup_lag", "Messages a consumer group has yet to commit, per partition", labels=labels)
        current = GaugeMetricFamily("kafka_consumergroup_current_offset", "A consumer group's committed offset", labels=labels)
        for (group, topic, partition), offset in sorted(committed.items()):
            end = ends.get((topic, partition))
            current.add_metric([group, topic, str(partition)], offset)
            if end is not None:
                lag.add_metric([group, topic, str(partition)], max(end - offset, 0))
        topic_end = GaugeMetricFamily("kafka_topic_partition_current_offset", "A partition's end offset", labels=["topic", "partition"])
        for (topic, partition), end in sorted(ends.items()):
            topic_end.add_metric([topic, str(partition)], end)
        return [lag, current, topic_end]


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m komagane_devstack.kafka_lag")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    from prometheus_client import start_http_server

    REGISTRY.register(LagCollector(os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092"), KafkaAuth.from_env()))
    start_http_server(args.port, addr="127.0.0.1")
    log.info("serving consumer lag on http://127.0.0.1:%d/metrics", args.port)
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    main()
