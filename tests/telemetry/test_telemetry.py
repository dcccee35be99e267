"""Telemetry of the running platform: what operators see must exist, and must not show people.

Runs against the whole platform as processes (the session `stack`), exporting traces and metrics
over OTLP/HTTP to the in-process receiver `otlp`.
"""

from __future__ import annotations

import re
import secrets

import httpx
from opentelemetry.instrumentation.utils import suppress_instrumentation
from opentelemetry.trace import SpanKind

from komagane_contracts.schemas import published, schema_filename
from komagane_devstack.stack import Stack
from tests.support.otlp import OtlpReceiver, ReceivedSpan
from tests.support.waiting import eventually
from tests.telemetry.deployment import COLLECTOR_CONFIG, EXPORTER_METRICS, PROMETHEUS_OWN_METRICS, ROOT, alert_rules, dashboard_queries, load_yaml
from tests.telemetry.promnames import exported_names, label_matchers, queried_metrics, spanmetrics_names

SERVICES = sorted(p.name for p in (ROOT / "services").iterdir() if p.is_dir() and not p.name.startswith("."))
# One read per pillar service through the gateway; the status does not matter, the telemetry does.
PILLAR_READS = {
    "people": "/v1/people/{person}",
    "exchange": "/v1/sessions",
    "jobs": "/v1/opportunities",
    "health": "/v1/health/programs",
    "housing": "/v1/properties",
}


def person(name: str) -> dict[str, object]:
    return {"display_name": name, "birth_year": 1950, "residency_status": "RESIDENT", "preferred_language": "ja", "lives_alone": True}


async def register(gateway: httpx.AsyncClient, body: dict[str, object], **kwargs: object) -> str:
    response = await gateway.post("/v1/people", json=body, **kwargs)  # type: ignore[arg-type]
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def _kind(span: ReceivedSpan) -> SpanKind:
    # OTLP numbers kinds from 1 (INTERNAL); the API's enum from 0.
    return SpanKind(span.kind - 1)


async def test_every_service_exports_traces_and_metrics(gateway: httpx.AsyncClient, otlp: OtlpReceiver, stack: Stack) -> None:
    person_id = await register(gateway, person("テレメトリ 一郎"))
    assert (await gateway.put(f"/v1/people/{person_id}/consents/PROFILE")).status_code == 200
    for path in PILLAR_READS.values():
        await gateway.get(path.format(person=person_id))
    assert stack.console is not None
    async with httpx.AsyncClient(base_url=stack.console.url) as console:  # the web console: a page
        assert (await console.get("/signin")).status_code == 200

    expected = {service: {"process.memory.usage", "process.cpu.time"} for service in SERVICES}
    for service in [*PILLAR_READS, "gateway"]:
        expected[service].add("http.server.duration")
    for service in PILLAR_READS:
        expected[service] |= {"outbox.backlog", "outbox.oldest_age"}

    def missing() -> dict[str, list[str]]:
        traced = {s.service for s in otlp.all_spans()}
        gaps = {service: ["traces"] for service in SERVICES if service not in traced}
        for service, names in expected.items():
            absent = names - {m.name for m in otlp.all_metrics() if m.service == service}
            if absent:
                gaps.setdefault(service, []).extend(sorted(absent))
        return gaps

    async def exporting() -> bool:
        return not missing()

    try:
        await eventually(exporting, timeout=60, what="traces and metrics from every service")
    except AssertionError as exc:
        raise AssertionError(f"{exc}; still missing: {missing()}") from None

    server_spans = {s.service for s in otlp.all_spans() if _kind(s) is SpanKind.SERVER}
    assert set(PILLAR_READS) | {"gateway"} <= server_spans


async def test_one_request_is_one_trace_from_gateway_through_kafka_to_the_profile_processor(gateway: httpx.AsyncClient, otlp: OtlpReceiver) -> None:
    trace_id = secrets.token_hex(16)
    with suppress_instrumentation():  # this process's own httpx span would otherwise be the parent
        person_id = await register(gateway, person("トレース 二郎"), headers={"traceparent": f"00-{trace_id}-{secrets.token_hex(8)}-01"})

    def edges(spans: list[ReceivedSpan]) -> set[tuple[str, str, str, str]]:
        by_id = {s.span_id: s for s in spans}
        out = set()
        for span in spans:
            parent = by_id.get(span.parent_span_id)
            if parent is not None and parent.service != span.service:
                out.add((parent.service, _kind(parent).name, span.service, _kind(span).name))
        return out

    wanted = {("gateway", "CLIENT", "people", "SERVER"), ("people", "PRODUCER", "profiles", "CONSUMER")}

    async def whole_trace() -> list[ReceivedSpan] | None:
        spans = otlp.trace(trace_id)
        ids = {s.span_id for s in spans}
        # Services export in batches: wait until every hop is in, down to a single root.
        complete = sum(1 for s in spans if s.parent_span_id not in ids) == 1
        return spans if complete and wanted <= edges(spans) and any(s.name == "profiles fold people.v1" for s in spans) else None

    try:
        spans = await eventually(whole_trace, timeout=180, what="the trace to reach the profile processor")
    except AssertionError as exc:
        raise AssertionError(f"{exc}; edges so far: {sorted(edges(otlp.trace(trace_id)))}") from None

    by_id = {s.span_id: s for s in spans}
    [root] = [s for s in spans if s.parent_span_id not in by_id]
    # The gateway forwards the registration through its one forwarding route (the people service's
    # document describes it), so its span names that route and carries the path it served.
    assert root.service == "gateway" and _kind(root) is SpanKind.SERVER and root.name == "POST /v1/{path:path}"
    assert root.attributes["url.path"] == "/v1/people"
    # The processor's span descends from the people service's outbox publish, in the same trace.
    fold = next(s for s in spans if s.name == "profiles fold people.v1")
    chain = []
    span: ReceivedSpan | None = fold
    while span is not None:
        chain.append(f"{span.service}:{_kind(span).name}:{span.name}")
        span = by_id.get(span.parent_span_id)
    chain.reverse()
    assert chain[0] == "gateway:SERVER:POST /v1/{path:path}", chain
    assert "people:SERVER:POST /v1/people" in chain and any(c.startswith("people:PRODUCER:outbox publish people.v1") for c in chain), chain
    assert fold.attributes["messaging.destination.name"] == "people.v1"
    # Nothing of this request started a second trace: the event's publish and folds all carry this id.
    event_id = fold.attributes["messaging.message.id"]
    of_event = [s for s in otlp.all_spans() if s.attributes.get("messaging.message.id") == event_id]
    assert {s.trace_id for s in of_event} == {trace_id}, (person_id, sorted({(s.service, s.name, s.trace_id) for s in of_event}))


async def test_no_exported_attribute_holds_a_name_a_contact_or_an_s2_value(gateway: httpx.AsyncClient, otlp: OtlpReceiver) -> None:
    name = f"Quintessa Marrow-{secrets.token_hex(4)}"
    contact = f"q.{secrets.token_hex(4)}@example.org"
    systolic = "187"
    weight = f"73.{secrets.randbelow(900) + 100}"
    body = {**person(name), "contact": contact}
    person_id = await register(gateway, body, headers={"Idempotency-Key": secrets.token_hex(8)})
    assert (await gateway.put(f"/v1/people/{person_id}/consents/PROFILE")).status_code == 200
    assert (await gateway.get(f"/v1/people/{person_id}")).json()["display_name"] == name
    # A name and health values in query strings and bodies, wherever a client might put them.
    await gateway.get("/v1/people", params={"display_name": name, "contact": contact})
    await gateway.get(f"/v1/health/people/{person_id}/daily-activity", params={"systolic": systolic, "weight_kg": weight, "reason": name})
    await gateway.post("/v1/health/daily-activity", json=[{"person_id": person_id, "weight_kg": weight, "systolic": systolic, "note": name}])

    async def processed() -> bool:
        # The consent's fold in the processor is the last hop of this person's events.
        spans = otlp.all_spans()
        traces = _traces_of(spans, person_id)  # once per probe: the receiver holds every span of the session
        folded = any(s.name == "profiles fold people.v1" and s.trace_id in traces for s in spans)
        return folded and any(s.service == "health" and s.name.startswith("POST /v1/health/daily-activity") for s in spans)

    await eventually(processed, timeout=180, what="this person's spans from every hop")
    leaks = [
        (s.service, s.name, key, value[:120])
        for s in otlp.all_spans()
        for key, value in s.all_attribute_values
        if name in value or name.replace(" ", "+") in value or contact in value or weight in value or re.search(r"\bsystolic=", value)
    ]
    assert leaks == []
    personal_keys = {"display_name", "contact", "birth_year", "weight_kg", "systolic"}
    assert not [(s.service, s.name, k) for s in otlp.all_spans() for k, _ in s.all_attribute_values if k.split(".")[-1] in personal_keys]
    assert not [(m.service, m.name) for m in otlp.all_metrics() for p in m.points for v in p.values() if name in v or contact in v or weight in v]


def _traces_of(spans: list[ReceivedSpan], person_id: str) -> set[str]:
    return {s.trace_id for s in spans if person_id in s.attributes.get("url.path", "") or person_id in s.attributes.get("url.full", "")}


async def test_the_metrics_dashboards_and_alerts_query_exist(gateway: httpx.AsyncClient, otlp: OtlpReceiver) -> None:
    """Every series a dashboard or alert reads is exported by a service, derived by the collector's
    spanmetrics connector from spans that exist, or scraped from an exporter of the overlay."""
    person_id = await register(gateway, person("ダッシュボード 三郎"))
    assert (await gateway.put(f"/v1/people/{person_id}/consents/PROFILE")).status_code == 200
    for path in PILLAR_READS.values():
        await gateway.get(path.format(person=person_id))
    connector = load_yaml(COLLECTOR_CONFIG)["connectors"]["spanmetrics"]
    derived = spanmetrics_names(connector["namespace"], connector["histogram"]["unit"])
    from_exporters = set().union(*EXPORTER_METRICS.values()) | PROMETHEUS_OWN_METRICS
    queries = [(f"{board} / {title}", expr) for board, title, expr in dashboard_queries()] + [(f"alert {r['alert']}", str(r["expr"])) for r in alert_rules()]
    wanted_from_services = {m for _, expr in queries for m in queried_metrics(expr)} - derived - from_exporters

    async def all_exported() -> set[str] | None:
        names = exported_names(otlp.all_metrics())
        return names if wanted_from_services <= names else None

    try:
        await eventually(all_exported, timeout=60, what="every metric the dashboards query")
    except AssertionError:
        missing = {m: [where for where, expr in queries if m in queried_metrics(expr)] for m in wanted_from_services - exported_names(otlp.all_metrics())}
        raise AssertionError(f"dashboards query metrics no service exports: {missing}") from None

    # Span-metric label values must name real services, spans and event types.
    spans = otlp.all_spans()
    dimensions = {"service_name", "span_name", "span_kind", "status_code", "le"} | {d["name"].replace(".", "_") for d in connector["dimensions"]}
    for where, expr in queries:
        for metric, label, op, value in label_matchers(expr):
            if metric in derived:
                assert label in dimensions, (where, label)
            if label == "service_name":
                assert value in SERVICES, (where, value)
            elif label == "span_name":
                assert op == "=~" and any(re.fullmatch(value, s.name) for s in spans), (where, value)
            elif label == "cloudevents_event_type":
                assert published(schema_filename(value)) is not None, (where, value)
