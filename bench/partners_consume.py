"""The partners service's CPU per consumed event, without Kafka: the consumer's handling of a
fetch (parse, inbox, feed projection, one transaction) on PostgreSQL, as the service runs it.

Builds the service's `EventConsumer` with its `FeedProjector` on a fresh PostgreSQL database
and hands it fetches of `hub-visited` events (the end-to-end benchmark's writes) of several
sizes, as `getmany` would. Prints CPU ms per event (this process: the event loop and the thread
the handling runs in), with no agreement covering visits (the end-to-end benchmark's case) and
with one whose partner has the people's consent (every event becomes a partner message).

    python -m bench.partners_consume [--events 2000] [--fetch-sizes 1,10,100,200]
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from aiokafka import ConsumerRecord
from komagane_partners.feeds import FeedProjector
from komagane_partners.main import MIGRATIONS
from komagane_partners.models import new_agreement
from komagane_partners.pseudonyms import Pseudonymiser
from sqlalchemy import text

from komagane_contracts.envelope import CloudEvent
from komagane_contracts.events.exchange import HubRegistered, HubVisited
from komagane_contracts.events.people import ConsentGranted, PersonRegistered
from komagane_contracts.topics import EXCHANGE
from komagane_contracts.vocabulary import AgeBand, ResidencyStatus
from komagane_devstack.infra import PostgresServer
from komagane_kit.consumer import EventConsumer
from komagane_kit.db import make_engine, run_migrations, transaction
from tests.support.partners import hall_visits_agreement

PEOPLE = [str(uuid.UUID(int=i)) for i in range(1, 201)]
NOW = datetime.now(UTC)


def record(event: CloudEvent, offset: int) -> ConsumerRecord[bytes, bytes]:
    value = event.value()
    return ConsumerRecord(EXCHANGE.name, 0, offset, 0, 0, event.key, value, None, 0, len(value), event.headers())


def visits(count: int, start: int) -> list[ConsumerRecord[bytes, bytes]]:
    out = []
    for i in range(start, start + count):
        body = HubVisited(person_id=PEOPLE[i % len(PEOPLE)], visit_id=f"v-{i}", hub_id="h-1", visited_at=NOW, purpose="相談")
        out.append(record(CloudEvent.of(body, time=NOW), i))
    return out


def setup(consumer: EventConsumer) -> None:
    """The replicas the projector keeps (people, a hub) arrive as events too."""
    bodies: list[object] = [HubRegistered(hub_id="h-1", name_ja="赤穂公民館", kind="COMMUNITY_HALL", area="赤穂")]  # type: ignore[arg-type]
    for person in PEOPLE:
        registered = PersonRegistered(
            person_id=person, age_band=AgeBand.SENIOR_75_PLUS, residency_status=ResidencyStatus.RESIDENT,
            preferred_language="ja", lives_alone=True, registered_at=NOW, age_decade="70-79",
        )  # fmt: skip
        bodies.append(registered)
        bodies.append(ConsentGranted(person_id=person, purpose="PARTNER:hall", granted_at=NOW))
    records = [record(CloudEvent.of(body, time=NOW), i) for i, body in enumerate(bodies)]  # type: ignore[arg-type]
    asyncio.run(consumer._process_batch(records))


async def measure(consumer: EventConsumer, events: int, fetch_size: int, start: int) -> float:
    """CPU ms per event handling `events` visits in fetches of `fetch_size`."""
    fetches = [visits(fetch_size, start + i) for i in range(start, start + events, fetch_size)]
    began = time.process_time()
    for fetch in fetches:
        await consumer._process_batch(fetch)
    return (time.process_time() - began) * 1000 / (len(fetches) * fetch_size)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--fetch-sizes", default="1,10,100,200")
    parser.add_argument("--only", choices=["without", "with"], help="one half only (for profiling)")
    args = parser.parse_args()
    sizes = [int(s) for s in args.fetch_sizes.split(",")]
    base = Path(tempfile.mkdtemp(prefix="komagane-bench-pg-"))
    server = PostgresServer(base / "data", base / "logs")
    (base / "data").mkdir()
    shutil.chown(base, "postgres")
    server.start()
    try:
        engine = make_engine(server.url())
        run_migrations(engine, MIGRATIONS)
        projector = FeedProjector(lambda: Pseudonymiser("bench-" + "s" * 40))
        consumer = EventConsumer(engine, "127.0.0.1:9", group_id="partners", topics=[EXCHANGE.name], handler=lambda e, s, _t: projector(e, s))
        setup(consumer)
        offset = 10_000
        print(f"partners: CPU ms per hub-visited event, {args.events} events per figure (consumer handling on PostgreSQL, no Kafka)")
        labels = ["no agreement covers visits", "an agreement with consent: each visit a partner message"]
        for label in {"without": labels[:1], "with": labels[1:], None: labels}[args.only]:
            if label == labels[1]:
                with transaction(engine) as session:
                    session.add(new_agreement(hall_visits_agreement()))
            for size in sizes:
                asyncio.run(measure(consumer, min(args.events, 10 * size), size, offset))  # warm-up
                offset += 100_000
                ms = asyncio.run(measure(consumer, args.events, size, offset))
                offset += 100_000
                print(f"  {label:58s} fetch of {size:4d}: {ms:6.3f} ms/event")
        with engine.connect() as connection:
            inbox = connection.execute(text("SELECT count(*) FROM inbox")).scalar_one()
            outbox = connection.execute(text("SELECT count(*) FROM outbox WHERE topic LIKE 'partner.%'")).scalar_one()
        print(f"  (inbox rows {inbox}, partner messages {outbox})")
        engine.dispose()
    finally:
        server.stop()
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
