"""The outbox relay against a real broker, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

from komagane_contracts.envelope import CloudEvent
from komagane_contracts.events.people import ConsentGranted
from komagane_contracts.topics import PEOPLE, TopicSpec
from komagane_devstack.stack import Stack
from komagane_kit.db import make_engine, run_migrations, transaction
from komagane_kit.kafka import ensure_topics
from komagane_kit.outbox import OutboxRelay, backlog, enqueue, enqueue_many
from komagane_people.main import MIGRATIONS
from tests.support.kafka import header, read_topic
from tests.support.waiting import eventually


async def test_relay_publishes_every_row_once_in_order_per_key(stack: Stack, db_url: str) -> None:
    topic = f"test.outbox.{uuid.uuid4().hex[:8]}"
    await ensure_topics(stack.kafka.bootstrap, [TopicSpec(topic, "person_id", (), PEOPLE.sensitivity, "test", partitions=3)])
    engine = make_engine(db_url)
    run_migrations(engine, MIGRATIONS)
    sent: list[CloudEvent] = []
    for batch in range(4):  # several transactions, as requests would commit them
        with transaction(engine) as session:
            for i in range(25):
                event = CloudEvent.of(ConsentGranted(person_id=f"person-{i % 5}", purpose=f"PARTNER:p{batch}-{i}", granted_at=datetime.now(UTC)))
                enqueue(session, event, topic=topic)
                sent.append(event)

    relay = OutboxRelay(engine, stack.kafka.bootstrap, client_id="test-relay", batch_size=30, poll_seconds=0.2)
    relay.start()
    try:

        async def drained() -> bool:
            return (await asyncio.to_thread(backlog, engine))[0] == 0

        await eventually(drained, timeout=60, what="outbox drained")
    finally:
        await relay.stop()

    records = await read_topic(stack.kafka.bootstrap, topic)
    ids = [str(header(r, "ce_id")) for r in records]
    assert sorted(ids) == sorted(e.id for e in sent), "every row published exactly once"
    for key in {e.subject for e in sent}:
        published_order = [header(r, "ce_id") for r in records if r.key == key.encode()]  # type: ignore[union-attr]
        assert published_order == [e.id for e in sent if e.subject == key]
    assert all(header(r, "traceparent") for r in records)
    engine.dispose()


async def test_bulk_enqueue_is_published_like_single_rows(stack: Stack, db_url: str) -> None:
    topic = f"test.outbox.bulk.{uuid.uuid4().hex[:8]}"
    await ensure_topics(stack.kafka.bootstrap, [TopicSpec(topic, "person_id", (), PEOPLE.sensitivity, "test", partitions=1)])
    engine = make_engine(db_url)
    run_migrations(engine, MIGRATIONS)
    events = [CloudEvent.of(ConsentGranted(person_id="bulk", purpose=f"PARTNER:b{i}", granted_at=datetime.now(UTC))) for i in range(300)]
    with transaction(engine) as session:
        assert enqueue_many(session, events, topic=topic) == 300
    relay = OutboxRelay(engine, stack.kafka.bootstrap, client_id="test-bulk", poll_seconds=0.2)
    relay.start()
    try:

        async def drained() -> bool:
            return (await asyncio.to_thread(backlog, engine))[0] == 0

        await eventually(drained, timeout=60, what="bulk rows published")
    finally:
        await relay.stop()
    records = await read_topic(stack.kafka.bootstrap, topic)
    assert [header(r, "ce_id") for r in records] == [e.id for e in events]  # one key: in order
    engine.dispose()
