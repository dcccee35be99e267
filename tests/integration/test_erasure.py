"""Erasure (APPI 利用停止・消去) in one service's database, on SQLite and PostgreSQL.

The people service erases at the request; a pillar service forgets on `PersonErased`, as its
people replica consumer would from Kafka (komagane_kit.people_replica, komagane_kit.erasure).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from komagane_contracts.envelope import CloudEvent
from komagane_contracts.events.people import PersonErased, PersonRegistered
from komagane_contracts.vocabulary import AgeBand, ResidencyStatus
from komagane_exchange.main import build_app as build_exchange
from komagane_exchange.settings import ExchangeSettings
from komagane_kit.erasure import ErasedPerson, erasure_digest, forget_erased
from komagane_kit.outbox import OutboxMessage
from komagane_kit.people_replica import replicate_people
from komagane_people.main import build_app as build_people
from komagane_people.settings import PeopleSettings
from tests.support.erasure import rows_mentioning
from tests.support.internal import INTERNAL_SECRET, as_gateway

HANAKO = {"display_name": "駒ヶ根 花子", "birth_year": 1948, "residency_status": "RESIDENT", "contact": "0265-00-0000"}
# Nothing listens on this port: events stay in the outbox, where the test can see them.
OFFLINE: dict[str, Any] = {"kafka_bootstrap_servers": "127.0.0.1:9", "outbox_backoff_max_seconds": 60, "internal_token_secret": INTERNAL_SECRET}


@pytest.fixture
def people(db_url: str) -> Iterator[TestClient]:
    with TestClient(build_people(PeopleSettings(database_url=db_url, **OFFLINE)), headers=as_gateway()) as client:
        yield client


@pytest.fixture
def exchange(db_url: str) -> Iterator[TestClient]:
    with TestClient(build_exchange(ExchangeSettings(database_url=db_url, **OFFLINE)), headers=as_gateway()) as client:
        yield client


def handle(client: TestClient, event: CloudEvent, handler: Callable[[CloudEvent, Session], None]) -> None:
    """What the service's consumer does with one event: the handler in one transaction."""
    with Session(client.app.state.engine) as session:  # type: ignore[attr-defined]
        handler(event, session)
        session.commit()


def test_erasure_answers_the_same_twice_and_refuses_what_comes_after(people: TestClient) -> None:
    person_id = people.post("/v1/people", json=HANAKO).json()["id"]
    assert people.put(f"/v1/people/{person_id}/consents/PARTNER:chamber").status_code == 200

    first = people.delete(f"/v1/people/{person_id}")
    assert first.status_code == 200, first.text
    assert first.json()["person_id"] == person_id
    again = people.delete(f"/v1/people/{person_id}")
    assert (again.status_code, again.json()) == (200, first.json())
    assert people.delete("/v1/people/no-such-person").status_code == 404

    for method, path in (("GET", f"/v1/people/{person_id}"), ("PUT", f"/v1/people/{person_id}/consents/PROFILE")):
        refused = people.request(method, path)
        assert refused.status_code == 410 and refused.json()["type"].endswith("/person-erased"), refused.text

    # Name and contact are gone at once; the one event left to publish is the erasure.
    engine = people.app.state.engine  # type: ignore[attr-defined]
    assert set(rows_mentioning(engine, "駒ヶ根 花子")) == set() and set(rows_mentioning(engine, "0265-00-0000")) == set()
    with Session(engine) as session:
        outbox = list(session.exec(select(OutboxMessage).order_by(col(OutboxMessage.id))))
        assert [r.event_type for r in outbox].count(PersonErased.event_type) == 1 and outbox[-1].event_type == PersonErased.event_type
        erasure = CloudEvent.from_kafka(outbox[-1].payload.encode(), [(k, v.encode()) for k, v in json.loads(outbox[-1].headers)])
        for row in outbox:
            row.published_at = datetime.now(UTC)  # as the relay marks what the broker took
        session.commit()

    # Its own consumer then pseudonymises the published rows: nothing left names the person.
    handle(people, erasure, forget_erased)
    assert rows_mentioning(engine, person_id) == {}
    with Session(engine) as session:
        assert session.get(ErasedPerson, erasure_digest(person_id)) is not None
        assert len(session.exec(select(OutboxMessage)).all()) == len(outbox)  # kept, the link cut


def test_a_pillar_forgets_on_person_erased_and_a_replay_does_not_bring_them_back(exchange: TestClient) -> None:
    person_id = "0000aaaa-0000-4000-8000-000000000001"
    registered = CloudEvent.of(
        PersonRegistered(
            person_id=person_id,
            age_band=AgeBand.SENIOR_65_74,
            residency_status=ResidencyStatus.RESIDENT,
            preferred_language="ja",
            lives_alone=True,
            registered_at=datetime.now(UTC),
        )
    )
    handle(exchange, registered, replicate_people)
    hub_id = exchange.post("/v1/hubs", json={"name_ja": "ぱとな", "kind": "CIVIC_CENTRE", "area": "赤穂"}).json()["id"]
    visits = f"/v1/hubs/{hub_id}/visits"
    assert exchange.post(visits, json={"person_id": person_id, "purpose": "お茶のみ"}).status_code == 201
    keyed = exchange.post(visits, json={"person_id": person_id}, headers={"Idempotency-Key": "visit-1"})
    assert keyed.status_code == 201
    engine = exchange.app.state.engine  # type: ignore[attr-defined]
    with Session(engine) as session:
        first = session.exec(select(OutboxMessage).order_by(col(OutboxMessage.id))).first()
        assert first is not None
        first.published_at = datetime.now(UTC)  # one published row (the hub), the visits not yet
        session.commit()
    assert {"known_person", "hub_visit", "outbox", "idempotency_key"} <= set(rows_mentioning(engine, person_id))

    handle(exchange, CloudEvent.of(PersonErased(person_id=person_id, erased_at=datetime.now(UTC))), replicate_people)
    assert rows_mentioning(engine, person_id) == {}
    with Session(engine) as session:
        assert not [r for r in session.exec(select(OutboxMessage)) if r.event_type.endswith("hub-visited.v1")]  # never sent now
    assert exchange.get(f"/v1/hubs/{hub_id}").status_code == 200  # the hub's own rows stay

    # A later write about them is refused, clearly; the fast visit path too.
    refused = exchange.post(visits, json={"person_id": person_id})
    assert refused.status_code == 410 and refused.json()["type"].endswith("/person-erased"), refused.text
    # The people topic replayed from the start: the registration does not bring them back.
    handle(exchange, registered, replicate_people)
    assert rows_mentioning(engine, person_id) == {}
    assert exchange.post(visits, json={"person_id": person_id}).status_code == 410
