"""OpenTelemetry traces and metrics, and JSON logs that carry the trace id.

OTLP/HTTP export is switched on by the standard `OTEL_EXPORTER_OTLP_ENDPOINT` variable (or the
per-signal `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`); without it spans are still created, so trace
ids appear in logs and propagate to Kafka, but nothing is exported.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from opentelemetry import metrics, propagate, trace
from opentelemetry.context import Context
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

_configured = False


def _export_enabled(signal: str) -> bool:
    return bool(os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or os.environ.get(f"OTEL_EXPORTER_OTLP_{signal}_ENDPOINT"))


def setup_telemetry(service_name: str, *, log_level: str = "INFO") -> None:
    """Install tracer and meter providers, library instrumentation and JSON logging (once)."""
    global _configured
    if _configured:
        return
    _configured = True
    resource = Resource.create({"service.name": service_name, "service.namespace": "komagane"})

    tracer_provider = TracerProvider(resource=resource)
    if _export_enabled("TRACES"):
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        tracer_provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(tracer_provider)

    readers = []
    if _export_enabled("METRICS"):
        from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter

        readers.append(PeriodicExportingMetricReader(OTLPMetricExporter()))
    metrics.set_meter_provider(MeterProvider(resource=resource, metric_readers=readers))

    _instrument_libraries()
    configure_logging(service_name, log_level)


def _instrument_libraries() -> None:
    from opentelemetry.instrumentation.aiokafka import AIOKafkaInstrumentor
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
    from opentelemetry.instrumentation.redis import RedisInstrumentor
    from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor

    HTTPXClientInstrumentor().instrument()
    RedisInstrumentor().instrument()
    SQLAlchemyInstrumentor().instrument()
    AIOKafkaInstrumentor().instrument()


def shutdown_telemetry() -> None:
    """Flush spans and metrics still buffered (graceful shutdown; the SDK closes them at exit)."""
    provider = trace.get_tracer_provider()
    if isinstance(provider, TracerProvider):
        provider.force_flush()
    meter_provider = metrics.get_meter_provider()
    if isinstance(meter_provider, MeterProvider):
        meter_provider.force_flush()


def context_from_headers(headers: Iterable[tuple[str, bytes]] | None) -> Context:
    """Trace context carried in Kafka headers (`traceparent`, `tracestate`); last value wins."""
    carrier: dict[str, str] = {}
    for name, value in headers or ():
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
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(service_name))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # Client libraries are chatty at INFO about every reconnect; their warnings still show.
    for noisy in ("aiokafka", "kafka", "httpx", "uvicorn.access"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
