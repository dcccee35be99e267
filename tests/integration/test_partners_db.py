"""The partners service's database on SQLite and PostgreSQL: migrations, the feed projector's
transaction (outbox row + delivery), and provision records that cannot be changed."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import komagane_partners
import pytest
from aiokafka import ConsumerRecord
from komagane_partners.consent_waits import purge_older_than
from komagane_partners.feeds import DELETION_NOTICE, FeedProjector
from komagane_partners.models import ConsentWait, ProvisionRecord, new_agreement
from komagane_partners.provision import record_deliveries
from komagane_partners.pseudonyms import Pseudonymiser
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session, select

from komagane_contracts.envelope import CloudEvent
from komagane_contracts.events.exchange import HubRegistered, HubVisited
from komagane_contracts.events.people import ConsentGranted, ConsentWithdrawn, PersonRegistered
from komagane_contracts.vocabulary import AgeBand, ResidencyStatus
from komagane_kit.clock import tokyo_date
from komagane_kit.consumer import EventConsumer
from komagane_kit.db import make_engine, run_migrations, transaction
from komagane_kit.outbox import OutboxMessage
from tests.support.partners import hall_visits_agreement

MIGRATIONS = Path(komagane_partners.__file__).parent / "migrations"
PERSON = "6f1c2a9e-0d44-4c1b-8a57-3e2f1b0c9d11"
NOW = datetime.now(UTC)


def handle(projector: FeedProjector, engine: object, *bodies: object) -> None:
    for body in bodies:
        with transaction(engine) as session:  # type: ignore[arg-type]
            projector(CloudEvent.of(body, time=NOW), session)  # type: ignore[arg-type]


def partner_rows(engine: object) -> list[OutboxMessage]:
    with Session(engine) as session:  # type: ignore[arg-type]
        return list(session.exec(select(OutboxMessage).where(OutboxMessage.topic.startswith("partner."))).all())  # type: ignore[attr-defined]


def test_projection_consent_withdrawal_and_provision_records(db_url: str) -> None:
    engine = make_engine(db_url)
    run_migrations(engine, MIGRATIONS)
    with transaction(engine) as session:
        session.add(new_agreement(hall_visits_agreement("hall")))
    projector = FeedProjector(lambda: Pseudonymiser("s" * 48))
    registered = PersonRegistered(
        person_id=PERSON, age_band=AgeBand.SENIOR_75_PLUS, residency_status=ResidencyStatus.RESIDENT,
        preferred_language="ja", lives_alone=True, registered_at=NOW, age_decade="70-79",
    )  # fmt: skip
    hub = HubRegistered(hub_id="h-1", name_ja="赤穂公民館", kind="COMMUNITY_HALL", area="赤穂")  # type: ignore[arg-type]
    visit = HubVisited(person_id=PERSON, visit_id="v-1", hub_id="h-1", visited_at=NOW, purpose="相談")

    handle(projector, engine, registered, hub, visit)
    assert partner_rows(engine) == [], "no consent, no message"

    # (Given after that first visit happened, the consent does not let it flow: consent_waits.py.)
    handle(projector, engine, ConsentGranted(person_id=PERSON, purpose="PARTNER:hall", granted_at=NOW + timedelta(seconds=1)), visit)
    [row] = partner_rows(engine)
    payload = json.loads(row.payload)
    assert row.topic == "partner.hall.visits.v1" and row.traceparent is None
    assert payload["hub"] == "赤穂公民館" and payload["age_decade"] == "70-79" and "purpose" not in payload
    assert PERSON not in row.payload + row.headers

    handle(projector, engine, ConsentWithdrawn(person_id=PERSON, purpose="PARTNER:hall", withdrawn_at=NOW), visit)
    rows = partner_rows(engine)
    assert [r.event_type for r in rows] == ["jp.komagane.exchange.hub-visited.v1", DELETION_NOTICE]
    assert json.loads(rows[1].payload)["pseudonym"] == payload["pseudonym"]

    # A grant, a withdrawal and a visit handled in one transaction (as the consumer handles a
    # fetch): once withdrawn, nothing more flows, even within the transaction.
    granted = ConsentGranted(person_id=PERSON, purpose="PARTNER:hall", granted_at=NOW + timedelta(seconds=2))
    withdrawn = ConsentWithdrawn(person_id=PERSON, purpose="PARTNER:hall", withdrawn_at=NOW + timedelta(seconds=3))
    with transaction(engine) as session:
        for body in (granted, visit, withdrawn, visit):
            projector(CloudEvent.of(body, time=NOW), session)
    rows = partner_rows(engine)
    assert [r.event_type for r in rows] == ["jp.komagane.exchange.hub-visited.v1", DELETION_NOTICE] * 2

    with transaction(engine) as session:
        assert record_deliveries(session) == 1
    with transaction(engine) as session:
        assert record_deliveries(session) == 0, "deliveries are counted once"
        [record] = session.exec(select(ProvisionRecord)).all()
        assert record.count == 4 and json.loads(record.event_types_json) == sorted([DELETION_NOTICE, "jp.komagane.exchange.hub-visited.v1"])

    for statement in ("UPDATE provision_record SET count = 0", "DELETE FROM provision_record"):
        with pytest.raises(DBAPIError), transaction(engine) as session:
            session.execute(text(statement))
    engine.dispose()


def test_a_fetch_handled_in_one_transaction_sees_each_replica_change_of_its_own_events(db_url: str) -> None:
    """The projector reads consents, ages and hub names for the whole batch at once
    (replicas.py); what earlier events of the batch change must count for the later ones."""
    engine = make_engine(db_url)
    run_migrations(engine, MIGRATIONS)
    with transaction(engine) as session:
        session.add(new_agreement(hall_visits_agreement("hall")))
    projector = FeedProjector(lambda: Pseudonymiser("s" * 48))
    consumer = EventConsumer(engine, "127.0.0.1:9", group_id="partners", topics=["t"], handler=lambda event, session, _topic: projector(event, session))
    first, second = "a1c2a9e0-0d44-4c1b-8a57-3e2f1b0c9d11", "b2c2a9e0-0d44-4c1b-8a57-3e2f1b0c9d22"

    def visit(person: str, hub: str) -> HubVisited:
        return HubVisited(person_id=person, visit_id=f"v-{person[:2]}-{hub}", hub_id=hub, visited_at=NOW)

    def registered(person: str) -> PersonRegistered:
        return PersonRegistered(
            person_id=person, age_band=AgeBand.SENIOR_75_PLUS, residency_status=ResidencyStatus.RESIDENT,
            preferred_language="ja", lives_alone=True, registered_at=NOW, age_decade="70-79",
        )  # fmt: skip

    def granted(person: str) -> ConsentGranted:
        # Given after the batch's visits happened: a visit before it never flows (consent_waits.py).
        return ConsentGranted(person_id=person, purpose="PARTNER:hall", granted_at=NOW + timedelta(seconds=1))

    bodies = [
        visit(first, "h-1"),  # (loads the batch's replicas: nothing yet)
        HubRegistered(hub_id="h-1", name_ja="赤穂公民館", kind="COMMUNITY_HALL", area="赤穂"),  # type: ignore[arg-type]
        registered(first),
        granted(first),
        visit(first, "h-1"),  # delivered: consent, age and hub name all from this batch
        visit(second, "h-1"),  # no consent
        ConsentWithdrawn(person_id=first, purpose="PARTNER:hall", withdrawn_at=NOW),
        visit(first, "h-2"),  # withdrawn: nothing
        granted(second),
        visit(second, "h-2"),  # delivered, without age or hub name (neither known)
    ]
    events = [CloudEvent.of(body, time=NOW) for body in bodies]  # type: ignore[arg-type]
    consumer._handle_together([(ConsumerRecord("t", 0, i, 0, 0, e.key, e.value(), None, 0, 0, e.headers()), e) for i, e in enumerate(events)])
    payloads = [(row.event_type, json.loads(row.payload)) for row in partner_rows(engine)]
    assert [kind for kind, _ in payloads] == ["jp.komagane.exchange.hub-visited.v1", DELETION_NOTICE, "jp.komagane.exchange.hub-visited.v1"]
    delivered, _, later = (payload for _, payload in payloads)
    assert (delivered["hub"], delivered["age_decade"]) == ("赤穂公民館", "70-79")
    assert (later["hub"], later["age_decade"]) == (None, None) and later["pseudonym"] != delivered["pseudonym"]
    engine.dispose()


def test_an_event_that_comes_before_its_consent_waits_for_it(db_url: str) -> None:
    """people.v1 and exchange.v1 have no order between them: a visit made just after the person
    consented may be handled before the consent. It waits (consent_waits.py) and flows when the
    consent comes, if that consent was given before the visit happened; other waits are purged."""
    engine = make_engine(db_url)
    run_migrations(engine, MIGRATIONS)
    with transaction(engine) as session:
        session.add(new_agreement(hall_visits_agreement("hall")))
    projector = FeedProjector(lambda: Pseudonymiser("s" * 48))
    consenting, other = PERSON, "c3c2a9e0-0d44-4c1b-8a57-3e2f1b0c9d33"

    def visit(person: str, at: datetime) -> CloudEvent:
        return CloudEvent.of(HubVisited(person_id=person, visit_id=f"v-{person[:2]}-{at.timestamp()}", hub_id="h-1", visited_at=at), time=at)

    def waits() -> list[tuple[str, str]]:
        with Session(engine) as session:
            return sorted((w.person_id, w.partner_id) for w in session.exec(select(ConsentWait)).all())

    before, after = visit(consenting, NOW - timedelta(seconds=10)), visit(consenting, NOW)
    for event in (before, after, visit(other, NOW)):
        with transaction(engine) as session:
            projector(event, session)
    assert partner_rows(engine) == [] and waits() == [(consenting, "hall"), (consenting, "hall"), (other, "hall")]

    handle(projector, engine, ConsentGranted(person_id=consenting, purpose="PARTNER:hall", granted_at=NOW - timedelta(seconds=5)))
    [row] = partner_rows(engine)
    assert json.loads(row.payload)["visited_at"] == tokyo_date(NOW).isoformat()
    assert row.event_id == projector.pseudonyms.message_id("hall", "k1", "visits", after.id), "the visit after the consent, once"
    assert waits() == [(other, "hall")], "the visit before the consent never flows, and waits no more"

    with transaction(engine) as session:
        assert purge_older_than(600)(session) == 0
    with transaction(engine) as session:
        assert purge_older_than(0)(session) == 1
    assert waits() == []

    # A withdrawal ends what waits for that partner: a later consent starts afresh.
    with transaction(engine) as session:
        projector(visit(other, NOW), session)
    handle(projector, engine, ConsentWithdrawn(person_id=other, purpose="PARTNER:hall", withdrawn_at=NOW))
    assert waits() == [] and len(partner_rows(engine)) == 1
    engine.dispose()


def test_a_partner_with_two_feeds_gets_each_event_and_each_notice_on_both(db_url: str) -> None:
    """Message ids are per feed: one source event, or one withdrawal, on two feeds of the same
    partner makes two messages (the outbox keeps event ids unique)."""
    engine = make_engine(db_url)
    run_migrations(engine, MIGRATIONS)
    with transaction(engine) as session:
        session.add(new_agreement(hall_visits_agreement("hall")))
        session.add(new_agreement(hall_visits_agreement("hall").model_copy(update={"feed": "planning"})))
    projector = FeedProjector(lambda: Pseudonymiser("s" * 48))
    registered = PersonRegistered(
        person_id=PERSON, age_band=AgeBand.SENIOR_75_PLUS, residency_status=ResidencyStatus.RESIDENT,
        preferred_language="ja", lives_alone=True, registered_at=NOW, age_decade="70-79",
    )  # fmt: skip
    hub = HubRegistered(hub_id="h-1", name_ja="赤穂公民館", kind="COMMUNITY_HALL", area="赤穂")  # type: ignore[arg-type]
    granted = ConsentGranted(person_id=PERSON, purpose="PARTNER:hall", granted_at=NOW - timedelta(seconds=1))
    visit = HubVisited(person_id=PERSON, visit_id="v-1", hub_id="h-1", visited_at=NOW, purpose="相談")
    handle(projector, engine, registered, hub, granted, visit)
    handle(projector, engine, ConsentWithdrawn(person_id=PERSON, purpose="PARTNER:hall", withdrawn_at=NOW + timedelta(seconds=1)))

    rows = partner_rows(engine)
    by_topic = {topic: sorted(r.event_type for r in rows if r.topic == topic) for topic in ("partner.hall.visits.v1", "partner.hall.planning.v1")}
    assert by_topic == {topic: sorted([HubVisited.event_type, DELETION_NOTICE]) for topic in by_topic}, by_topic
    assert len({r.event_id for r in rows}) == 4, "every message its own id"
