"""The whole platform on one machine: infrastructure first, then services, stopped in reverse."""

from __future__ import annotations

import logging
import os
import secrets
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from komagane_devstack.infra import PostgresServer, RedisServer
from komagane_devstack.kafka_cluster import KafkaCluster
from komagane_devstack.observe import Observability
from komagane_devstack.process import ManagedProcess
from komagane_devstack.services import ServiceProcess
from komagane_devstack.supervisor import RestartPolicy, Supervisor
from komagane_gateway.settings import GatewaySettings
from komagane_gateway.tokens import mint_token

log = logging.getLogger(__name__)


@dataclass
class StackConfig:
    data_dir: Path
    # None: pick free ports (tests); fixed numbers for `make up`.
    kafka_port: int | None = None
    # Kafka nodes: 1 (`make up`), or 3 for a replicated cluster that survives a node's loss.
    kafka_brokers: int = 1
    redis_port: int | None = None
    gateway_port: int | None = None
    profiles_port: int | None = None
    console_port: int | None = None
    # Fixed ports of pillar services by name; missing ones get free ports.
    service_ports: dict[str, int] = field(default_factory=dict)
    # "sqlite" (embedded default) or "postgresql" (a throw-away cluster, as in CI).
    database: str = "sqlite"
    postgres_dir: Path | None = None
    extra_env: dict[str, str] = field(default_factory=dict)
    # Profile processor workers in the one consumer group (they split the input partitions);
    # each keeps its own store.
    profiles_workers: int = 1
    # Restart a child that dies (supervisor.py); tests that kill processes rely on it too.
    supervise: bool = True
    restart_policy: RestartPolicy = field(default_factory=RestartPolicy)
    # The operator's view (observe.py): Zipkin and Prometheus, every process exporting to them.
    observe: bool = False
    zipkin_port: int | None = None
    prometheus_port: int | None = None
    # Tests only: every alert rule's `for:` replaced by this duration.
    alert_for: str | None = None


# The services with a database (the five pillars and partners): name, module to run. Each gets
# its own database and Kafka login named after it.
PILLARS: tuple[tuple[str, str], ...] = (
    ("people", "komagane_people.main"),
    ("exchange", "komagane_exchange.main"),
    ("jobs", "komagane_jobs.main"),
    ("health", "komagane_health.main"),
    ("housing", "komagane_housing.main"),
    ("partners", "komagane_partners.main"),
)


def _stored_secret(path: Path) -> str:
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as f:
            f.write(secrets.token_urlsafe(48))
    return path.read_text().strip()


class Stack:
    def __init__(self, config: StackConfig, *, postgres: PostgresServer | None = None) -> None:
        self.config = config
        self.log_dir = config.data_dir / "logs"
        self.kafka = KafkaCluster(config.data_dir / "kafka", self.log_dir, brokers=config.kafka_brokers, port=config.kafka_port)
        self.redis = RedisServer(self.log_dir, port=config.redis_port)
        # A PostgreSQL server handed in is shared (the test harness's) and not started or stopped here.
        self._owns_postgres = postgres is None
        self.postgres: PostgresServer | None = postgres
        if postgres is None and config.database == "postgresql":
            self.postgres = PostgresServer(config.postgres_dir or config.data_dir / "postgres", self.log_dir)
        self.pillars: dict[str, ServiceProcess] = {}
        self.profiles: ServiceProcess | None = None
        self.profiles_extra: list[ServiceProcess] = []  # workers 2… (StackConfig.profiles_workers)
        self.gateway: ServiceProcess | None = None
        self.console: ServiceProcess | None = None
        self.timings: dict[str, float] = {}
        # The services trust the caller identity the gateway signs with this; a fresh one per run,
        # held in memory and handed to every process (never written to the repository).
        self.internal_token_secret = secrets.token_urlsafe(48)
        # The gateway's data: its development signing key, generated there on first start.
        self.gateway_data_dir = config.data_dir / "gateway"
        self.supervisor = Supervisor(config.restart_policy)
        self.observe: Observability | None = None
        if config.observe:
            self.observe = Observability(
                config.data_dir, self.log_dir, zipkin_port=config.zipkin_port, prometheus_port=config.prometheus_port, alert_for=config.alert_for
            )

    def telemetry_env(self, name: str) -> dict[str, str]:
        """Where process `name` sends its spans and serves its metrics (nothing without `observe`)."""
        return self.observe.service_env(name) if self.observe is not None else {}

    def database_url(self, service: str) -> str:
        if self.postgres is not None:
            return self.postgres.create_database(service)
        return f"sqlite:///{self.config.data_dir / f'{service}.db'}"

    def common_env(self) -> dict[str, str]:
        return {
            "KAFKA_BOOTSTRAP_SERVERS": self.kafka.bootstrap,
            "KAFKA_BROKERS": str(self.kafka.brokers),
            "REDIS_URL": self.redis.url,
            "INTERNAL_TOKEN_SECRET": self.internal_token_secret,
            **self.config.extra_env,
        }

    def service_secrets(self, name: str) -> dict[str, str]:
        """Secrets one service needs beyond the common ones, kept in the data dir (mode 600)."""
        if name != "partners":
            return {}
        # Stable across restarts of `make up`: partners' pseudonyms must not change under them.
        return {"PARTNER_PSEUDONYM_SECRET": _stored_secret(self.config.data_dir / "partners-pseudonym.secret")}

    def mint_token(self, role: str = "admin", *, subject: str | None = None, hub_id: str | None = None, ttl_seconds: int = 3600) -> str:
        """A bearer token for the gateway, signed with its development key (demo loader, tests, benchmarks)."""
        return mint_token(GatewaySettings(data_dir=self.gateway_data_dir), role, subject=subject, hub_id=hub_id, ttl_seconds=ttl_seconds)

    def start(self) -> None:
        began = time.monotonic()
        infra = [self.kafka.start, self.redis.start] + ([self.postgres.start] if self.postgres and self._owns_postgres else [])
        with ThreadPoolExecutor(max_workers=len(infra)) as pool:
            for future in [pool.submit(step) for step in infra]:
                future.result()
        self.timings["kafka_ready_s"] = self.kafka.started_in or 0.0
        self.kafka.create_topics()
        if self.observe is not None:
            # After the broker, not beside it: two JVMs starting at once slow both on two cores.
            # Spans of the services' first seconds are dropped until Zipkin answers.
            self.observe.launch_trace_store()
        env = self.common_env()
        for name, module in PILLARS:
            service_env = {
                **env,
                **self.kafka.auth(name).env(),
                **self.service_secrets(name),
                **self.telemetry_env(name),
                "DATABASE_URL": self.database_url(name),
            }
            self.pillars[name] = ServiceProcess(name, module, self.log_dir, port=self.config.service_ports.get(name), env=service_env)
        profiles_env = {**env, **self.kafka.auth("profiles").env()}
        self.profiles = ServiceProcess(
            "profiles",
            "komagane_profiles",
            self.log_dir,
            port=self.config.profiles_port,
            port_env="PROFILES_WEB_PORT",
            # One static group member per worker and data dir: a restart gets its partitions at once.
            env={
                **profiles_env,
                **self.telemetry_env("profiles"),
                "PROFILES_DATA_DIR": str(self.config.data_dir / "profiles"),
                "PROFILES_INSTANCE_ID": "profiles-1",
            },
        )
        self.profiles_extra = [
            ServiceProcess(
                f"profiles-{n}",
                "komagane_profiles",
                self.log_dir,
                port_env="PROFILES_WEB_PORT",
                env={
                    **profiles_env,
                    **self.telemetry_env(f"profiles-{n}"),
                    "PROFILES_DATA_DIR": str(self.config.data_dir / f"profiles-{n}"),
                    "PROFILES_INSTANCE_ID": f"profiles-{n}",
                },
            )
            for n in range(2, self.config.profiles_workers + 1)
        ]
        with ThreadPoolExecutor(max_workers=len(self.pillars) + 1 + len(self.profiles_extra)) as pool:
            for future in [pool.submit(s.start) for s in [*self.pillars.values(), self.profiles, *self.profiles_extra]]:
                future.result()
        upstreams = {f"{name.upper()}_URL": service.url for name, service in self.pillars.items()}
        gateway_env = {**env, **upstreams, **self.telemetry_env("gateway"), "DATA_DIR": str(self.gateway_data_dir)}
        self.gateway = ServiceProcess("gateway", "komagane_gateway.main", self.log_dir, port=self.config.gateway_port, env=gateway_env)
        self.gateway.start()
        # The web console: a client of the gateway's public API like any frontend; its development
        # sign-in mints tokens with the gateway's key and reads the demo town's ids.
        console_env = {
            "GATEWAY_URL": self.gateway.url,
            "SESSION_SECRET": _stored_secret(self.config.data_dir / "console-session.secret"),
            "DEV_GATEWAY_DATA_DIR": str(self.gateway_data_dir),
            "DEMO_TOWN_FILE": str(self.config.data_dir / "town.json"),
            **self.config.extra_env,
            **self.telemetry_env("console"),
        }
        self.console = ServiceProcess("console", "komagane_console.main", self.log_dir, port=self.config.console_port, env=console_env)
        self.console.start()
        if self.observe is not None:
            self.observe.wait_trace_store()
            self.observe.start_metrics(kafka_bootstrap=self.kafka.bootstrap, kafka_env=self.kafka.admin.env(), redis_url=self.redis.url)
        self.timings["stack_ready_s"] = time.monotonic() - began
        if self.config.supervise:
            for process in self.managed():
                self.supervisor.watch(process)
            self.supervisor.start()

    def managed(self) -> list[ManagedProcess]:
        """Every child process this stack started (a PostgreSQL handed in is not its own)."""
        infra = [*self.kafka.processes, self.redis.process]
        if self.postgres is not None and self._owns_postgres:
            infra.append(self.postgres.process)
        observe = self.observe.processes() if self.observe is not None else []
        return infra + [s.process for s in self.services()] + observe

    def processes(self) -> dict[str, int]:
        """Resident memory (KiB) of every process, for the closing figures."""
        out = {p.name: p.rss_kib() for p in self.kafka.processes} | {"redis": self.redis.process.rss_kib()}
        for service in self.services():
            out[service.name] = service.process.rss_kib()
        for process in self.observe.processes() if self.observe is not None else []:
            out[process.name] = process.rss_kib()
        return out

    def cpu_seconds(self) -> dict[str, float]:
        """CPU time used so far by every process (PostgreSQL's too, when the stack runs it)."""
        out = {p.name: p.cpu_seconds() for p in self.kafka.processes} | {"redis": self.redis.process.cpu_seconds()}
        if self.postgres is not None and self._owns_postgres:
            out["postgres"] = self.postgres.process.cpu_seconds()
        for service in self.services():
            out[service.name] = service.process.cpu_seconds()
        for process in self.observe.processes() if self.observe is not None else []:
            out[process.name] = process.cpu_seconds()
        return out

    @property
    def people(self) -> ServiceProcess | None:
        return self.pillars.get("people")

    def services(self) -> list[ServiceProcess]:
        return [*self.pillars.values(), *self.profiles_extra] + [s for s in (self.profiles, self.gateway, self.console) if s is not None]

    def stop(self) -> None:
        self.supervisor.stop()
        for service in reversed(self.services()):
            service.stop()
        if self.observe is not None:
            self.observe.stop()
        self.kafka.stop()
        self.redis.stop()
        if self.postgres is not None and self._owns_postgres:
            self.postgres.stop()

    def log_tails(self) -> str:
        parts = [*self.kafka.processes, self.redis.process] + [s.process for s in self.services()]
        parts += self.observe.processes() if self.observe is not None else []
        return "\n".join(f"--- {p.name} ---\n{p.log_tail()}" for p in parts)
