"""OpenTelemetry traces and metrics, and JSON logs that carry the trace id.

OTLP/HTTP export is switched on by the standard `OTEL_EXPORTER_OTLP_ENDPOINT` variable (or the
per-signal `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`); without it spans are still created, so trace
ids appear in logs and propagate to Kafka, but nothing is exported. Two more ways out, for the
local operator's view (`make up`, docs/operations.md): `OTEL_EXPORTER_ZIPKIN_ENDPOINT` sends
spans straight to a Zipkin server (its JSON v2 API; no collector in between), and
`KOMAGANE_METRICS_PORT` serves the metrics on `http://127.0.0.1:<port>/metrics` for Prometheus
to scrape.

Exported spans are scrubbed first (`scrub_attributes`): attributes named after personal or S2
fields are dropped and query strings are cut from URLs, so no name, contact or health value
leaves a process in telemetry. The collector's redaction processor is the second line.
"""

from __future__ import annotations

import json
import logging
import os
import re
import resource as _resource
import sys
from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from opentelemetry import metrics, propagate, trace
from opentelemetry.context import Context
from opentelemetry.metrics import CallbackOptions, Observation
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import MetricReader, PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Event, ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

_configured = False


def _export_enabled(signal: str) -> bool:
    return bool(os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or os.environ.get(f"OTEL_EXPORTER_OTLP_{signal}_ENDPOINT"))


# Not aiokafka: the outbox relay and the event consumer make the PRODUCER and CONSUMER spans that
# matter (named by topic, carrying the event's id and type); the instrumentation's own span per
# message duplicated them and cost a fifth of a consuming service's CPU.
ALL_LIBRARIES = frozenset({"httpx", "redis", "sqlalchemy"})


def setup_telemetry(service_name: str, *, log_level: str = "INFO", libraries: Collection[str] = ALL_LIBRARIES) -> None:
    """Install tracer and meter providers, library instrumentation and JSON logging (once).

    `libraries`: which client libraries get automatic spans. A stream processor that writes
    its outputs in batches leaves out Kafka and Redis: their spans would be one per output
    message, outside any request's trace, and cost more than the work they describe.
    """
    global _configured
    if _configured:
        return
    _configured = True
    resource = Resource.create({"service.name": service_name, "service.namespace": "komagane"})

    tracer_provider = TracerProvider(resource=resource)
    for exporter in _span_exporters():
        tracer_provider.add_span_processor(BatchSpanProcessor(ScrubbingSpanExporter(exporter)))
    trace.set_tracer_provider(tracer_provider)

    readers: list[MetricReader] = []
    if _export_enabled("METRICS"):
        from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter

        readers.append(PeriodicExportingMetricReader(OTLPMetricExporter()))
    scrape_port = os.environ.get("KOMAGANE_METRICS_PORT")
    if scrape_port:
        readers.append(_scrape_endpoint(int(scrape_port)))
    metrics.set_meter_provider(MeterProvider(resource=resource, metric_readers=readers))
    _register_process_metrics()

    _instrument_libraries(libraries)
    configure_logging(service_name, log_level)


def _span_exporters() -> list[SpanExporter]:
    exporters: list[SpanExporter] = []
    if _export_enabled("TRACES"):
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        exporters.append(OTLPSpanExporter())
    zipkin = os.environ.get("OTEL_EXPORTER_ZIPKIN_ENDPOINT")
    if zipkin:
        from opentelemetry.exporter.zipkin.json import ZipkinExporter

        exporters.append(ZipkinExporter(endpoint=zipkin))
    return exporters


def _scrape_endpoint(port: int) -> MetricReader:
    """A reader whose metrics Prometheus scrapes from 127.0.0.1:`port`/metrics (a small thread of
    prometheus_client's). The scrape config names the service (`service_name` label)."""
    from opentelemetry.exporter.prometheus import PrometheusMetricReader
    from prometheus_client import start_http_server

    start_http_server(port, addr="127.0.0.1")
    return PrometheusMetricReader()


# Attribute keys that name a personal (S1 identity) or S2 field: never exported, whatever the value.
_PERSONAL_KEY = re.compile(
    r"(^|[._])(display_name|name_kana|full_name|given_name|family_name|contact|email|phone|postal_address|home_address|birth_year|birth_date|"
    r"care_level|disability|diagnosis|advice|assessment|measurement|measurements|systolic|diastolic|blood_pressure|"
    r"weight_kg|height_cm|bmi|steps|body_fat|heart_rate|note|notes)($|[._])",
    re.IGNORECASE,
)
# Attributes that carry a URL or a path with its query string: the query may hold anything.
_URL_KEYS = frozenset({"http.url", "http.target", "url.full", "http.request.uri"})
_DROPPED_KEYS = frozenset({"url.query", "db.redis.args"})


def scrub_attributes(attributes: Mapping[str, Any] | None) -> dict[str, Any]:
    """The attributes that may be exported: personal and S2 keys dropped, URL queries cut."""
    clean: dict[str, Any] = {}
    for key, value in (attributes or {}).items():
        if key in _DROPPED_KEYS or _PERSONAL_KEY.search(key):
            continue
        if key in _URL_KEYS and isinstance(value, str) and "?" in value:
            value = value.split("?", 1)[0]
        clean[key] = value
    return clean


class ScrubbingSpanExporter(SpanExporter):
    """Exports spans through `inner` with their (and their events') attributes scrubbed."""

    def __init__(self, inner: SpanExporter) -> None:
        self._inner = inner

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return self._inner.export([_scrubbed(span) for span in spans])

    def shutdown(self) -> None:
        self._inner.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self._inner.force_flush(timeout_millis)


def _scrubbed(span: ReadableSpan) -> ReadableSpan:
    events = [Event(event.name, scrub_attributes(event.attributes), event.timestamp) for event in span.events]
    return ReadableSpan(
        name=span.name,
        context=span.context,
        parent=span.parent,
        resource=span.resource,
        attributes=scrub_attributes(span.attributes),
        events=events,
        links=span.links,
        kind=span.kind,
        status=span.status,
        start_time=span.start_time,
        end_time=span.end_time,
        instrumentation_scope=span.instrumentation_scope,
    )


def _register_process_metrics() -> None:
    """Resident memory and CPU time of this process (semantic-convention names), for every service."""
    meter = metrics.get_meter("komagane.process")
    page_size = os.sysconf("SC_PAGE_SIZE")

    def observe_memory(_options: CallbackOptions) -> list[Observation]:
        try:
            with open("/proc/self/statm") as statm:
                resident_pages = int(statm.read().split()[1])
        except (OSError, IndexError, ValueError):
            return []
        return [Observation(resident_pages * page_size)]

    def observe_cpu(_options: CallbackOptions) -> list[Observation]:
        usage = _resource.getrusage(_resource.RUSAGE_SELF)
        return [Observation(usage.ru_utime, {"cpu.mode": "user"}), Observation(usage.ru_stime, {"cpu.mode": "system"})]

    meter.create_observable_up_down_counter("process.memory.usage", [observe_memory], unit="By", description="Resident memory of the process")
    meter.create_observable_counter("process.cpu.time", [observe_cpu], unit="s", description="CPU time of the process")


def _instrument_libraries(libraries: Collection[str]) -> None:
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
    from opentelemetry.instrumentation.redis import RedisInstrumentor
    from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor

    if "httpx" in libraries:
        HTTPXClientInstrumentor().instrument()
    if "redis" in libraries:
        RedisInstrumentor().instrument()
    if "sqlalchemy" in libraries:
        SQLAlchemyInstrumentor().instrument()


def shutdown_telemetry() -> None:
    """Flush spans and metrics still buffered (graceful shutdown; the SDK closes them at exit)."""
    provider = trace.get_tracer_provider()
    if isinstance(provider, TracerProvider):
        provider.force_flush()
    meter_provider = metrics.get_meter_provider()
    if isinstance(meter_provider, MeterProvider):
        meter_provider.force_flush()


def context_from_headers(headers: Iterable[tuple[str | bytes, bytes]] | None) -> Context:
    """Trace context carried in Kafka or raw ASGI headers (`traceparent`, `tracestate`); last value wins."""
    carrier: dict[str, str] = {}
    for raw_name, value in headers or ():
        name = raw_name.decode("latin-1").lower() if isinstance(raw_name, bytes) else raw_name
        if name in ("traceparent", "tracestate") and value is not None:
            carrier[name] = value.decode() if isinstance(value, bytes | bytearray) else str(value)
    return propagate.extract(carrier)


def current_traceparent() -> str | None:
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier.get("traceparent")


class JsonFormatter(logging.Formatter):
    """One JSON object per line with the active trace and span ids."""

    def __init__(self, service_name: str) -> None:
        super().__init__()
        self.service_name = service_name

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "service": self.service_name,
            "logger": record.name,
            "message": record.getMessage(),
        }
        span_context = trace.get_current_span().get_span_context()
        if span_context.is_valid:
            entry["trace_id"] = format(span_context.trace_id, "032x")
            entry["span_id"] = format(span_context.span_id, "016x")
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(service_name: str, level: str = "INFO") -> None:
    from komagane_kit.quietlogs import install as quiet_broker_logs

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(service_name))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # Client libraries are chatty at INFO about every reconnect; their warnings still show.
    for noisy in ("aiokafka", "kafka", "httpx", "uvicorn.access"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    # While the broker is away: one line when it goes, one when it is back (quietlogs.py).
    quiet_broker_logs()
