"""ASGI entry point: `uvicorn komagane_gateway.main:asgi` or the `komagane-gateway` command.

`app` is the FastAPI application; `asgi` is what is served: the app behind the kit's `FastPaths`,
which gives the requests of the routes declared with a fast path (routes.py: the cached profile
read and forwarding, komagane_gateway.fastpath) to it, and everything else to the app.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import redis.asyncio as aioredis
import uvicorn
from fastapi import FastAPI
from fastapi.middleware import Middleware
from starlette.types import ASGIApp

from komagane_gateway.care import router as care_router
from komagane_gateway.city import router as city_router
from komagane_gateway.composed import router as composed_router
from komagane_gateway.docs import install_docs
from komagane_gateway.i18n import LocalizedProblems
from komagane_gateway.idempotency import IdempotencyStore
from komagane_gateway.openapi import complete_upstream_docs, fetch_upstream_docs, merged_openapi
from komagane_gateway.ratelimit import Limit, RateLimiter, RateLimitHeaders
from komagane_gateway.readcache import ReadCache
from komagane_gateway.resilience import CircuitBreaker
from komagane_gateway.rights import router as rights_router
from komagane_gateway.routes import SERVICES, methods_router, owner_of, router
from komagane_gateway.settings import GatewaySettings
from komagane_gateway.tokens import TokenVerifier
from komagane_gateway.upstream import Upstream
from komagane_kit.fastpath import FastPaths
from komagane_kit.health import Check
from komagane_kit.internal_auth import MIN_SECRET_BYTES
from komagane_kit.service import create_app

ROUTERS = [methods_router, city_router, composed_router, rights_router, care_router, router]  # `router` last: it ends with the catch-all forwarder
# The gateway's own middleware (the direct forwarding applies the app's middleware too).
MIDDLEWARE = [Middleware(RateLimitHeaders), Middleware(LocalizedProblems)]


def build_gateway(settings: GatewaySettings) -> tuple[FastAPI, ASGIApp]:
    """The FastAPI application and what is served: the same app behind its fast paths (without
    them when `FAST_PATHS=0`). A factory, so a test can run one gateway in-process and call it
    either way."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.redis = aioredis.Redis.from_url(settings.redis_url)
        app.state.rate_limiter = RateLimiter(
            app.state.redis,
            read=Limit(settings.rate_limit_read_per_second, settings.rate_limit_read_burst),
            write=Limit(settings.rate_limit_write_per_second, settings.rate_limit_write_burst),
            enabled=settings.rate_limit_enabled,
        )
        app.state.read_cache = ReadCache(settings.read_cache_entries)
        app.state.stream_poll_seconds = settings.profile_stream_poll_seconds
        app.state.idempotency = IdempotencyStore(app.state.redis, ttl_seconds=settings.idempotency_ttl_seconds, wait_seconds=settings.idempotency_wait_seconds)
        secret = settings.internal_token_secret.get_secret_value()
        if len(secret.encode()) < MIN_SECRET_BYTES:
            raise RuntimeError(
                f"INTERNAL_TOKEN_SECRET must be set (at least {MIN_SECRET_BYTES} bytes): the gateway signs the caller's identity for the services with it"
            )
        app.state.upstreams = {
            name: Upstream(
                name,
                getattr(settings, f"{name}_url"),
                settings.upstream_timeout_seconds,
                internal_secret=secret,
                internal_ttl_seconds=settings.internal_token_ttl_seconds,
                breaker=CircuitBreaker(settings.circuit_failure_threshold, settings.circuit_open_seconds),
                connect_timeout_seconds=settings.upstream_connect_timeout_seconds,
                read_timeout_seconds=settings.upstream_read_timeout_seconds,
            )
            for name in SERVICES
        }
        await fetch_upstream_docs(app)  # usually all of them, before the first request
        documents = asyncio.create_task(complete_upstream_docs(app), name="openapi-documents")
        try:
            yield
        finally:
            documents.cancel()
            for upstream in app.state.upstreams.values():
                await upstream.close()
            await app.state.redis.aclose()

    async def redis_ready() -> bool:
        return bool(await app.state.redis.ping())

    def service_ready(name: str) -> Check:
        async def ready() -> bool:
            return bool(await app.state.upstreams[name].ready())

        return ready

    app = create_app(
        settings,
        title="Komagane Lifelong-Active Town API",
        description="The public API of the 生涯活躍のまち platform: people, consent and role-and-belonging profiles.",
        routers=ROUTERS,
        # One check per service, so a failing /readyz names the service that is down.
        checks={"redis": redis_ready, **{name: service_ready(name) for name in SERVICES}},
        lifespan=lifespan,
        internal_auth=False,  # the gateway authenticates callers itself (auth.py)
        middleware=MIDDLEWARE,
        # Calls to the services are traced by Upstream itself; the gateway uses no httpx.
        telemetry_libraries={"redis"},
        framework_docs=False,  # served from local files below
    )
    install_docs(app, settings.swagger_ui_dir)
    # Before the first request: on first start this generates the development signing key.
    app.state.token_verifier = TokenVerifier(settings)

    app.openapi = merged_openapi(app, owner_of)  # type: ignore[method-assign]
    return app, FastPaths(app, application_of=lambda: app) if settings.fast_paths else app


settings = GatewaySettings()
app, asgi = build_gateway(settings)


def run() -> None:
    uvicorn.run(asgi, host=settings.host, port=settings.port, log_config=None, timeout_graceful_shutdown=10)


if __name__ == "__main__":
    run()
