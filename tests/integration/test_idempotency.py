"""`Idempotency-Key` in a service (komagane_kit.idempotency) on SQLite and PostgreSQL: the route's
work, its outbox events and the stored answer are committed together or not at all.

A kit service with test routes (on the exchange service's schema, which has the outbox and
idempotency tables) shows what a failing route leaves behind; the exchange's visit route shows
the behaviour of a real write.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest
from fastapi import APIRouter, Response
from fastapi.testclient import TestClient
from sqlmodel import Session, func, select

from komagane_contracts.events.exchange import HubVisited
from komagane_exchange.main import MIGRATIONS
from komagane_exchange.settings import ExchangeSettings
from komagane_kit.errors import Problem
from komagane_kit.idempotency import IdempotencyRecord, commit_with_answer
from komagane_kit.lookups import publish
from komagane_kit.outbox import OutboxMessage
from komagane_kit.service import DbSession, create_service_app
from tests.support.internal import INTERNAL_SECRET, as_gateway

PERSON = "00000000-0000-4000-8000-000000000001"
router = APIRouter()
# What the test routes do next, set by each test; the routes run in the app's worker threads.
behaviour: dict[str, object] = {}


def _visit(session: Session, hub: str) -> None:
    publish(session, HubVisited(person_id=PERSON, visit_id=f"v-{hub}", hub_id=hub, visited_at=datetime.now(UTC), purpose=None))


@router.post("/things/{name}", status_code=201)
def make_thing(name: str, session: DbSession, response: Response) -> dict[str, str]:
    barrier = behaviour.get("barrier")
    if isinstance(barrier, threading.Barrier):
        barrier.wait(timeout=30)  # both requests are in the route before either does its work
    _visit(session, name)
    session.commit()
    failure = behaviour.pop("fail_after_commit", None)
    if isinstance(failure, BaseException):
        raise failure
    response.headers["Location"] = f"/things/{name}"
    return {"name": name}


@router.post("/answered/{name}", status_code=201)
def make_thing_answered(name: str, session: DbSession) -> Response:
    """The same, storing its answer itself (as the busiest routes do)."""
    barrier = behaviour.get("barrier")
    if isinstance(barrier, threading.Barrier):
        barrier.wait(timeout=30)
    _visit(session, name)
    return commit_with_answer(session, Response(f'{{"name": "{name}"}}', status_code=201, media_type="application/json", headers={"Location": name}))


@pytest.fixture
def client(db_url: str) -> Iterator[TestClient]:
    behaviour.clear()
    settings = ExchangeSettings(
        database_url=db_url, kafka_bootstrap_servers="127.0.0.1:9", outbox_backoff_max_seconds=60, internal_token_secret=INTERNAL_SECRET
    )
    app = create_service_app(settings, title="test", routers=[router], migrations=MIGRATIONS, idempotent_posts=True)
    with TestClient(app, headers=as_gateway(), raise_server_exceptions=False) as test_client:
        yield test_client


def outbox_rows(client: TestClient) -> int:
    with Session(client.app.state.engine) as session:  # type: ignore[attr-defined]
        return int(session.exec(select(func.count()).select_from(OutboxMessage)).one())


def stored_keys(client: TestClient) -> list[IdempotencyRecord]:
    with Session(client.app.state.engine) as session:  # type: ignore[attr-defined]
        return list(session.exec(select(IdempotencyRecord)).all())


@pytest.mark.parametrize("route", ["things", "answered"])
def test_the_answer_is_stored_with_the_work_and_replayed(client: TestClient, route: str) -> None:
    first = client.post(f"/{route}/a", json={"n": 1}, headers={"Idempotency-Key": "k"})
    again = client.post(f"/{route}/a", json={"n": 1}, headers={"Idempotency-Key": "k"})
    assert first.status_code == again.status_code == 201
    assert "idempotent-replayed" not in first.headers and again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json() == {"name": "a"} and again.headers["location"] == first.headers["location"]
    assert outbox_rows(client) == 1, "the replay's own work was dropped"
    other = client.post(f"/{route}/a", json={"n": 2}, headers={"Idempotency-Key": "k"})
    assert other.status_code == 422 and other.json()["type"].endswith("/idempotency-key-reused")
    assert outbox_rows(client) == 1
    assert [(r.key, r.status) for r in stored_keys(client)] == [(f"/{route}/a|k", 201)]


def test_a_server_error_after_the_commit_keeps_nothing_and_frees_the_key(client: TestClient) -> None:
    behaviour["fail_after_commit"] = RuntimeError("lost after the commit")
    failed = client.post("/things/b", json={}, headers={"Idempotency-Key": "k-b"})
    assert failed.status_code == 500 and failed.headers["content-type"] == "application/problem+json"
    assert outbox_rows(client) == 0 and stored_keys(client) == []
    retried = client.post("/things/b", json={}, headers={"Idempotency-Key": "k-b"})
    assert retried.status_code == 201 and "idempotent-replayed" not in retried.headers
    assert outbox_rows(client) == 1


def test_a_refusal_after_the_commit_keeps_none_of_the_work_but_is_replayed(client: TestClient) -> None:
    behaviour["fail_after_commit"] = Problem(409, "too-late", "refused after the work was flushed")
    refused = client.post("/things/c", json={}, headers={"Idempotency-Key": "k-c"})
    assert refused.status_code == 409 and refused.json()["type"].endswith("/too-late")
    assert outbox_rows(client) == 0
    again = client.post("/things/c", json={}, headers={"Idempotency-Key": "k-c"})
    assert again.status_code == 409 and again.headers["idempotent-replayed"] == "true"
    assert again.headers["content-type"] == "application/problem+json"
    assert outbox_rows(client) == 0


@pytest.mark.parametrize("route", ["things", "answered"])
def test_two_requests_with_one_key_at_once_do_the_work_once(client: TestClient, route: str) -> None:
    behaviour["barrier"] = threading.Barrier(2)
    with ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(lambda _: client.post(f"/{route}/d", json={}, headers={"Idempotency-Key": "k-d"}), range(2)))
    assert [a.status_code for a in answers] == [201, 201]
    assert sorted(a.headers.get("idempotent-replayed", "-") for a in answers) == ["-", "true"], "the second waited and replayed the first"
    assert answers[0].json() == answers[1].json()
    assert outbox_rows(client) == 1


def test_without_a_key_a_route_commits_as_usual(client: TestClient) -> None:
    assert client.post("/things/e", json={}).status_code == 201
    assert client.post("/answered/e", json={}).status_code == 201
    assert outbox_rows(client) == 2 and stored_keys(client) == []
