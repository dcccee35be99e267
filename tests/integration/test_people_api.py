"""The people service against a real database (SQLite and PostgreSQL): state and outbox together."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func
from sqlmodel import Session, select

from komagane_kit.outbox import OutboxMessage
from komagane_people.main import build_app
from komagane_people.models import Person
from komagane_people.settings import PeopleSettings
from tests.support.internal import INTERNAL_SECRET, as_gateway

HANAKO = {
    "display_name": "駒ヶ根 花子",
    "birth_year": 1948,
    "residency_status": "RESIDENT",
    "preferred_language": "ja",
    "lives_alone": True,
    "contact": "0265-00-0000",
}


@pytest.fixture
def client(db_url: str) -> Iterator[TestClient]:
    # Nothing listens on this port: events stay in the outbox, where the test can see them.
    settings = PeopleSettings(database_url=db_url, kafka_bootstrap_servers="127.0.0.1:9", outbox_backoff_max_seconds=60, internal_token_secret=INTERNAL_SECRET)
    with TestClient(build_app(settings), headers=as_gateway()) as test_client:
        yield test_client


def outbox(client: TestClient) -> list[OutboxMessage]:
    with Session(client.app.state.engine) as session:  # type: ignore[attr-defined]
        return list(session.exec(select(OutboxMessage).order_by(OutboxMessage.id)).all())  # type: ignore[arg-type]


def people_count(client: TestClient) -> int:
    with Session(client.app.state.engine) as session:  # type: ignore[attr-defined]
        return int(session.exec(select(func.count()).select_from(Person)).one())


def test_registration_stores_the_person_and_its_event_together(client: TestClient) -> None:
    response = client.post("/v1/people", json=HANAKO)
    assert response.status_code == 201
    person = response.json()
    assert response.headers["location"] == f"/v1/people/{person['id']}"
    assert client.get(f"/v1/people/{person['id']}").json()["display_name"] == "駒ヶ根 花子"

    [row] = outbox(client)
    assert (row.topic, row.message_key, row.event_type) == ("people.v1", person["id"], "jp.komagane.people.person-registered.v1")
    body = json.loads(row.payload)
    assert body["age_band"] == "75+"
    assert "display_name" not in body and "contact" not in body  # names stay in this service


def test_consent_changes_emit_one_event_each_and_put_is_idempotent(client: TestClient) -> None:
    person_id = client.post("/v1/people", json=HANAKO).json()["id"]
    assert client.put(f"/v1/people/{person_id}/consents/PROFILE").status_code == 200
    assert client.put(f"/v1/people/{person_id}/consents/PROFILE").json()["granted"] is True
    assert client.delete(f"/v1/people/{person_id}/consents/PROFILE").status_code == 204
    assert client.delete(f"/v1/people/{person_id}/consents/PROFILE").status_code == 204
    assert client.put(f"/v1/people/{person_id}/consents/PARTNER:chamber-of-commerce").status_code == 200
    types = [(row.event_type.rsplit(".", 2)[-2], json.loads(row.payload).get("purpose")) for row in outbox(client)]
    assert types == [
        ("person-registered", None),
        ("consent-granted", "PROFILE"),
        ("consent-withdrawn", "PROFILE"),
        ("consent-granted", "PARTNER:chamber-of-commerce"),
    ]
    assert client.get(f"/v1/people/{person_id}").json()["consents"] == ["PARTNER:chamber-of-commerce"]
    answer = client.get(f"/v1/people/{person_id}/consents").json()
    assert [(c["purpose"], c["granted"]) for c in answer["consents"]] == [("PARTNER:chamber-of-commerce", True), ("PROFILE", False)]
    # The history: each change once (the repeated PUT and DELETE changed nothing), newest first.
    assert [(h["purpose"], h["action"]) for h in answer["history"]] == [
        ("PARTNER:chamber-of-commerce", "GRANTED"),
        ("PROFILE", "WITHDRAWN"),
        ("PROFILE", "GRANTED"),
    ]
    assert all(h["at"].endswith(("Z", "+00:00")) for h in answer["history"])
    assert client.get("/v1/people/00000000-0000-0000-0000-000000000000/consents").status_code == 404


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({k: v for k, v in HANAKO.items() if k != "birth_year"}, "birth_year"),
        ({**HANAKO, "birth_year": "nineteen forty-eight"}, "birth_year"),
        ({**HANAKO, "residency_status": "TOURIST"}, "residency_status"),
        ({**HANAKO, "preferred_language": "not a tag!"}, "preferred_language"),
        ({**HANAKO, "display_name": "   "}, "display_name"),
        ({**HANAKO, "birth_year": 2999}, "birth_year"),
    ],
)
def test_invalid_registration_names_the_field_and_writes_nothing(client: TestClient, body: dict[str, object], field: str) -> None:
    response = client.post("/v1/people", json=body)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == 422 and field in problem["detail"]
    assert [e["field"] for e in problem["errors"]] == [field]
    assert people_count(client) == 0 and outbox(client) == []


def test_unknown_person_and_unknown_purpose_are_problems(client: TestClient) -> None:
    missing = client.put("/v1/people/00000000-0000-0000-0000-000000000000/consents/PROFILE")
    assert missing.status_code == 404 and missing.json()["type"].endswith("/person-not-found")
    person_id = client.post("/v1/people", json=HANAKO).json()["id"]
    unknown = client.put(f"/v1/people/{person_id}/consents/MARKETING")
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "purpose"
    assert len(outbox(client)) == 1  # the registration only


def test_oversized_body_is_refused_before_parsing(client: TestClient) -> None:
    response = client.post("/v1/people", content=json.dumps({**HANAKO, "display_name": "x" * 100_000}), headers={"content-type": "application/json"})
    assert response.status_code == 413
    assert response.json()["type"].endswith("/payload-too-large")
    assert people_count(client) == 0
