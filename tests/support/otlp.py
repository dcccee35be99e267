"""A minimal OTLP/HTTP receiver, so tests can look at the real spans and metrics the services export."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest


@dataclass(frozen=True)
class ReceivedSpan:
    service: str
    name: str
    trace_id: str
    span_id: str
    parent_span_id: str
    kind: int
    attributes: dict[str, str]
    # Every attribute value as text (arrays, booleans and doubles too), events' attributes included.
    all_attribute_values: tuple[tuple[str, str], ...] = field(default=(), compare=False)


@dataclass(frozen=True)
class ReceivedMetric:
    """One metric of one export: its OTLP name, unit, data kind and the attributes of its points."""

    service: str
    name: str
    unit: str
    kind: str  # "gauge", "sum", "histogram", "exponential_histogram" or "summary"
    monotonic: bool
    points: tuple[dict[str, str], ...]


def value_text(value: Any) -> str:
    """An OTLP AnyValue as text, whatever its type."""
    which = value.WhichOneof("value")
    if which is None:
        return ""
    if which == "array_value":
        return "[" + ", ".join(value_text(v) for v in value.array_value.values) + "]"
    if which == "kvlist_value":
        return "{" + ", ".join(f"{kv.key}={value_text(kv.value)}" for kv in value.kvlist_value.values) + "}"
    if which == "bytes_value":
        return bytes(value.bytes_value).decode(errors="replace")
    return str(getattr(value, which))


def _service(resource: Any) -> str:
    return next((a.value.string_value for a in resource.attributes if a.key == "service.name"), "?")


class OtlpReceiver:
    def __init__(self) -> None:
        self.spans: list[ReceivedSpan] = []
        self.metrics: list[ReceivedMetric] = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                if self.path == "/v1/traces":
                    receiver._ingest(body)
                elif self.path == "/v1/metrics":
                    receiver._ingest_metrics(body)
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.endpoint = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def _ingest(self, body: bytes) -> None:
        request = ExportTraceServiceRequest()
        request.ParseFromString(body)
        received = []
        for resource_spans in request.resource_spans:
            service = _service(resource_spans.resource)
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    attributes = {a.key: a.value.string_value or str(a.value.int_value) for a in span.attributes}
                    every = [(a.key, value_text(a.value)) for a in span.attributes]
                    every += [(a.key, value_text(a.value)) for event in span.events for a in event.attributes]
                    received.append(
                        ReceivedSpan(
                            service,
                            span.name,
                            span.trace_id.hex(),
                            span.span_id.hex(),
                            span.parent_span_id.hex(),
                            span.kind,
                            attributes,
                            tuple(every),
                        )
                    )
        with self._lock:
            self.spans.extend(received)

    def _ingest_metrics(self, body: bytes) -> None:
        request = ExportMetricsServiceRequest()
        request.ParseFromString(body)
        received = []
        for resource_metrics in request.resource_metrics:
            service = _service(resource_metrics.resource)
            for scope_metrics in resource_metrics.scope_metrics:
                for metric in scope_metrics.metrics:
                    kind = metric.WhichOneof("data") or "?"
                    data = getattr(metric, kind) if kind != "?" else None
                    points = tuple({a.key: value_text(a.value) for a in p.attributes} for p in getattr(data, "data_points", ()))
                    monotonic = bool(getattr(data, "is_monotonic", False))
                    received.append(ReceivedMetric(service, metric.name, metric.unit, kind, monotonic, points))
        with self._lock:
            self.metrics.extend(received)

    def trace(self, trace_id: str) -> list[ReceivedSpan]:
        with self._lock:
            return [s for s in self.spans if s.trace_id == trace_id]

    def all_spans(self) -> list[ReceivedSpan]:
        with self._lock:
            return list(self.spans)

    def all_metrics(self) -> list[ReceivedMetric]:
        with self._lock:
            return list(self.metrics)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
