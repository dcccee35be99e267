"""Kafka client settings, broker readiness and topic creation from the contract's registry."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError

from komagane_contracts.topics import TopicSpec, all_topic_specs

log = logging.getLogger(__name__)


def client_config(bootstrap_servers: str) -> dict[str, Any]:
    """How any client reaches the cluster (aiokafka keyword arguments): the one place for connection settings."""
    return {"bootstrap_servers": bootstrap_servers}


def java_client_properties(bootstrap_servers: str) -> dict[str, str]:
    """The same connection settings for Kafka's Java tools (`--producer-props`, `--consumer.config`)."""
    return {"bootstrap.servers": client_config(bootstrap_servers)["bootstrap_servers"]}


def producer_config(bootstrap_servers: str, *, client_id: str) -> dict[str, Any]:
    """Idempotent producer, acks from all in-sync replicas; small linger to batch bursts."""
    return {
        **client_config(bootstrap_servers),
        "client_id": client_id,
        "enable_idempotence": True,
        "acks": "all",
        "linger_ms": 5,
        "request_timeout_ms": 15000,
        "retry_backoff_ms": 200,
    }


async def cluster_ready(bootstrap_servers: str, timeout: float = 5.0) -> bool:
    """True when an admin metadata call succeeds (an open port is not enough)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers, request_timeout_ms=int(timeout * 1000))
    try:
        await asyncio.wait_for(admin.start(), timeout)
        cluster = await asyncio.wait_for(admin.describe_cluster(), timeout)
        return bool(cluster.get("brokers"))
    except (KafkaError, OSError, TimeoutError):
        return False
    finally:
        await admin.close()


async def wait_for_cluster(bootstrap_servers: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await cluster_ready(bootstrap_servers, timeout=min(5.0, max(0.5, deadline - time.monotonic()))):
            return
        await asyncio.sleep(0.2)
    raise TimeoutError(f"Kafka at {bootstrap_servers} not ready after {timeout:.0f}s")


async def ensure_topics(bootstrap_servers: str, specs: list[TopicSpec] | None = None) -> list[str]:
    """Create every registered topic that does not exist yet; returns the names created."""
    specs = specs if specs is not None else all_topic_specs()
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [s for s in specs if s.name not in existing]
        created: list[str] = []
        for spec in missing:
            topic = NewTopic(
                name=spec.name,
                num_partitions=spec.partitions,
                replication_factor=spec.replication_factor,
                topic_configs=spec.config(),
            )
            try:
                response = await admin.create_topics([topic])
            except TopicAlreadyExistsError:
                continue
            for name, code, *rest in getattr(response, "topic_errors", getattr(response, "topics", [])):
                if code not in (0, TopicAlreadyExistsError.errno):
                    raise RuntimeError(f"creating topic {name} failed: error {code} {rest}")
            created.append(spec.name)
        if created:
            log.info("created topics: %s", ", ".join(created))
        return created
    finally:
        await admin.close()


def main() -> None:
    """`python -m komagane_kit.kafka [bootstrap]`: wait for the broker, create the topics."""
    import sys

    bootstrap = sys.argv[1] if len(sys.argv) > 1 else "127.0.0.1:9092"

    async def run() -> None:
        await wait_for_cluster(bootstrap)
        for name in await ensure_topics(bootstrap):
            print(f"created {name}")

    asyncio.run(run())


if __name__ == "__main__":
    main()
