"""CPU per request of server telemetry: the kit's (komagane_kit.http_telemetry) against the
OpenTelemetry FastAPI instrumentation, on the same one-route app called in-process (no sockets).

    python -m bench.server_telemetry [--requests 20000]

Prints CPU µs per request for the bare app and for each kind of telemetry, and what each adds.
Both record into SDK providers without exporters, as the benchmark stack runs (spans are made,
sampled and ended; exporting them is the collector's cost).
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.trace import TracerProvider
from starlette.types import ASGIApp, Message

from komagane_kit.http_telemetry import HttpServerTelemetry, ServerTelemetry

PATH = "/v1/hubs/wellness/visits"
SCOPE: dict[str, Any] = {
    "type": "http",
    "asgi": {"version": "3.0"},
    "http_version": "1.1",
    "method": "POST",
    "scheme": "http",
    "path": PATH,
    "raw_path": PATH.encode(),
    "query_string": b"",
    "root_path": "",
    "headers": [(b"host", b"exchange"), (b"content-type", b"application/json"), (b"traceparent", b"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")],
    "client": ("127.0.0.1", 50000),
    "server": ("127.0.0.1", 8103),
}


def _app() -> FastAPI:
    # The framework's own telemetry off, as the kit's create_app has it.
    app = FastAPI(telemetry={"tracing": False, "metrics": False, "logs": False, "operation_spans": False})

    @app.post("/v1/hubs/{hub_id}/visits", status_code=201)
    async def visit(hub_id: str) -> dict[str, str]:
        return {"hub": hub_id}

    return app


def bare() -> ASGIApp:
    return _app()


def instrumentation() -> ASGIApp:
    app = _app()
    FastAPIInstrumentor.instrument_app(app, tracer_provider=TracerProvider(), meter_provider=MeterProvider(), exclude_spans=["receive", "send"])
    return app


def kit() -> ASGIApp:
    app = _app()
    app.add_middleware(ServerTelemetry, telemetry=HttpServerTelemetry(tracer_provider=TracerProvider(), meter_provider=MeterProvider()))
    return app


async def cpu_per_request(app: ASGIApp, requests: int) -> float:
    """CPU seconds per request, after a warm-up."""
    statuses: list[int] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"{}", "more_body": False}

    async def send(message: Message) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    for _ in range(requests // 10):
        await app(dict(SCOPE), receive, send)
    began = time.process_time()
    for _ in range(requests):
        await app(dict(SCOPE), receive, send)
    spent = time.process_time() - began
    assert set(statuses) == {201}, set(statuses)
    return spent / requests


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=3, help="the best of this many rounds counts (noisy machines)")
    args = parser.parse_args()
    variants: dict[str, Callable[[], ASGIApp]] = {"bare app": bare, "OpenTelemetry instrumentation": instrumentation, "kit ServerTelemetry": kit}
    apps = {name: make() for name, make in variants.items()}
    best = {name: min(asyncio.run(cpu_per_request(app, args.requests)) for _ in range(args.rounds)) for name, app in apps.items()}
    base = best["bare app"]
    print(f"{'':32} {'µs/request':>11} {'added µs':>9}")
    for name, seconds in best.items():
        print(f"{name:32} {seconds * 1e6:11.1f} {(seconds - base) * 1e6:9.1f}")
    added_otel = best["OpenTelemetry instrumentation"] - base
    added_kit = best["kit ServerTelemetry"] - base
    print(f"kit adds {added_kit / added_otel:.2f} of what the instrumentation adds")


if __name__ == "__main__":
    main()
