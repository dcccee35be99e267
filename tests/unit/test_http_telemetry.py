"""The kit's server telemetry (komagane_kit.http_telemetry) on a real FastAPI app: the span each
request gets, the metrics the dashboards read, and what a probe, a 404 or a crash records."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from komagane_kit.health import PROBE_PATHS
from komagane_kit.http_telemetry import HttpServerTelemetry, ServerTelemetry

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
TRACEPARENT = f"00-{TRACE_ID}-00f067aa0ba902b7-01"


@dataclass
class Recorded:
    spans: InMemorySpanExporter
    metrics: InMemoryMetricReader
    client: httpx.AsyncClient

    def points(self, name: str) -> list[tuple[dict[str, Any], Any]]:
        data = self.metrics.get_metrics_data()
        if data is None:  # nothing recorded at all
            return []
        return [
            (dict(point.attributes or {}), point)
            for resource in data.resource_metrics
            for scope in resource.scope_metrics
            for metric in scope.metrics
            if metric.name == name
            for point in metric.data.data_points
        ]

    def only_span(self) -> ReadableSpan:
        [span] = self.spans.get_finished_spans()
        return span


@pytest.fixture
def recorded() -> Iterator[Recorded]:
    spans, reader = InMemorySpanExporter(), InMemoryMetricReader()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(spans))
    telemetry = HttpServerTelemetry(tracer_provider=tracer_provider, meter_provider=MeterProvider(metric_readers=[reader]))

    app = FastAPI()

    @app.post("/v1/hubs/{hub_id}/visits", status_code=201)
    async def visit(hub_id: str) -> dict[str, str]:
        return {"hub": hub_id}

    @app.get("/v1/broken")
    async def broken() -> None:
        raise RuntimeError("boom")

    @app.get("/livez")
    async def livez() -> dict[str, str]:
        return {"status": "ok"}

    app.add_middleware(ServerTelemetry, skip_paths=PROBE_PATHS, telemetry=telemetry)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    yield Recorded(spans, reader, httpx.AsyncClient(transport=transport, base_url="http://service"))


async def test_a_request_is_one_server_span_named_by_its_route_continuing_the_callers_trace(recorded: Recorded) -> None:
    answer = await recorded.client.post("/v1/hubs/wellness/visits", headers={"traceparent": TRACEPARENT})
    assert answer.status_code == 201 and answer.json() == {"hub": "wellness"}
    span = recorded.only_span()
    assert span.kind is SpanKind.SERVER and span.name == "POST /v1/hubs/{hub_id}/visits"
    assert span.context is not None and f"{span.context.trace_id:032x}" == TRACE_ID
    assert span.parent is not None and f"{span.parent.span_id:016x}" == "00f067aa0ba902b7"
    assert dict(span.attributes or {}) == {
        "http.request.method": "POST",
        "url.scheme": "http",
        "url.path": "/v1/hubs/wellness/visits",
        "http.route": "/v1/hubs/{hub_id}/visits",
        "http.response.status_code": 201,
    }
    assert span.status.status_code is StatusCode.UNSET


async def test_the_duration_metric_carries_the_dashboards_attributes_and_the_route_not_the_path(recorded: Recorded) -> None:
    for hub in ("wellness", "civic-centre"):
        await recorded.client.post(f"/v1/hubs/{hub}/visits")
    [(attributes, point)] = recorded.points("http.server.duration")
    assert attributes == {"http.method": "POST", "http.scheme": "http", "http.status_code": 201, "http.target": "/v1/hubs/{hub_id}/visits"}
    assert point.count == 2
    [(active_attributes, active)] = recorded.points("http.server.active_requests")
    assert active_attributes == {"http.method": "POST", "http.scheme": "http"} and active.value == 0


async def test_an_unknown_path_keeps_the_span_name_and_the_metrics_free_of_the_path(recorded: Recorded) -> None:
    assert (await recorded.client.get("/v1/people/p-123/secret-thing")).status_code == 404
    span = recorded.only_span()
    assert span.name == "GET" and "http.route" not in (span.attributes or {})
    [(attributes, _)] = recorded.points("http.server.duration")
    assert attributes == {"http.method": "GET", "http.scheme": "http", "http.status_code": 404}


async def test_an_unknown_method_is_reported_as_other(recorded: Recorded) -> None:
    await recorded.client.request("BREW", "/v1/hubs/x/visits")
    assert recorded.only_span().name.startswith("_OTHER")
    assert {attributes["http.method"] for attributes, _ in recorded.points("http.server.duration")} == {"_OTHER"}


async def test_a_crash_is_an_error_span_with_the_exception_and_a_500(recorded: Recorded) -> None:
    assert (await recorded.client.get("/v1/broken")).status_code == 500
    span = recorded.only_span()
    assert span.name == "GET /v1/broken" and span.status.status_code is StatusCode.ERROR
    assert (span.attributes or {})["http.response.status_code"] == 500
    assert [event.name for event in span.events] == ["exception"]
    [(attributes, _)] = recorded.points("http.server.duration")
    assert attributes["http.status_code"] == 500


async def test_probes_are_not_recorded(recorded: Recorded) -> None:
    assert (await recorded.client.get("/livez")).status_code == 200
    assert recorded.spans.get_finished_spans() == ()
    assert recorded.points("http.server.duration") == []
