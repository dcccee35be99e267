"""Configuration from environment variables, with defaults that work on a laptop."""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class ServiceSettings(BaseSettings):
    """Settings every service has. Services subclass this and add their own fields.

    Variables are unprefixed (`DATABASE_URL`, `KAFKA_BOOTSTRAP_SERVERS`, …) because each process
    runs one service with its own environment.
    """

    model_config = SettingsConfigDict(env_file=None, extra="ignore")

    service_name: str = "service"
    database_url: str = "sqlite:///./.data/service.db"
    kafka_bootstrap_servers: str = "127.0.0.1:9092"
    # Brokers in the cluster: topics this service creates (and faust's) are replicated for it
    # (komagane_contracts.topics.replication_for: 1 → 1/1, 3 → 3/2).
    kafka_brokers: int = Field(default=1, ge=1)
    redis_url: str = "redis://127.0.0.1:6379/0"
    log_level: str = "INFO"
    # Largest request body accepted, in bytes; larger ones get 413 before any parsing.
    max_body_bytes: int = 64 * 1024
    # Outbox relay: how often to look for rows when not woken by a commit, and batch size.
    outbox_poll_seconds: float = 1.0
    outbox_batch_size: int = 500
    # How long the relay lets further commits gather once woken by one: each batch costs two
    # transactions and a produce request whatever its size, so a few milliseconds of latency
    # buy a fraction of that per event under load.
    outbox_linger_seconds: float = 0.01
    # Retry backoff of the relay while Kafka is unreachable.
    outbox_backoff_max_seconds: float = 5.0
    run_migrations: bool = True
    # Serve the routes declared with a fast path through it (komagane_kit.fastpath); off, every
    # request takes the full FastAPI path (for comparing the two in the benchmarks).
    fast_paths: bool = True
    # How long the broker may hold a fetch of the service's consumer to gather more events
    # (komagane_kit.consumer); 0 answers at once. A longer wait means fewer, larger transactions.
    consumer_fetch_wait_ms: int = 0
    # Shared secret of the internal tokens the gateway signs (komagane_kit.internal_auth). No
    # default: without it a service refuses every request but its probes. The devstack generates
    # one per run; in production it comes from the secret store.
    internal_token_secret: SecretStr = SecretStr("")
