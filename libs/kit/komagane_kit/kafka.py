"""Kafka client settings, broker readiness and topic creation from the contract's registry.

Every Kafka client of the platform (outbox relays, consumers, the faust processor, admin calls,
tests and benchmarks) takes its connection options from `client_options`, so the broker's
security (SASL/SCRAM over the loopback listener, see infra/kafka) is configured in one place.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from dataclasses import dataclass
from typing import Any, Protocol

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError

from komagane_contracts.topics import TopicSpec, all_topic_specs, replication_for

log = logging.getLogger(__name__)


SCRAM_MECHANISM = "SCRAM-SHA-512"
# How long closing one client may take: with the broker away, a producer's flush or a
# consumer's leave-group request would otherwise wait for timeouts far longer than a shutdown.
CLOSE_SECONDS = 2.0
# Closing a client that never connected, or whose unsent messages are kept elsewhere (the
# outbox): nothing worth waiting for.
ABANDON_SECONDS = 0.5


@dataclass(frozen=True)
class KafkaAuth:
    """A SASL/SCRAM principal; `None` in place of one means an unauthenticated (PLAINTEXT) broker."""

    username: str
    password: str
    mechanism: str = SCRAM_MECHANISM

    @classmethod
    def from_env(cls) -> KafkaAuth | None:
        """The process's own principal: KAFKA_SASL_USERNAME / KAFKA_SASL_PASSWORD (/ KAFKA_SASL_MECHANISM).
        A deployment with secret files gives KAFKA_SASL_PASSWORD_FILE, the path of the password, instead."""
        username = os.environ.get("KAFKA_SASL_USERNAME")
        if not username:
            return None
        password = os.environ.get("KAFKA_SASL_PASSWORD", "")
        if not password and (path := os.environ.get("KAFKA_SASL_PASSWORD_FILE")):
            with open(path, encoding="utf-8") as f:
                password = f.read().strip()
        return cls(username, password, os.environ.get("KAFKA_SASL_MECHANISM", SCRAM_MECHANISM))

    def env(self) -> dict[str, str]:
        """The environment that makes `from_env` return this principal in a child process."""
        return {"KAFKA_SASL_USERNAME": self.username, "KAFKA_SASL_PASSWORD": self.password, "KAFKA_SASL_MECHANISM": self.mechanism}

    def librdkafka(self) -> dict[str, str]:
        """The same principal for librdkafka clients (kcat, confluent-kafka)."""
        return {"security.protocol": "SASL_PLAINTEXT", "sasl.mechanisms": self.mechanism, "sasl.username": self.username, "sasl.password": self.password}


_FROM_ENV: Any = object()


class Stoppable(Protocol):
    async def stop(self) -> None: ...


async def stop_client(client: Stoppable, *, name: str, timeout: float = CLOSE_SECONDS) -> None:
    """Stop an aiokafka producer or consumer within `timeout`, whatever the broker's state.

    With the broker away, `stop()` may wait for a flush or a leave-group answer that never
    comes, or fail: aiokafka's consumer raises the CancelledError of a fetch it was retrying.
    Either way what is left is dropped (an outbox row stays unpublished, an offset is fetched
    again on the next start), so a stop logs it and returns; a cancellation of the caller
    itself still propagates.
    """
    try:
        async with asyncio.timeout(timeout):
            await client.stop()
    except asyncio.CancelledError:
        task = asyncio.current_task()
        if task is not None and task.cancelling():
            raise
        log.info("%s closed while the broker is away", name)
    except (TimeoutError, KafkaError, OSError) as exc:
        log.info("%s closed while the broker is away: %s", name, type(exc).__name__)


def client_options(bootstrap_servers: str, auth: KafkaAuth | None = _FROM_ENV) -> dict[str, Any]:
    """aiokafka connection options: bootstrap plus SASL when a principal is given (default: from env)."""
    if auth is _FROM_ENV:
        auth = KafkaAuth.from_env()
    options: dict[str, Any] = {"bootstrap_servers": bootstrap_servers}
    if auth is not None:
        options |= {
            "security_protocol": "SASL_PLAINTEXT",
            "sasl_mechanism": auth.mechanism,
            "sasl_plain_username": auth.username,
            "sasl_plain_password": auth.password,
        }
    return options


def java_client_properties(bootstrap_servers: str, auth: KafkaAuth | None = _FROM_ENV) -> dict[str, str]:
    """The same connection settings for Kafka's Java tools (`--producer-props`, `--consumer.config`)."""
    if auth is _FROM_ENV:
        auth = KafkaAuth.from_env()
    props = {"bootstrap.servers": bootstrap_servers}
    if auth is not None:
        jaas = f'org.apache.kafka.common.security.scram.ScramLoginModule required username="{auth.username}" password="{auth.password}";'
        props |= {"security.protocol": "SASL_PLAINTEXT", "sasl.mechanism": auth.mechanism, "sasl.jaas.config": jaas}
    return props


def producer_config(bootstrap_servers: str, *, client_id: str, auth: KafkaAuth | None = _FROM_ENV) -> dict[str, Any]:
    """Idempotent producer, acks from all in-sync replicas; small linger to batch bursts."""
    return {
        **client_options(bootstrap_servers, auth),
        "client_id": client_id,
        "enable_idempotence": True,
        "acks": "all",
        "linger_ms": 5,
        "request_timeout_ms": 15000,
        "retry_backoff_ms": 200,
    }


async def cluster_ready(bootstrap_servers: str, timeout: float = 5.0, auth: KafkaAuth | None = _FROM_ENV) -> bool:
    """True when an admin metadata call succeeds (an open port is not enough)."""
    admin = AIOKafkaAdminClient(**client_options(bootstrap_servers, auth), request_timeout_ms=int(timeout * 1000))
    try:
        await asyncio.wait_for(admin.start(), timeout)
        cluster = await asyncio.wait_for(admin.describe_cluster(), timeout)
        return bool(cluster.get("brokers"))
    except (KafkaError, OSError, TimeoutError):
        return False
    finally:
        await admin.close()


async def wait_for_cluster(bootstrap_servers: str, timeout: float = 60.0, auth: KafkaAuth | None = _FROM_ENV) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await cluster_ready(bootstrap_servers, timeout=min(5.0, max(0.5, deadline - time.monotonic())), auth=auth):
            return
        await asyncio.sleep(0.2)
    raise TimeoutError(f"Kafka at {bootstrap_servers} not ready after {timeout:.0f}s")


async def ensure_topics(bootstrap_servers: str, specs: list[TopicSpec] | None = None, auth: KafkaAuth | None = _FROM_ENV, *, brokers: int = 1) -> list[str]:
    """Create every registered topic that does not exist yet, replicated as a cluster of `brokers`
    calls for (komagane_contracts.topics.replication_for); returns the names created."""
    specs = specs if specs is not None else all_topic_specs()
    admin = AIOKafkaAdminClient(**client_options(bootstrap_servers, auth))
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [s for s in specs if s.name not in existing]
        created: list[str] = []
        for spec in missing:
            topic = NewTopic(
                name=spec.name,
                num_partitions=spec.partitions,
                replication_factor=replication_for(brokers).factor,
                topic_configs=spec.config(brokers),
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
