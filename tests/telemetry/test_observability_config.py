"""Collector, Prometheus and Grafana configuration: wired to each other and to the compose files."""

from __future__ import annotations

import re
from typing import Any

from komagane_kit.telemetry import scrub_attributes
from tests.telemetry.deployment import (
    COLLECTOR_CONFIG,
    CORE,
    EXPORTER_METRICS,
    GRAFANA,
    OVERLAY,
    PROMETHEUS_CONFIG,
    alert_rules,
    dashboard_queries,
    dashboards,
    load_yaml,
    resolved,
)

PERSONAL_AND_S2_KEYS = [
    "display_name",
    "contact",
    "birth_year",
    "person.display_name",
    "health.measurement.systolic",
    "care_level",
    "disability",
    "advice.notes",
]
OPERATIONAL_KEYS = ["http.route", "server.address", "messaging.destination.name", "cloudevents.event_type", "service.name", "http.status_code"]


def _collector() -> dict[str, Any]:
    return load_yaml(COLLECTOR_CONFIG)


def test_collector_pipelines_otlp_in_zipkin_and_prometheus_out_with_span_metrics() -> None:
    config = _collector()
    pipelines = config["service"]["pipelines"]
    assert "otlp" in config["receivers"]
    assert pipelines["traces"]["receivers"] == ["otlp"]
    assert set(pipelines["traces"]["exporters"]) == {"zipkin", "spanmetrics"}
    assert config["exporters"]["zipkin"]["endpoint"] == "http://zipkin:9411/api/v2/spans"
    assert pipelines["metrics"]["receivers"] == ["otlp"] and pipelines["metrics"]["exporters"] == ["prometheus"]
    assert pipelines["metrics/spanmetrics"] == {**pipelines["metrics/spanmetrics"], "receivers": ["spanmetrics"], "exporters": ["prometheus"]}
    assert "spanmetrics" in config["connectors"]
    for name, pipeline in pipelines.items():
        assert pipeline["processors"][0] == "memory_limiter", f"{name}: memory_limiter must come first"
        assert pipeline["processors"][-1] == "batch", name
        for processor in pipeline["processors"]:
            assert processor in config["processors"], processor
    for name in ("traces", "metrics"):
        assert "attributes/personal" in pipelines[name]["processors"], name
    assert "redaction" in pipelines["traces"]["processors"]
    assert config["service"]["extensions"] == ["health_check"]


def test_collector_drops_the_same_personal_and_s2_keys_as_the_services() -> None:
    actions = _collector()["processors"]["attributes/personal"]["actions"]
    assert all(a["action"] == "delete" for a in actions)
    keys = {a["key"] for a in actions if "key" in a}
    patterns = [re.compile(a["pattern"]) for a in actions if "pattern" in a]

    def dropped(key: str) -> bool:
        return key in keys or any(p.search(key) for p in patterns)

    for key in PERSONAL_AND_S2_KEYS:
        assert dropped(key), key
        assert key not in scrub_attributes({key: "x"}), key
    for key in OPERATIONAL_KEYS:
        assert not dropped(key), key
        assert key in scrub_attributes({key: "x"}), key
    assert scrub_attributes({"http.url": "http://people:8101/v1/people?display_name=X"}) == {"http.url": "http://people:8101/v1/people"}


def test_prometheus_scrapes_the_collector_and_the_exporters_and_loads_the_rules() -> None:
    config = load_yaml(PROMETHEUS_CONFIG)
    targets = {t for job in config["scrape_configs"] for static in job["static_configs"] for t in static["targets"]}
    port = _collector()["exporters"]["prometheus"]["endpoint"].rsplit(":", 1)[1]
    assert f"otel-collector:{port}" in targets
    services = resolved(CORE, OVERLAY)["services"]
    for exporter in EXPORTER_METRICS:
        assert exporter in services and any(t.startswith(f"{exporter}:") for t in targets), exporter
    mounts = {v["target"]: v["source"] for v in services["prometheus"]["volumes"] if v["type"] == "bind"}
    assert config["rule_files"] == ["/etc/prometheus/rules/*.yml"] and mounts["/etc/prometheus/rules"].endswith("infra/prometheus/rules")


def test_alert_rules_for_outbox_age_consumer_lag_and_dlq_growth() -> None:
    rules = {r["alert"]: r for r in alert_rules()}
    assert {"OutboxEventTooOld", "ConsumerLagHigh", "DeadLetterQueueGrowing"} <= set(rules)
    assert "outbox_oldest_age_seconds" in rules["OutboxEventTooOld"]["expr"]
    assert "kafka_consumergroup_lag" in rules["ConsumerLagHigh"]["expr"]
    assert ".dlq" in rules["DeadLetterQueueGrowing"]["expr"]
    for rule in rules.values():
        assert rule["labels"]["severity"] in {"page", "ticket"} and rule["annotations"]["summary"], rule["alert"]


def test_grafana_provisions_three_dashboards_on_the_prometheus_datasource() -> None:
    datasources = load_yaml(GRAFANA / "provisioning/datasources/datasources.yaml")["datasources"]
    uids = {d["uid"]: d for d in datasources}
    assert uids["prometheus"]["url"] == "http://prometheus:9090" and uids["zipkin"]["url"] == "http://zipkin:9411"
    provider = load_yaml(GRAFANA / "provisioning/dashboards/dashboards.yaml")["providers"][0]
    mounts = {v["target"]: v["source"] for v in resolved(CORE, OVERLAY)["services"]["grafana"]["volumes"] if v["type"] == "bind"}
    assert mounts[provider["options"]["path"]].endswith("infra/grafana/dashboards")
    boards = dashboards()
    assert set(boards) == {"service-overview.json", "event-flow.json", "programme.json"}
    assert len({b["uid"] for b in boards.values()}) == 3
    for name, board in boards.items():
        assert board["panels"], name
        for panel in board["panels"]:
            assert panel["datasource"]["uid"] in uids and panel["targets"], (name, panel["title"])
    assert len(dashboard_queries()) >= 20
