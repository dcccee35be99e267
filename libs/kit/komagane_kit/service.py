"""Assembles a pillar service: FastAPI app, database, migrations, outbox relay, telemetry, health.

A service module only supplies its settings, routers and migration folder:

    app = create_service_app(settings, title="People", routers=[router], migrations=MIGRATIONS)
"""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import AsyncIterator, Callable, Collection, Coroutine, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.middleware import Middleware
from fastapi.telemetry import TelemetryConfig
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session

from komagane_kit.consumer import EventConsumer, EventHandler
from komagane_kit.db import UNIT_OF_WORK, close_session, make_engine, run_migrations
from komagane_kit.errors import BodySizeLimit, install_problem_handlers
from komagane_kit.fastpath import FastPaths, declares_fast_paths
from komagane_kit.health import PROBE_PATHS, Check, health_router
from komagane_kit.http_telemetry import ServerTelemetry
from komagane_kit.idempotency import IdempotencyMiddleware
from komagane_kit.internal_auth import MIN_SECRET_BYTES, InternalAuth
from komagane_kit.openapi import document_problems
from komagane_kit.outbox import OutboxRelay
from komagane_kit.settings import ServiceSettings
from komagane_kit.strict_body import strict_json_body
from komagane_kit.telemetry import ALL_LIBRARIES, setup_telemetry, shutdown_telemetry

log = logging.getLogger(__name__)


Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[None]]
_NO_FRAMEWORK_TELEMETRY: TelemetryConfig = {"tracing": False, "metrics": False, "logs": False, "operation_spans": False}


def create_app(
    settings: ServiceSettings,
    *,
    title: str,
    description: str,
    routers: Sequence[APIRouter],
    checks: dict[str, Check],
    lifespan: Lifespan,
    internal_auth: bool = True,
    middleware: Sequence[Middleware] = (),
    telemetry_libraries: Collection[str] = ALL_LIBRARIES,
    framework_docs: bool = True,
) -> FastAPI:
    """What every HTTP process shares: telemetry, problem+json, body limit, health, tracing.

    `framework_docs` off: no FastAPI `/docs` and `/redoc` (they load their scripts from a CDN);
    the gateway serves its own from local files (komagane_gateway.docs).

    With `internal_auth` (every service; only the gateway, which authenticates callers itself,
    turns it off) a request needs the gateway's internal token (komagane_kit.internal_auth);
    that check runs before anything else, `middleware` included. `telemetry_libraries`: the
    client libraries that get automatic spans (komagane_kit.telemetry).
    """
    setup_telemetry(settings.service_name, log_level=settings.log_level, libraries=telemetry_libraries)

    @asynccontextmanager
    async def with_telemetry(app: FastAPI) -> AsyncIterator[None]:
        try:
            async with lifespan(app):
                # What start-up built (modules, the app, OpenAPI documents) lives as long as the
                # process: out of the collector's sight, full collections stay short and a
                # request no longer waits tens of milliseconds for one now and then.
                gc.collect()
                gc.freeze()
                log.info("%s started", settings.service_name)
                yield
        finally:
            shutdown_telemetry()

    # FastAPI's own OpenTelemetry support stays off: ServerTelemetry records the one server span
    # and the metrics the dashboards read, at a fraction of its cost per request.
    # No redirects to the path with(out) a trailing slash: an API answers for the path it is given
    # (a 307 is no answer the document could list, and clients would re-send writes).
    app = FastAPI(
        title=title,
        description=description,
        version="1.0.0",
        lifespan=with_telemetry,
        telemetry=_NO_FRAMEWORK_TELEMETRY,
        redirect_slashes=False,
        docs_url="/docs" if framework_docs else None,
        redoc_url="/redoc" if framework_docs else None,
    )
    app.state.settings = settings
    install_problem_handlers(app)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    for extra in middleware:
        app.add_middleware(extra.cls, *extra.args, **extra.kwargs)
    if internal_auth:
        secret = settings.internal_token_secret.get_secret_value()
        if len(secret.encode()) < MIN_SECRET_BYTES:
            log.error("INTERNAL_TOKEN_SECRET is not set (or too short): %s will refuse every request but its probes", settings.service_name)
        app.add_middleware(InternalAuth, secret=secret)  # runs before all the app's own middleware
    # Added last, so outermost: refusals of the layers beneath (401, 413) are traced too.
    app.add_middleware(ServerTelemetry, skip_paths=PROBE_PATHS)
    app.include_router(health_router(checks))
    # A service checks each JSON body with JSON's own types first (komagane_kit.strict_body); the
    # gateway forwards bodies to them unread, and its access check must answer before any body's.
    body_checks = [Depends(strict_json_body)] if internal_auth else []
    for router in routers:
        app.include_router(router, dependencies=body_checks)
    document_problems(app)  # every operation's problem answers (komagane_kit.openapi)
    return app


def create_service_app(
    settings: ServiceSettings,
    *,
    title: str,
    routers: Sequence[APIRouter],
    migrations: Path | None,
    description: str = "",
    subscriptions: Mapping[str, EventHandler] | None = None,
    idempotent_posts: bool = False,
    background: Sequence[Callable[[Engine], Coroutine[Any, Any, None]]] = (),
) -> FastAPI:
    """A pillar service: its own database (migrated at start) and an outbox relay to Kafka.

    `subscriptions` maps each input topic to its handler — the one place where a service says
    what it listens to; they share one consumer group named after the service. With
    `idempotent_posts`, POST requests honour an `Idempotency-Key` header. Routes declared with a
    fast path (komagane_kit.fastpath) have it served just inside the internal-token check.
    `background` loops run for the life of the process (cancelled at shutdown, before the relay
    drains).
    """

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = make_engine(settings.database_url)
        if migrations is not None and settings.run_migrations:
            run_migrations(engine, migrations)
        relay = OutboxRelay(
            engine,
            settings.kafka_bootstrap_servers,
            client_id=f"{settings.service_name}-outbox",
            poll_seconds=settings.outbox_poll_seconds,
            batch_size=settings.outbox_batch_size,
            backoff_max_seconds=settings.outbox_backoff_max_seconds,
            linger_seconds=settings.outbox_linger_seconds,
        )
        app.state.engine = engine
        app.state.relay = relay
        relay.start()
        consumer = None
        if subscriptions:
            handlers = dict(subscriptions)
            consumer = EventConsumer(
                engine,
                settings.kafka_bootstrap_servers,
                group_id=settings.service_name,
                topics=list(handlers),
                handler=lambda event, session, topic: handlers[topic](event, session),
                fetch_wait_ms=settings.consumer_fetch_wait_ms,
            )
            consumer.start()
            app.state.consumer = consumer
        loops = [asyncio.create_task(loop(engine), name=getattr(loop, "__name__", "background")) for loop in background]
        try:
            yield
        finally:
            for task in loops:
                task.cancel()
            await asyncio.gather(*loops, return_exceptions=True)
            # Side by side, each bounded: with the broker away a stop takes seconds, not the
            # Kafka clients' timeouts, and leaves unpublished rows for the next start.
            await asyncio.gather(*([consumer.stop()] if consumer is not None else []), relay.stop())  # the relay publishes what is left
            engine.dispose()

    async def database_ready() -> bool:
        engine: Engine = app.state.engine
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        return True

    # Kafka is deliberately not a readiness dependency: the outbox keeps accepting writes
    # while the broker is away, which is the point of having one.
    # Idempotency replays stored responses, so it runs after the internal token check.
    def engine_of() -> Engine:
        engine: Engine = app.state.engine
        return engine

    middleware = [Middleware(IdempotencyMiddleware, engine_of=engine_of)] if idempotent_posts else []
    if settings.fast_paths and declares_fast_paths([route for router in routers for route in router.routes]):
        # Outside the idempotency middleware: a fast path stores its own answers. The app is
        # looked up when Starlette builds the middleware stack, after it exists.
        middleware.append(Middleware(FastPaths, application_of=lambda: app))
    app: FastAPI = create_app(
        settings, title=title, description=description, routers=routers, checks={"database": database_ready}, lifespan=lifespan, middleware=middleware
    )
    return app


async def _session(request: Request) -> AsyncIterator[Session]:
    """A session per request; the route commits explicitly, anything unfinished rolls back.

    A request with an `Idempotency-Key` gets the middleware's DeferredCommitSession instead, which commits
    the route's work together with the stored answer (komagane_kit.idempotency) and closes it.
    Otherwise opened and closed on the event loop rather than in the thread pool (a sync
    generator dependency costs two extra thread hops per request): opening touches no database,
    and closing does only when a transaction is left open — then it goes to a thread.
    """
    unit: Session | None = request.scope.get("state", {}).get(UNIT_OF_WORK)
    if unit is not None:
        yield unit
        return
    session = Session(request.app.state.engine, expire_on_commit=False)
    try:
        yield session
    finally:
        await close_session(session)


DbSession = Annotated[Session, Depends(_session)]
