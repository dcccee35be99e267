"""One SERVER span and the `http.server.*` metrics per HTTP request, for every service and the gateway.

The OpenTelemetry ASGI instrumentation records the same span and metrics at over twice the cost:
on a one-route FastAPI app it adds about 150 µs of CPU per request, this about 60 µs
(`python -m bench.server_telemetry`). At 500 writes/s that difference was a tenth of the
exchange service's CPU. What it records beyond this module — request and response size histograms,
host, port, peer and user-agent attributes — no dashboard, alert or trace view here reads.

What is recorded, and why these names:

- the span continues the caller's trace (`traceparent` of the request), is named
  `"{method} {route}"` once routing has found the route (just the method for a 404, so span names
  stay few), and carries `http.request.method`, `url.scheme`, `url.path`, `http.route` and
  `http.response.status_code`; a 5xx, an escaped exception or no answer at all marks it ERROR;
- `http.server.duration` (ms) and `http.server.active_requests` carry the attribute names the
  service dashboards and alerts query (`http.method`, `http.target` as the route's path format,
  `http.status_code`).
"""

from __future__ import annotations

import functools
import time
from typing import Any

from opentelemetry import metrics, trace
from opentelemetry.metrics import MeterProvider
from opentelemetry.trace import SpanKind, Status, StatusCode, TracerProvider
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from komagane_kit.telemetry import context_from_headers

# Any other method is reported as `_OTHER`: a client must not be able to mint new series.
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "CONNECT", "TRACE"})


def _route_of(scope: Scope) -> tuple[str, str] | tuple[None, None]:
    """The route's path and path format, as Starlette's router left them in the scope."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    if path is None:
        return None, None
    return path, scope.get("root_path", "") + getattr(route, "path_format", path)


class HttpServerTelemetry:
    """The tracer and instruments server requests are recorded with (the global providers' unless
    given: tests pass their own)."""

    def __init__(self, tracer_provider: TracerProvider | None = None, meter_provider: MeterProvider | None = None) -> None:
        self.tracer = trace.get_tracer("komagane.http", tracer_provider=tracer_provider)
        meter = metrics.get_meter("komagane.http", meter_provider=meter_provider)
        self.duration = meter.create_histogram("http.server.duration", unit="ms", description="Measures the duration of inbound HTTP requests.")
        self.active = meter.create_up_down_counter("http.server.active_requests", unit="{request}", description="Number of active HTTP server requests.")

    async def serve(self, app: ASGIApp, scope: Scope, receive: Receive, send: Send, *, route: tuple[str, str] | None = None) -> None:
        """Serve an HTTP `scope` with `app` inside its SERVER span, and count it in the metrics.

        `route`: the route's path and path format when the caller already knows them (the
        gateway's direct forwarding); otherwise they are read from the scope after `app` has
        routed it.
        """
        method = scope["method"] if scope["method"] in _METHODS else "_OTHER"
        status = 0

        async def watched(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        active_attributes = {"http.method": method, "http.scheme": scope.get("scheme", "http")}
        self.active.add(1, active_attributes)
        began = time.perf_counter()
        name = f"{method} {route[0]}" if route is not None else method
        span_attributes: dict[str, Any] = {"http.request.method": method, "url.scheme": active_attributes["http.scheme"], "url.path": scope["path"]}
        with self.tracer.start_as_current_span(name, context=context_from_headers(scope["headers"]), kind=SpanKind.SERVER, attributes=span_attributes) as span:
            try:
                await app(scope, receive, watched)
            except BaseException:
                status = status or 500  # what the server's error middleware answers
                raise
            finally:
                path, target = route if route is not None else _route_of(scope)
                metric_attributes: dict[str, Any] = {**active_attributes, "http.status_code": status}
                ended: dict[str, Any] = {"http.response.status_code": status}
                if path is not None:
                    ended["http.route"] = path
                    metric_attributes["http.target"] = target
                    if route is None:
                        span.update_name(f"{method} {path}")
                span.set_attributes(ended)
                if status >= 500 or status == 0:
                    span.set_status(Status(StatusCode.ERROR))
                self.active.add(-1, active_attributes)
                self.duration.record(max(round((time.perf_counter() - began) * 1000), 0), metric_attributes)


@functools.cache
def _global() -> HttpServerTelemetry:
    """Made on first use, after the providers are installed."""
    return HttpServerTelemetry()


async def serve_traced(app: ASGIApp, scope: Scope, receive: Receive, send: Send, *, route: tuple[str, str] | None = None) -> None:
    """`HttpServerTelemetry.serve` with the global providers."""
    await _global().serve(app, scope, receive, send, route=route)


class ServerTelemetry:
    """ASGI middleware: every HTTP request but the probes' (`skip_paths`) in its SERVER span."""

    def __init__(self, app: ASGIApp, *, skip_paths: frozenset[str] = frozenset(), telemetry: HttpServerTelemetry | None = None) -> None:
        self.app = app
        self.skip_paths = skip_paths
        self.telemetry = telemetry

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in self.skip_paths:
            await self.app(scope, receive, send)
            return
        await (self.telemetry or _global()).serve(self.app, scope, receive, send)
