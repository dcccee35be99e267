"""Transactional outbox: events are rows written in the same transaction as the state change.

`enqueue(session, event)` adds the row; `OutboxRelay` publishes unpublished rows in id order
with an idempotent producer (acks=all), marks them published, and retries with backoff while
Kafka is unreachable. Nothing is lost: a row stays until the broker acknowledged it, and a row
is re-sent (never skipped) when anything before it in the batch failed, so per-key order holds.
Nor is anything published twice when the process or its database dies between the broker's
acknowledgement and the mark: acknowledged rows are remembered until marked, and a relay that
starts (or recovers from a failed send) first looks for its unmarked rows on the topics
(outbox_reconcile.py). Consumers still deduplicate by event id, as at-least-once demands. Woken by a commit, the relay
lingers a few milliseconds (`linger_seconds`) so that commits arriving together share a batch.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.errors import TopicAuthorizationFailedError
from opentelemetry import context as otel_context
from opentelemetry import metrics, propagate, trace
from sqlalchemy import BigInteger, Column, Index, Integer, Row, String, Text, func, insert, update
from sqlalchemy import event as sa_event
from sqlalchemy import select as select_columns
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError
from sqlmodel import Field, Session, SQLModel, select

from komagane_contracts.envelope import CloudEvent
from komagane_contracts.kafka_access import PARTNER_TOPIC_PREFIX
from komagane_contracts.topics import topic_for
from komagane_kit.db import insert_row, transaction
from komagane_kit.kafka import ABANDON_SECONDS, CLOSE_SECONDS, producer_config, stop_client
from komagane_kit.outbox_lease import RelayLease
from komagane_kit.outbox_reconcile import published_event_ids

log = logging.getLogger(__name__)
tracer = trace.get_tracer("komagane.outbox")
meter = metrics.get_meter("komagane.outbox")


class OutboxMessage(SQLModel, table=True):
    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_unpublished", "published_at", "id"),)

    id: int | None = Field(default=None, sa_column=Column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True))
    event_id: str = Field(sa_column=Column(String(64), unique=True, nullable=False))
    topic: str = Field(max_length=200)
    message_key: str | None = Field(default=None, max_length=200)
    event_type: str = Field(max_length=200)
    headers: str = Field(sa_column=Column(Text, nullable=False), description="JSON list of [name, value]")
    payload: str = Field(sa_column=Column(Text, nullable=False))
    traceparent: str | None = Field(default=None, max_length=64)
    tracestate: str | None = Field(default=None, max_length=512)
    created_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    published_at: datetime | None = None
    attempts: int = 0
    last_error: str | None = Field(default=None, max_length=500)


_OUTBOX = OutboxMessage.__table__  # type: ignore[attr-defined]
# One statement object, its values given at execution: SQLAlchemy then finds the compiled form
# by a key computed once, instead of building and hashing a VALUES clause for every row.
_INSERT_OUTBOX = insert(_OUTBOX)
_WAKE_FLAG = "komagane.outbox.dirty"
_wake_callbacks: list[Callable[[], None]] = []


def enqueue(session: Session, event: CloudEvent, *, topic: str | None = None, propagate_trace: bool = True) -> None:
    """Add `event` to the outbox in the session's transaction, remembering the current trace
    (unless `propagate_trace` is off: messages for outside parties carry no trace context)."""
    # A plain INSERT now rather than an ORM object flushed at commit: cheaper on every write
    # path, and rows still get their ids (the relay's order) in the order they were enqueued.
    values = _row_values(event, topic, _trace_carrier() if propagate_trace else {})
    insert_row(session, _INSERT_OUTBOX, values | {"created_at": datetime.now(UTC)})
    session.info[_WAKE_FLAG] = True


def enqueue_many(session: Session, events: Sequence[CloudEvent], *, topic: str | None = None) -> int:
    """Add many events in one bulk INSERT (batch endpoints: thousands of rows per request)."""
    if not events:
        return 0
    carrier = _trace_carrier()
    session.execute(insert(OutboxMessage), [_row_values(event, topic, carrier) | {"created_at": datetime.now(UTC)} for event in events])
    session.info[_WAKE_FLAG] = True
    return len(events)


def _trace_carrier() -> dict[str, str]:
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier


def _row_values(event: CloudEvent, topic: str | None, carrier: dict[str, str]) -> dict[str, Any]:
    headers = [(name, value.decode()) for name, value in event.headers() if name not in ("traceparent", "tracestate")]
    return {
        "event_id": event.id,
        "topic": topic or _topic_of(event),
        "message_key": event.subject,
        "event_type": event.type,
        "headers": json.dumps(headers, ensure_ascii=False),
        "payload": event.value().decode(),
        "traceparent": carrier.get("traceparent"),
        "tracestate": carrier.get("tracestate"),
    }


def _topic_of(event: CloudEvent) -> str:
    from komagane_contracts.registry import event_class

    cls = event_class(event.type)
    if cls is None:
        raise LookupError(f"no registered topic for {event.type}")
    return topic_for(cls).name


@sa_event.listens_for(Session, "after_commit")
def _wake_relays(session: Session) -> None:
    if session.info.pop(_WAKE_FLAG, False):
        for callback in list(_wake_callbacks):
            callback()


@sa_event.listens_for(Session, "after_rollback")
def _forget_wake(session: Session) -> None:
    session.info.pop(_WAKE_FLAG, None)


def backlog(engine: Engine) -> tuple[int, float]:
    """Unpublished rows and the age in seconds of the oldest one."""
    with Session(engine) as session:
        count, oldest = session.exec(
            select(func.count(), func.min(OutboxMessage.created_at)).where(OutboxMessage.published_at.is_(None))  # type: ignore[union-attr]
        ).one()
    age = 0.0
    if oldest is not None:
        oldest_utc = oldest if oldest.tzinfo else oldest.replace(tzinfo=UTC)
        age = max(0.0, (datetime.now(UTC) - oldest_utc).total_seconds())
    return int(count), age


class OutboxRelay:
    """Publishes the outbox of one database. Run it as a task; `stop()` drains before returning."""

    def __init__(
        self,
        engine: Engine,
        bootstrap_servers: str,
        *,
        client_id: str,
        poll_seconds: float = 1.0,
        batch_size: int = 500,
        backoff_max_seconds: float = 5.0,
        linger_seconds: float = 0.0,
    ) -> None:
        self._engine = engine
        self._bootstrap = bootstrap_servers
        self._client_id = client_id
        self._poll = poll_seconds
        self._batch_size = batch_size
        self._backoff_max = backoff_max_seconds
        self._linger = linger_seconds
        self._producer: AIOKafkaProducer | None = None
        self._wake = asyncio.Event()
        self._stopping = False
        self._stopped = asyncio.Event()  # ends a backoff at once
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self.published_total = 0
        self.healthy = False
        # Acknowledged by the broker, but marking them failed (the database went away): marked
        # first on the next round and never sent again.
        self._acked_unmarked: list[int] = []
        # Whether the rows a predecessor left unmarked were looked for on the topics yet.
        self._reconciled = False
        # Only the replica holding the lease publishes (outbox_lease); the others stand by.
        self._lease = RelayLease(engine)
        self._unpublished = (
            select_columns(
                *(_OUTBOX.c[name] for name in ("id", "event_id", "topic", "message_key", "event_type", "headers", "payload", "traceparent", "tracestate"))
            )
            .where(_OUTBOX.c.published_at.is_(None))
            .order_by(_OUTBOX.c.id)
            .limit(batch_size)
        )
        self._register_metrics()

    def _register_metrics(self) -> None:
        def observe_backlog(_options: Any) -> list[metrics.Observation]:
            count, _age = backlog(self._engine)
            return [metrics.Observation(count)]

        def observe_age(_options: Any) -> list[metrics.Observation]:
            _count, age = backlog(self._engine)
            return [metrics.Observation(age)]

        meter.create_observable_gauge("outbox.backlog", [observe_backlog], unit="{message}", description="Unpublished outbox rows")
        meter.create_observable_gauge("outbox.oldest_age", [observe_age], unit="s", description="Age of the oldest unpublished row")
        self._published_counter = meter.create_counter("outbox.published", unit="{message}")

    def wake(self) -> None:
        """Thread-safe: look at the outbox now (called after every commit that enqueued)."""
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._wake.set)

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        _wake_callbacks.append(self.wake)
        self._task = asyncio.create_task(self._run(), name="outbox-relay")

    async def stop(self, drain_seconds: float = 3.0) -> None:
        """Publish what is left (bounded by `drain_seconds`), then close the producer.

        With the broker away nothing is tried again: the rows stay unpublished in the database
        and the next start sends them, so a stop takes moments, not the client's timeouts.
        """
        if self.wake in _wake_callbacks:
            _wake_callbacks.remove(self.wake)
        self._stopping = True
        self._stopped.set()
        self._wake.set()
        if self._task is not None:
            done, _ = await asyncio.wait({self._task}, timeout=drain_seconds)
            if not done:
                log.warning("outbox relay: rows left unpublished after %.0f s; the next start sends them", drain_seconds)
                self._task.cancel()
                await asyncio.wait({self._task})  # (to_thread work cannot be interrupted; it is short)
                await self._close_producer(timeout=ABANDON_SECONDS)  # its unsent messages are still rows
            elif not self._task.cancelled() and self._task.exception() is not None:
                log.warning("outbox relay ended with %r", self._task.exception())
        await self._close_producer()
        await asyncio.to_thread(self._lease.release)

    async def _run(self) -> None:
        backoff = 0.1
        while True:
            # Cleared before reading: a commit from here on wakes the next round at once.
            self._wake.clear()
            try:
                published = await self.publish_batch()
                self.healthy = True
                backoff = 0.1
            except Exception as exc:  # Kafka down, DB hiccup: keep the rows, retry later
                self.healthy = False
                # A send whose answer was lost may still have been written: look first next time.
                self._reconciled = False
                if isinstance(exc, DBAPIError):
                    self._lease.release()  # the database went away: so may the lock; take it anew
                log.warning("outbox relay: publish failed, retrying in %.1fs: %s", backoff, exc)
                await self._close_producer()
                if not self._stopping:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._stopped.wait(), timeout=backoff)
                if self._stopping:
                    return  # the broker is away: the rows wait for the next start
                backoff = min(backoff * 2, self._backoff_max)
                continue
            if published >= self._batch_size:
                continue  # there may be more
            if self._stopping:
                return
            # (a partial batch was all there was; rows committed since have set the event)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self._poll)
                if self._linger and not self._stopping:
                    # Woken by a commit: let the next few commits join this batch. Every batch
                    # costs two transactions here and a produce request at the broker,
                    # whether it carries one row or fifty.
                    await asyncio.sleep(self._linger)

    async def _ensure_producer(self) -> AIOKafkaProducer:
        if self._producer is None:
            producer = AIOKafkaProducer(**producer_config(self._bootstrap, client_id=self._client_id))
            try:
                await producer.start()
            except BaseException:
                await stop_client(producer, name=f"{self._client_id} producer", timeout=ABANDON_SECONDS)
                raise
            self._producer = producer
        return self._producer

    async def _close_producer(self, timeout: float = CLOSE_SECONDS) -> None:
        if self._producer is not None:
            producer, self._producer = self._producer, None
            await stop_client(producer, name=f"{self._client_id} producer", timeout=timeout)

    async def publish_batch(self) -> int:
        """Publish one batch; returns how many rows were marked published (0 on a standby replica)."""
        if not await asyncio.to_thread(self._lease.held):
            self._reconciled = False  # when this replica takes over, it looks for its predecessor's rows first
            return 0
        if self._acked_unmarked:
            await asyncio.to_thread(self._mark_published, self._acked_unmarked)
            self._acked_unmarked = []
        rows = await asyncio.to_thread(self._read_batch)
        if not self._reconciled:
            rows = await self._skip_already_published(rows)
        if not rows:
            return 0
        producer = await self._ensure_producer()
        futures: list[asyncio.Future[Any]] = []
        for row in rows:
            futures.append(await self._send(producer, row))
        results = await asyncio.gather(*futures, return_exceptions=True)
        # Only the prefix that all succeeded is marked; everything after a failure is re-sent,
        # so a later event for a key can never overtake an earlier one that failed.
        done: list[int] = []
        failure: BaseException | None = None
        for row, result in zip(rows, results, strict=True):
            if isinstance(result, BaseException):
                failure = result
                break
            done.append(row.id)
        if done:
            try:
                await asyncio.to_thread(self._mark_published, done)
            except Exception:
                self._acked_unmarked = done
                raise
            self.published_total += len(done)
            self._published_counter.add(len(done))
        if failure is not None:
            await asyncio.to_thread(self._note_failure, rows[len(done)].id, repr(failure))
            raise failure
        return len(done)

    async def _skip_already_published(self, rows: list[Row[Any]]) -> list[Row[Any]]:
        """Mark the rows a predecessor published but did not mark (outbox_reconcile); the rest."""
        if rows:
            try:
                found = await published_event_ids(self._bootstrap, {row.topic for row in rows}, depth=self._batch_size)
            except TopicAuthorizationFailedError:
                log.warning("outbox relay: may not read back its topics; a row published just before a crash may be published twice")
                found = set()
            already = [row.id for row in rows if row.event_id in found]
            if already:
                await asyncio.to_thread(self._mark_published, already)
                log.info("outbox relay: %d rows were published before the last stop; marked, not sent again", len(already))
            rows = [row for row in rows if row.event_id not in found]
        self._reconciled = True
        return rows

    async def _send(self, producer: AIOKafkaProducer, row: Row[Any]) -> asyncio.Future[Any]:
        parent = propagate.extract({k: v for k, v in (("traceparent", row.traceparent), ("tracestate", row.tracestate)) if v})
        token = otel_context.attach(parent)
        try:
            with tracer.start_as_current_span(f"outbox publish {row.topic}", kind=trace.SpanKind.PRODUCER) as span:
                span.set_attribute("messaging.system", "kafka")
                span.set_attribute("messaging.destination.name", row.topic)
                span.set_attribute("messaging.message.id", row.event_id)
                span.set_attribute("cloudevents.event_type", row.event_type)
                headers = [(name, value.encode()) for name, value in json.loads(row.headers)]
                if not row.topic.startswith(PARTNER_TOPIC_PREFIX):
                    # (Partner topics leave the city: no trace headers pointing into its telemetry.)
                    carrier: dict[str, str] = {}
                    propagate.inject(carrier)
                    headers += [(k, v.encode()) for k, v in carrier.items()]
                delivery: asyncio.Future[Any] = await producer.send(
                    row.topic,
                    value=row.payload.encode(),
                    key=row.message_key.encode() if row.message_key else None,
                    headers=headers,
                )
                return delivery
        finally:
            otel_context.detach(token)

    def _read_batch(self) -> list[Row[Any]]:
        # Plain rows, no ORM objects: the relay reads every event once. One statement needs no
        # transaction around it (autocommit spares a BEGIN and a ROLLBACK round trip per batch).
        with self._engine.connect() as connection:
            return list(connection.execution_options(isolation_level="AUTOCOMMIT").execute(self._unpublished).all())

    def _mark_published(self, ids: list[int]) -> None:
        now = datetime.now(UTC)
        # Autocommit, each UPDATE on its own (no BEGIN/COMMIT round trips): every row it marks
        # was acknowledged, so a failure between two chunks leaves nothing wrongly marked.
        with self._engine.connect() as connection:
            connection.execution_options(isolation_level="AUTOCOMMIT")  # (in place, for this checkout)
            for chunk_start in range(0, len(ids), 500):
                chunk = ids[chunk_start : chunk_start + 500]
                connection.execute(update(_OUTBOX).where(_OUTBOX.c.id.in_(chunk)).values(published_at=now, attempts=_OUTBOX.c.attempts + 1))

    def _note_failure(self, row_id: int | None, error: str) -> None:
        if row_id is None:
            return
        with transaction(self._engine) as session:
            row = session.get(OutboxMessage, row_id)
            if row is not None:
                row.attempts += 1
                row.last_error = error[:500]
                session.add(row)
