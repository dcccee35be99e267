"""The operator's view on one machine: Zipkin (traces, with its UI) and Prometheus (metrics, alerts).

Started by the stack before the services when `StackConfig.observe` is on (`make up` by default,
`KOMAGANE_OBSERVE=0` skips it). Every service sends its spans straight to Zipkin
(`OTEL_EXPORTER_ZIPKIN_ENDPOINT`) and serves its metrics for Prometheus to scrape
(`KOMAGANE_METRICS_PORT`); two small exporters add Kafka consumer lag (komagane_devstack.kafka_lag)
and Redis (Debian's prometheus-redis-exporter). Prometheus loads the alert rules from
infra/prometheus/rules, the same files the compose deployment mounts. docs/operations.md is the runbook.
"""

from __future__ import annotations

import re
import shutil
import sys
from pathlib import Path
from typing import Any

import httpx
import yaml

from komagane_devstack.paths import repo_root
from komagane_devstack.process import ManagedProcess, free_port, wait_until

PROMETHEUS_DIR = repo_root() / "infra" / "prometheus"


class Observability:
    def __init__(
        self,
        data_dir: Path,
        log_dir: Path,
        *,
        zipkin_port: int | None = None,
        prometheus_port: int | None = None,
        alert_for: str | None = None,
    ) -> None:
        self.data_dir = data_dir
        self.log_dir = log_dir
        # Test-only: every rule's `for:` replaced (pending → firing within a test's patience).
        self.alert_for = alert_for
        self.zipkin_port = zipkin_port or free_port()
        self.prometheus_port = prometheus_port or free_port()
        self.zipkin_url = f"http://127.0.0.1:{self.zipkin_port}"
        self.prometheus_url = f"http://127.0.0.1:{self.prometheus_port}"
        self.zipkin = ManagedProcess(
            "zipkin", ["bash", str(repo_root() / "infra" / "zipkin" / "zipkin.sh"), "start"], log_dir=log_dir, env={"ZIPKIN_PORT": str(self.zipkin_port)}
        )
        # One metrics port per process name (kept across its restarts: the scrape config names it).
        self.metrics_ports: dict[str, int] = {}
        self.exporters: list[ManagedProcess] = []
        self.prometheus: ManagedProcess | None = None

    def service_env(self, name: str) -> dict[str, str]:
        """What a service process needs to export to this stack (its metrics port is its own)."""
        port = self.metrics_ports.setdefault(name, free_port())
        return {"OTEL_EXPORTER_ZIPKIN_ENDPOINT": f"{self.zipkin_url}/api/v2/spans", "KOMAGANE_METRICS_PORT": str(port)}

    def launch_trace_store(self) -> None:
        """Start Zipkin without waiting: its JVM warms up while the services start."""
        self.zipkin.start()

    def wait_trace_store(self, timeout: float = 180.0) -> None:
        self.zipkin.start()  # nothing if launched already

        def ready() -> bool:
            self.zipkin.check_alive()
            try:
                return httpx.get(f"{self.zipkin_url}/health", timeout=2.0).status_code == 200
            except httpx.HTTPError:
                return False

        wait_until(ready, timeout=timeout, interval=0.5, what="Zipkin health")

    def start_metrics(self, *, kafka_bootstrap: str, kafka_env: dict[str, str], redis_url: str, timeout: float = 60.0) -> None:
        """The exporters, then Prometheus scraping every process named by `service_env` so far."""
        lag_port, redis_port = free_port(), free_port()
        self.exporters = [
            ManagedProcess(
                "kafka-lag-exporter",
                [sys.executable, "-m", "komagane_devstack.kafka_lag", "--port", str(lag_port)],
                log_dir=self.log_dir,
                env={"KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap, **kafka_env},
            ),
            ManagedProcess(
                "redis-exporter",
                [_binary("prometheus-redis-exporter"), f"--redis.addr={redis_url}", f"--web.listen-address=127.0.0.1:{redis_port}"],
                log_dir=self.log_dir,
            ),
        ]
        for exporter in self.exporters:
            exporter.start()
        config = self.write_config({"kafka": lag_port, "redis": redis_port})
        storage = self.data_dir / "prometheus" / "data"
        self.prometheus = ManagedProcess(
            "prometheus",
            [
                _binary("prometheus"),
                f"--config.file={config}",
                f"--storage.tsdb.path={storage}",
                "--storage.tsdb.retention.time=7d",
                f"--web.listen-address=127.0.0.1:{self.prometheus_port}",
            ],
            log_dir=self.log_dir,
        )
        self.prometheus.start()
        prometheus = self.prometheus

        def ready() -> bool:
            prometheus.check_alive()
            try:
                return httpx.get(f"{self.prometheus_url}/-/ready", timeout=2.0).status_code == 200
            except httpx.HTTPError:
                return False

        wait_until(ready, timeout=timeout, interval=0.3, what="Prometheus readiness")

    def write_config(self, exporter_ports: dict[str, int]) -> Path:
        """This run's Prometheus config from infra/prometheus/local.yml; returns its path."""
        out_dir = self.data_dir / "prometheus"
        out_dir.mkdir(parents=True, exist_ok=True)
        config: dict[str, Any] = yaml.safe_load((PROMETHEUS_DIR / "local.yml").read_text())
        config["rule_files"] = [str(self._rules_dir(out_dir) / "*.yml")]
        services = [
            # A profiles worker other than the first is still the profiles service.
            {"targets": [f"127.0.0.1:{port}"], "labels": {"service_name": re.sub(r"-\d+$", "", name), "process": name}}
            for name, port in sorted(self.metrics_ports.items())
        ]
        config["scrape_configs"] = [
            {"job_name": "komagane", "static_configs": services},
            {"job_name": "kafka", "static_configs": [{"targets": [f"127.0.0.1:{exporter_ports['kafka']}"]}]},
            {"job_name": "redis", "static_configs": [{"targets": [f"127.0.0.1:{exporter_ports['redis']}"]}]},
        ]
        path = out_dir / "prometheus.yml"
        path.write_text("# Written by komagane_devstack.observe from infra/prometheus/local.yml; do not edit.\n" + yaml.safe_dump(config, sort_keys=False))
        return path

    def _rules_dir(self, out_dir: Path) -> Path:
        source = PROMETHEUS_DIR / "rules"
        if self.alert_for is None:
            return source
        # Tests only: a copy with every `for:` shortened; the rules themselves stay one copy.
        target = out_dir / "rules-test"
        shutil.rmtree(target, ignore_errors=True)
        target.mkdir()
        for rule_file in source.glob("*.yml"):
            text = re.sub(r"^(\s+for:\s*)\S+", rf"\g<1>{self.alert_for}", rule_file.read_text(), flags=re.MULTILINE)
            (target / rule_file.name).write_text(text)
        return target

    def processes(self) -> list[ManagedProcess]:
        return [self.zipkin, *self.exporters, *([self.prometheus] if self.prometheus else [])]

    def stop(self) -> None:
        for process in reversed(self.processes()):
            process.stop()


def _binary(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise RuntimeError(f"{name} not found: run `make deps` (infra/scripts/install-system-deps.sh installs it)")
    return found
