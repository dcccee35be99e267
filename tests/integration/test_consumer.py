"""The kit's consumer base against a real broker: dedup by event id, retries, then the DLQ."""

from __future__ import annotations

import asyncio
import threading
import uuid
from datetime import UTC, datetime

from aiokafka import AIOKafkaConsumer, TopicPartition
from sqlalchemy import Engine, text
from sqlmodel import Session, SQLModel

from komagane_contracts.envelope import CloudEvent
from komagane_contracts.events.people import ConsentGranted
from komagane_contracts.topics import PEOPLE, TopicSpec, dlq_name
from komagane_devstack.stack import Stack
from komagane_kit.consumer import EventConsumer, InboxEntry
from komagane_kit.db import make_engine
from komagane_kit.kafka import client_options, ensure_topics
from tests.support.kafka import end_offsets, header, produce, read_topic
from tests.support.waiting import eventually


async def scratch(stack: Stack, db_url: str, *, partitions: int = 1, columns: str = "event_id VARCHAR(64) PRIMARY KEY") -> tuple[str, Engine, str]:
    """A fresh topic (with its DLQ), an engine on a database with the inbox, and a fresh table
    for what the test's handler records."""
    topic = f"test.consumer.{uuid.uuid4().hex[:8]}"
    spec = TopicSpec(topic, "person_id", (), PEOPLE.sensitivity, "test", partitions=partitions)
    await ensure_topics(stack.kafka.bootstrap, [spec, spec.dlq()])
    engine = make_engine(db_url)
    SQLModel.metadata.create_all(engine, tables=[InboxEntry.__table__])  # type: ignore[attr-defined]
    table = f"handled_{uuid.uuid4().hex[:6]}"
    with engine.begin() as conn:
        conn.execute(text(f"CREATE TABLE {table} ({columns})"))
    return topic, engine, table


def rows_in(engine: Engine, table: str) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())


async def test_duplicates_are_skipped_and_failures_dead_lettered_without_stopping(stack: Stack, db_url: str) -> None:
    topic, engine, table = await scratch(stack, db_url, columns="event_id VARCHAR(64) PRIMARY KEY, purpose VARCHAR(80)")

    attempts: dict[str, int] = {}

    def handler(event: CloudEvent, session: Session, topic: str) -> None:
        purpose = event.data["purpose"]
        attempts[purpose] = attempts.get(purpose, 0) + 1
        if purpose == "PARTNER:poison":
            raise RuntimeError("this event always fails")
        session.execute(text(f"INSERT INTO {table} VALUES (:id, :purpose)"), {"id": event.id, "purpose": purpose})

    def granted(purpose: str) -> CloudEvent:
        return CloudEvent.of(ConsentGranted(person_id="p", purpose=purpose, granted_at=datetime.now(UTC)))

    first, poison, last = granted("PROFILE"), granted("PARTNER:poison"), granted("HEALTH")
    for event in (first, first, poison):  # `first` twice: a redelivery
        await produce(stack.kafka.bootstrap, topic, key=event.key, value=event.value(), headers=event.headers())
    await produce(stack.kafka.bootstrap, topic, key=b"p", value=b"\x00not json", headers=[("ce_id", b"x")])
    await produce(stack.kafka.bootstrap, topic, key=last.key, value=last.value(), headers=last.headers())

    consumer = EventConsumer(
        engine, stack.kafka.bootstrap, group_id=f"g-{uuid.uuid4().hex[:6]}", topics=[topic], handler=handler, max_attempts=3, retry_backoff_seconds=0.01
    )
    consumer.start()
    try:

        async def handled() -> list[tuple[str, str]] | None:
            with engine.connect() as conn:
                rows = [(r[0], r[1]) for r in conn.execute(text(f"SELECT event_id, purpose FROM {table} ORDER BY purpose"))]
            return rows if len(rows) == 2 else None

        rows = await eventually(handled, timeout=60, what="both good events handled")
        dead = await eventually(lambda: _dead(stack, dlq_name(topic)), timeout=60, what="two dead letters")
    finally:
        await consumer.stop()

    assert rows == [(last.id, "HEALTH"), (first.id, "PROFILE")]  # the duplicate was not applied again
    # The poison message was tried three times on its own (and once more if it first came in a
    # batch with others, whose transaction then rolled back: handlers change only the database).
    assert attempts["PARTNER:poison"] in (3, 4) and header(dead[0], "dlq_attempts") == "3"
    poison_letter, malformed_letter = dead
    assert header(poison_letter, "ce_id") == poison.id  # original headers kept
    assert header(poison_letter, "dlq_error_class") == "RuntimeError"
    assert header(poison_letter, "dlq_attempts") == "3"
    assert header(poison_letter, "dlq_original_topic") == topic
    assert header(malformed_letter, "dlq_error_class") == "InvalidEvent"
    assert malformed_letter.value == b"\x00not json"
    engine.dispose()


async def _dead(stack: Stack, dlq: str) -> list | None:  # type: ignore[type-arg]
    records = await read_topic(stack.kafka.bootstrap, dlq)
    return records if len(records) == 2 else None


async def test_events_that_arrive_together_share_one_transaction(stack: Stack, db_url: str) -> None:
    topic, engine, table = await scratch(stack, db_url)

    def handler(event: CloudEvent, session: Session, topic: str) -> None:
        session.execute(text(f"INSERT INTO {table} VALUES (:id)"), {"id": event.id})

    events = [CloudEvent.of(ConsentGranted(person_id=f"p{n}", purpose="PROFILE", granted_at=datetime.now(UTC))) for n in range(60)]
    for event in [*events, *events[:10]]:  # the first ten twice: redeliveries inside the batch
        await produce(stack.kafka.bootstrap, topic, key=event.key, value=event.value(), headers=event.headers())
    consumer = EventConsumer(engine, stack.kafka.bootstrap, group_id=f"g-{uuid.uuid4().hex[:6]}", topics=[topic], handler=handler)
    consumer.start()
    try:

        async def all_handled() -> int | None:
            count = rows_in(engine, table)
            return count if count == len(events) and consumer.handled == 70 else None

        await eventually(all_handled, timeout=60, what="every event handled once")
    finally:
        await consumer.stop()
    assert consumer.batches_together >= 1  # (fetches of several messages went in one transaction)
    assert consumer.dead_lettered == 0
    engine.dispose()


async def test_one_fetch_from_several_partitions_is_one_transaction_and_one_offset_commit(stack: Stack, db_url: str) -> None:
    topic, engine, table = await scratch(stack, db_url, partitions=3)
    order: list[str] = []

    def handler(event: CloudEvent, session: Session, topic: str) -> None:
        session.execute(text(f"INSERT INTO {table} VALUES (:id)"), {"id": event.id})
        order.append(event.id)

    # Three people, each with ten events in order; their keys spread them over the partitions.
    events = [CloudEvent.of(ConsentGranted(person_id=f"p{n % 3}", purpose=f"PARTNER:x{n}", granted_at=datetime.now(UTC))) for n in range(30)]
    for event in events:
        await produce(stack.kafka.bootstrap, topic, key=event.key, value=event.value(), headers=event.headers())
    group = f"g-{uuid.uuid4().hex[:6]}"
    consumer = EventConsumer(engine, stack.kafka.bootstrap, group_id=group, topics=[topic], handler=handler, fetch_wait_ms=300)
    consumer.start()
    try:

        async def all_handled() -> int | None:
            count = rows_in(engine, table)
            return count if count == len(events) else None

        await eventually(all_handled, timeout=60, what="every event handled once")
        # The offsets are committed after the rows: on a loaded machine a moment later.
        ends = await end_offsets(stack.kafka.bootstrap, topic)

        async def all_committed() -> dict[int, int] | None:
            committed = await _committed(stack, group, topic)
            return committed if committed == ends else None

        await eventually(all_committed, timeout=60, what=f"offsets {ends} committed")
    finally:
        await consumer.stop()
    # One partition per transaction would take at least three; the partitions came in one fetch.
    assert consumer.batches_together <= 2 and consumer.handled == len(events)
    assert len(order) == len(events)  # each handled once, in one go
    for person in ("p0", "p1", "p2"):  # each person's (each partition's) events in their order
        theirs = [event.id for event in events if event.data["person_id"] == person]
        assert [event_id for event_id in order if event_id in theirs] == theirs
    engine.dispose()


async def _committed(stack: Stack, group: str, topic: str) -> dict[int, int]:
    """The group's committed offset of each partition of `topic`."""
    probe = AIOKafkaConsumer(**client_options(stack.kafka.bootstrap), group_id=group, enable_auto_commit=False)
    await probe.start()
    try:
        await probe._client.force_metadata_update()
        partitions = sorted(probe.partitions_for_topic(topic) or set())
        return {p: await probe.committed(TopicPartition(topic, p)) or 0 for p in partitions}
    finally:
        await probe.stop()


async def test_a_stop_while_a_fetch_is_handled_commits_its_offsets(stack: Stack, db_url: str) -> None:
    topic, engine, table = await scratch(stack, db_url)
    entered, release = threading.Event(), threading.Event()

    def handler(event: CloudEvent, session: Session, topic: str) -> None:
        entered.set()
        release.wait(timeout=30)  # held until the stop has begun
        session.execute(text(f"INSERT INTO {table} VALUES (:id)"), {"id": event.id})

    event = CloudEvent.of(ConsentGranted(person_id="p", purpose="PROFILE", granted_at=datetime.now(UTC)))
    await produce(stack.kafka.bootstrap, topic, key=event.key, value=event.value(), headers=event.headers())
    group = f"g-{uuid.uuid4().hex[:6]}"
    consumer = EventConsumer(engine, stack.kafka.bootstrap, group_id=group, topics=[topic], handler=handler)
    consumer.start()

    async def in_handler() -> bool:
        return entered.is_set()

    await eventually(in_handler, timeout=60, what="the handler running")
    stopping = asyncio.create_task(consumer.stop())

    async def stop_begun() -> bool:
        return stopping.done() or consumer._stopping

    await eventually(stop_begun, what="the stop begun")
    release.set()
    await stopping
    assert rows_in(engine, table) == 1
    # The event in hand was finished and its offset committed: a restart does not fetch it again.
    assert await _committed(stack, group, topic) == {0: 1}
    engine.dispose()
