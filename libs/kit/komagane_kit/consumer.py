"""At-least-once Kafka consumer for services that fold events into their own database.

For each message, in partition order: parse the CloudEvent, then in one database transaction
record its id in the `inbox` table and run the handler (a redelivered event finds its id and is
skipped). A failing handler is retried with backoff; after `max_attempts`, or at once for a
message that is not a valid event, the message goes to `<topic>.dlq` with error headers — and
only after the broker acknowledged the dead letter is the offset committed.

Messages that arrive together are handled together: the valid events of one fetch, from every
partition it brought (each partition's in its order), share one transaction (inbox rows and
handlers, one commit) and one offset commit, which is what lets a consumer keep up with a busy
pillar topic. Should that transaction fail, nothing of it stays and its events are handled one
by one as above, so a poison message still ends alone in the DLQ and the others still land.

A transaction and an offset commit cost the same for one event as for a hundred. A consumer that
is not in a hurry (`fetch_wait_ms`) lets the broker hold each fetch that long to gather more:
at a steady load its fetches then carry many events instead of one or two.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.errors import KafkaError
from opentelemetry import trace
from sqlalchemy import insert
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, Session, SQLModel, col, select

from komagane_contracts.envelope import CloudEvent, InvalidEvent
from komagane_contracts.topics import dlq_name
from komagane_kit.db import transaction
from komagane_kit.dlq import dead_letter_headers
from komagane_kit.kafka import ABANDON_SECONDS, CLOSE_SECONDS, client_options, producer_config, stop_client
from komagane_kit.telemetry import context_from_headers

log = logging.getLogger(__name__)
tracer = trace.get_tracer("komagane.consumer")

EventHandler = Callable[[CloudEvent, Session], None]
# The consumer calls its handler with the topic too, so one group can dispatch several topics.
TopicHandler = Callable[[CloudEvent, Session, str], None]
# With `fetch_wait_ms`: a fetch is answered when this much has gathered, or after the wait.
FETCH_GATHER_BYTES = 1024 * 1024
# `session.info` key of the events a transaction handles together (a list of CloudEvent): a
# handler may read what all of them need in one query instead of one per event.
BATCH_EVENTS = "komagane.consumer.batch_events"


class InboxEntry(SQLModel, table=True):
    __tablename__ = "inbox"

    consumer_group: str = Field(primary_key=True, max_length=200)
    event_id: str = Field(primary_key=True, max_length=64)
    handled_at: datetime = Field(default_factory=lambda: datetime.now(UTC))


class EventConsumer:
    def __init__(
        self,
        engine: Engine,
        bootstrap_servers: str,
        *,
        group_id: str,
        topics: Sequence[str],
        handler: TopicHandler,
        max_attempts: int = 3,
        retry_backoff_seconds: float = 0.2,
        fetch_wait_ms: int = 0,
    ) -> None:
        """`fetch_wait_ms`: how long the broker may hold a fetch to gather more messages (0: a
        fetch is answered as soon as there is anything)."""
        self._engine = engine
        self._bootstrap = bootstrap_servers
        self.group_id = group_id
        self._topics = list(topics)
        self._handler = handler
        self._max_attempts = max_attempts
        self._backoff = retry_backoff_seconds
        self._fetch_wait_ms = fetch_wait_ms
        self._consumer: AIOKafkaConsumer | None = None
        self._producer: AIOKafkaProducer | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self.handled = 0
        self.dead_lettered = 0
        self.batches_together = 0  # fetches handled in one transaction

    def start(self) -> None:
        """Join the group in the background, retrying while Kafka is unreachable."""
        self._task = asyncio.create_task(self._run(), name=f"consumer-{self.group_id}")

    async def _connect(self) -> None:
        backoff = self._backoff
        gather = {"fetch_min_bytes": FETCH_GATHER_BYTES, "fetch_max_wait_ms": self._fetch_wait_ms} if self._fetch_wait_ms > 0 else {}
        while True:
            consumer = AIOKafkaConsumer(
                *self._topics,
                **client_options(self._bootstrap),
                group_id=self.group_id,
                enable_auto_commit=False,
                auto_offset_reset="earliest",  # a new group must not skip what came before it joined
                isolation_level="read_committed",
                **gather,
            )
            producer = AIOKafkaProducer(**producer_config(self._bootstrap, client_id=f"{self.group_id}-dlq"))
            try:
                await producer.start()
                await consumer.start()
            except BaseException as exc:  # cancelled too (a stop): neither may be left half open
                await stop_client(producer, name=f"{self.group_id} dead-letter producer", timeout=ABANDON_SECONDS)
                await stop_client(consumer, name=f"{self.group_id} consumer", timeout=ABANDON_SECONDS)
                if not isinstance(exc, KafkaError):
                    raise
                log.warning("consumer %s cannot reach Kafka, retrying in %.1fs: %s", self.group_id, backoff, exc)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
                continue
            self._consumer, self._producer = consumer, producer
            return

    async def stop(self, timeout: float = 3.0) -> None:
        """Finish the fetch in hand and commit its offsets, then leave the group.

        Bounded by `timeout` (and CLOSE_SECONDS per client): with the broker away the commit
        cannot happen, and the events handled since the last one come again on the next start,
        where the inbox skips them.
        """
        self._stopping = True
        if self._task is not None:
            if self._consumer is None:  # still connecting: nothing in hand
                self._task.cancel()
            done, _ = await asyncio.wait({self._task}, timeout=timeout)
            if not done:
                log.warning("consumer %s: the last offsets were not committed within %.0f s (is the broker away?)", self.group_id, timeout)
                self._task.cancel()
                await asyncio.wait({self._task}, timeout=CLOSE_SECONDS)
            if self._task.done() and not self._task.cancelled() and self._task.exception() is not None:
                log.warning("consumer %s ended with %r", self.group_id, self._task.exception())
        if self._consumer is not None:
            await stop_client(self._consumer, name=f"{self.group_id} consumer", timeout=CLOSE_SECONDS)
        if self._producer is not None:
            await stop_client(self._producer, name=f"{self.group_id} dead-letter producer", timeout=CLOSE_SECONDS)

    async def _run(self) -> None:
        await self._connect()
        assert self._consumer is not None
        while not self._stopping:
            batches = await self._consumer.getmany(timeout_ms=500, max_records=200)
            if batches:
                # Every partition's records in their order; partitions need no order between them.
                await asyncio.shield(self._process_batch([record for records in batches.values() for record in records]))
                await self._consumer.commit({tp: records[-1].offset + 1 for tp, records in batches.items()})

    async def _process_batch(self, records: list[ConsumerRecord[bytes, bytes]]) -> None:
        """The records of one fetch, each partition's in order: together in one transaction when they can be."""
        events: list[tuple[ConsumerRecord[bytes, bytes], CloudEvent]] = []
        for record in records:
            try:
                events.append((record, CloudEvent.from_kafka(record.value, list(record.headers or ()))))
            except InvalidEvent:
                events.clear()  # one invalid message: the record-by-record path dead-letters it in its place
                break
        if len(events) > 1:
            try:
                await asyncio.to_thread(self._handle_together, events)
                self.handled += len(events)
                self.batches_together += 1
                return
            except Exception as exc:
                log.warning("handling %d events together failed (%s); handling them one by one", len(events), exc)
        for record in records:
            await self._process(record)

    def _handle_together(self, events: list[tuple[ConsumerRecord[bytes, bytes], CloudEvent]]) -> None:
        """One transaction for all: each new event's handler, under its own span, and the inbox
        rows of them all in one statement (an ORM object each would cost more than the insert)."""
        with transaction(self._engine) as session:
            session.info[BATCH_EVENTS] = [event for _, event in events]
            ids = list(dict.fromkeys(event.id for _, event in events))
            seen = set(session.exec(select(InboxEntry.event_id).where(InboxEntry.consumer_group == self.group_id, col(InboxEntry.event_id).in_(ids))).all())
            handled: list[dict[str, object]] = []
            now = datetime.now(UTC)
            for record, event in events:
                if event.id in seen:
                    log.info("skipping duplicate event %s", event.id)
                    continue
                seen.add(event.id)
                with self._span(record) as span:
                    span.set_attribute("messaging.message.id", event.id)
                    self._handler(event, session, record.topic)
                handled.append({"consumer_group": self.group_id, "event_id": event.id, "handled_at": now})
            if handled:
                session.execute(insert(InboxEntry), handled)

    async def _process(self, record: ConsumerRecord[bytes, bytes]) -> None:
        headers = list(record.headers or ())
        with self._span(record) as span:
            try:
                event = CloudEvent.from_kafka(record.value, headers)
            except InvalidEvent as exc:
                await self._dead_letter(record, exc, attempts=1)
                return
            span.set_attribute("messaging.message.id", event.id)
            for attempt in range(1, self._max_attempts + 1):
                try:
                    await asyncio.to_thread(self._handle_once, event, record.topic)
                    self.handled += 1
                    return
                except Exception as exc:
                    if attempt == self._max_attempts:
                        span.record_exception(exc)
                        await self._dead_letter(record, exc, attempts=attempt)
                        return
                    log.warning("handler failed for %s (attempt %d): %s", event.id, attempt, exc)
                    await asyncio.sleep(self._backoff * 2 ** (attempt - 1))

    @contextlib.contextmanager
    def _span(self, record: ConsumerRecord[bytes, bytes]) -> Iterator[trace.Span]:
        """The consumer span of one message, continuing the trace it carries."""
        context = context_from_headers(list(record.headers or ()))
        with tracer.start_as_current_span(f"consume {record.topic}", context=context, kind=trace.SpanKind.CONSUMER) as span:
            span.set_attribute("messaging.consumer.group.name", self.group_id)
            yield span

    def _handle_once(self, event: CloudEvent, topic: str) -> None:
        try:
            with transaction(self._engine) as session:
                session.info[BATCH_EVENTS] = [event]
                session.add(InboxEntry(consumer_group=self.group_id, event_id=event.id))
                session.flush()  # a duplicate id fails here, before the handler runs
                self._handler(event, session, topic)
        except IntegrityError:
            with Session(self._engine) as session:
                if session.get(InboxEntry, (self.group_id, event.id)) is not None:
                    log.info("skipping duplicate event %s", event.id)
                    return
            raise

    async def _dead_letter(self, record: ConsumerRecord[bytes, bytes], error: BaseException, *, attempts: int) -> None:
        assert self._producer is not None
        headers = dead_letter_headers(
            record.headers or (),
            error,
            topic=record.topic,
            partition=record.partition,
            offset=record.offset,
            attempts=attempts,
            consumer_group=self.group_id,
        )
        backoff = self._backoff
        while True:  # the offset is committed only once the dead letter is safely stored
            try:
                await self._producer.send_and_wait(dlq_name(record.topic), value=record.value, key=record.key, headers=headers)
                break
            except KafkaError as exc:
                log.warning("dead-letter publish failed, retrying in %.1fs: %s", backoff, exc)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
        self.dead_lettered += 1
        log.error("dead-lettered %s[%d]@%d after %d attempt(s): %s", record.topic, record.partition, record.offset, attempts, error)


__all__ = ["BATCH_EVENTS", "EventConsumer", "EventHandler", "InboxEntry", "TopicPartition"]
