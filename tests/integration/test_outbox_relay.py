"""The outbox relay against a real broker, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import select as select_columns
from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError

from komagane_contracts.envelope import CloudEvent
from komagane_contracts.events.people import ConsentGranted
from komagane_contracts.topics import PEOPLE, TopicSpec
from komagane_devstack.infra import PostgresServer
from komagane_devstack.stack import Stack
from komagane_kit.db import make_engine, run_migrations, transaction
from komagane_kit.kafka import ensure_topics
from komagane_kit.outbox import OutboxMessage, OutboxRelay, backlog, enqueue, enqueue_many
from komagane_people.main import MIGRATIONS
from tests.support.kafka import header, read_topic
from tests.support.waiting import eventually

OUTBOX = OutboxMessage.__table__  # type: ignore[attr-defined]


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


async def _relay_until_drained(engine: Engine, bootstrap: str, client_id: str) -> None:
    relay = OutboxRelay(engine, bootstrap, client_id=client_id, batch_size=50, poll_seconds=0.2)
    relay.start()
    try:

        async def drained() -> bool:
            return (await asyncio.to_thread(backlog, engine))[0] == 0

        await eventually(drained, timeout=60, what="outbox drained")
    finally:
        await relay.stop()


async def test_a_successor_does_not_publish_again_what_a_killed_relay_left_unmarked(stack: Stack, db_url: str) -> None:
    topic = f"test.outbox.crash.{uuid.uuid4().hex[:8]}"
    await ensure_topics(stack.kafka.bootstrap, [TopicSpec(topic, "person_id", (), PEOPLE.sensitivity, "test", partitions=3)])
    engine = make_engine(db_url)
    run_migrations(engine, MIGRATIONS)
    first = [CloudEvent.of(ConsentGranted(person_id=f"p-{i % 7}", purpose=f"PARTNER:c{i}", granted_at=datetime.now(UTC))) for i in range(40)]
    with transaction(engine) as session:
        enqueue_many(session, first, topic=topic)
    await _relay_until_drained(engine, stack.kafka.bootstrap, "test-crash-1")
    # As if the relay died after the broker's acknowledgement and before marking: the last 30
    # rows are unmarked again, and more rows arrive meanwhile.
    with engine.begin() as connection:
        last = [row[0] for row in connection.execute(select_columns(OUTBOX.c.id).order_by(OUTBOX.c.id.desc()).limit(30))]
        connection.execute(update(OUTBOX).where(OUTBOX.c.id.in_(last)).values(published_at=None))
    second = [CloudEvent.of(ConsentGranted(person_id=f"p-{i % 7}", purpose=f"PARTNER:d{i}", granted_at=datetime.now(UTC))) for i in range(10)]
    with transaction(engine) as session:
        enqueue_many(session, second, topic=topic)
    await _relay_until_drained(engine, stack.kafka.bootstrap, "test-crash-2")
    ids = [str(header(r, "ce_id")) for r in await read_topic(stack.kafka.bootstrap, topic)]
    assert sorted(ids) == sorted(e.id for e in first + second), "every row exactly once, none again"
    engine.dispose()


async def test_rows_acknowledged_while_the_database_fails_to_mark_them_are_not_sent_again(stack: Stack, db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    topic = f"test.outbox.mark.{uuid.uuid4().hex[:8]}"
    await ensure_topics(stack.kafka.bootstrap, [TopicSpec(topic, "person_id", (), PEOPLE.sensitivity, "test", partitions=1)])
    engine = make_engine(db_url)
    run_migrations(engine, MIGRATIONS)
    events = [CloudEvent.of(ConsentGranted(person_id="m", purpose=f"PARTNER:m{i}", granted_at=datetime.now(UTC))) for i in range(20)]
    with transaction(engine) as session:
        enqueue_many(session, events, topic=topic)
    real_mark = OutboxRelay._mark_published
    failures = iter([True])

    def mark_or_fail(self: OutboxRelay, ids: list[int]) -> None:
        if next(failures, False):
            raise OperationalError("UPDATE outbox", {}, Exception("connection lost"))  # the database away
        real_mark(self, ids)

    monkeypatch.setattr(OutboxRelay, "_mark_published", mark_or_fail)
    await _relay_until_drained(engine, stack.kafka.bootstrap, "test-mark")
    assert [header(r, "ce_id") for r in await read_topic(stack.kafka.bootstrap, topic)] == [e.id for e in events]
    engine.dispose()


async def test_of_two_replicas_one_relay_publishes_and_the_other_takes_over_when_it_stops(stack: Stack, postgres: PostgresServer) -> None:
    topic = f"test.outbox.replicas.{uuid.uuid4().hex[:8]}"
    await ensure_topics(stack.kafka.bootstrap, [TopicSpec(topic, "person_id", (), PEOPLE.sensitivity, "test", partitions=3)])
    url = postgres.create_database(f"t_{uuid.uuid4().hex[:12]}")
    engines = [make_engine(url), make_engine(url)]  # two replicas of one service, one database
    run_migrations(engines[0], MIGRATIONS)
    relays = [OutboxRelay(engine, stack.kafka.bootstrap, client_id=f"replica-{n}", batch_size=20, poll_seconds=0.1) for n, engine in enumerate(engines)]
    for relay in relays:
        relay.start()

    def events(tag: str) -> list[CloudEvent]:
        return [CloudEvent.of(ConsentGranted(person_id=f"p-{i % 5}", purpose=f"PARTNER:{tag}{i}", granted_at=datetime.now(UTC))) for i in range(60)]

    async def drained() -> bool:
        return (await asyncio.to_thread(backlog, engines[0]))[0] == 0

    first, second = events("a"), events("b")
    try:
        for n in range(3):  # commits from both replicas
            with transaction(engines[n % 2]) as session:
                enqueue_many(session, first[n * 20 : (n + 1) * 20], topic=topic)
        await eventually(drained, timeout=60, what="outbox drained by one of the replicas")
        leader = next(relay for relay in relays if relay.published_total)
        standby = next(relay for relay in relays if relay is not leader)
        assert leader.published_total == len(first) and standby.published_total == 0
        await leader.stop()  # as a replica scaled in (a killed one's connection ends the same way)
        with transaction(engines[0]) as session:
            enqueue_many(session, second, topic=topic)
        await eventually(drained, timeout=60, what="the standby taking over")
        assert standby.published_total == len(second)
    finally:
        for relay in relays:
            await relay.stop()
        for engine in engines:
            engine.dispose()
    records = await read_topic(stack.kafka.bootstrap, topic)
    ids = [str(header(r, "ce_id")) for r in records]
    assert sorted(ids) == sorted(e.id for e in first + second), "every row once, though two relays ran"
    for key in {e.subject for e in first + second}:
        assert [header(r, "ce_id") for r in records if r.key == key.encode()] == [e.id for e in first + second if e.subject == key]  # type: ignore[union-attr]
