"""The people service's side of a person's rights against a real database (SQLite and
PostgreSQL): corrections (訂正) with their event and log, a move into the town making a visitor
a resident, and the disclosure route (開示) with its audit entry."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from komagane_contracts.envelope import CloudEvent
from komagane_contracts.events.housing import HouseholdMovedIn, MoveChannel
from komagane_kit.outbox import OutboxMessage
from komagane_people.corrections import residency_from_moves
from komagane_people.main import build_app
from komagane_people.models import Person
from komagane_people.rights_log import RightsRequest
from komagane_people.settings import PeopleSettings
from tests.support.internal import INTERNAL_SECRET, as_gateway

HELD = "/internal/v1/people/{}/held"
VISITOR = {
    "display_name": "Ana Souza",
    "birth_year": 1990,
    "residency_status": "VISITOR",
    "preferred_language": "pt-BR",
    "lives_alone": True,
    "contact": "ana@example.com",
}


@pytest.fixture
def client(db_url: str) -> Iterator[TestClient]:
    # Nothing listens on this port: events stay in the outbox, where the test can see them.
    settings = PeopleSettings(database_url=db_url, kafka_bootstrap_servers="127.0.0.1:9", outbox_backoff_max_seconds=60, internal_token_secret=INTERNAL_SECRET)
    with TestClient(build_app(settings), headers=as_gateway()) as test_client:
        yield test_client


def _session(client: TestClient) -> Session:
    return Session(client.app.state.engine)  # type: ignore[attr-defined]


def updates(client: TestClient) -> list[dict[str, Any]]:
    with _session(client) as session:
        rows = session.exec(select(OutboxMessage).where(OutboxMessage.event_type == "jp.komagane.people.person-updated.v1").order_by(OutboxMessage.id)).all()  # type: ignore[arg-type]
        return [json.loads(row.payload) for row in rows]


def rights_log(client: TestClient, person_id: str) -> list[RightsRequest]:
    with _session(client) as session:
        return list(session.exec(select(RightsRequest).where(RightsRequest.person_id == person_id).order_by(RightsRequest.id)).all())  # type: ignore[arg-type]


def register(client: TestClient) -> str:
    response = client.post("/v1/people", json=VISITOR)
    assert response.status_code == 201
    return str(response.json()["id"])


def as_person(person_id: str) -> dict[str, str]:
    return as_gateway(subject=person_id, roles=("resident",))


def test_the_person_corrects_their_record_and_only_non_personal_values_go_out(client: TestClient) -> None:
    person_id = register(client)
    patch = {"display_name": "Ana Paula Souza", "contact": "ana.paula@example.com", "lives_alone": False, "preferred_language": "pt-BR"}
    response = client.patch(f"/v1/people/{person_id}", json=patch, headers=as_person(person_id))
    assert response.status_code == 200
    record = response.json()
    assert (record["display_name"], record["contact"], record["lives_alone"], record["residency_status"]) == (
        "Ana Paula Souza",
        "ana.paula@example.com",
        False,
        "VISITOR",
    )
    assert client.get(f"/v1/people/{person_id}").json()["display_name"] == "Ana Paula Souza"

    [event] = updates(client)
    assert event["changed"] == ["display_name", "contact", "lives_alone"]  # the language was the same
    assert (event["residency_status"], event["preferred_language"], event["lives_alone"], event["cause"]) == ("VISITOR", "pt-BR", False, "CORRECTION")
    text = json.dumps(event, ensure_ascii=False)
    assert "Ana" not in text and "example.com" not in text and "display_name" not in {k for k in event if k != "changed"}

    [entry] = rights_log(client, person_id)
    assert (entry.kind, entry.actor, entry.actor_role, entry.reason) == ("CORRECTION", person_id, "resident", None)
    assert entry.detail == "changed: display_name, contact, lives_alone"


def test_merge_patch_removes_the_contact_and_a_patch_that_changes_nothing_publishes_nothing(client: TestClient) -> None:
    person_id = register(client)
    headers = {**as_person(person_id), "content-type": "application/merge-patch+json"}
    removed = client.patch(f"/v1/people/{person_id}", content=json.dumps({"contact": None}), headers=headers)
    assert removed.status_code == 200 and removed.json()["contact"] is None
    same = client.patch(f"/v1/people/{person_id}", content=json.dumps({"residency_status": "VISITOR"}), headers=headers)
    assert same.status_code == 200
    assert [e["changed"] for e in updates(client)] == [["contact"]]
    assert [e.detail for e in rights_log(client, person_id)] == ["changed: contact", "changed: nothing"]


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        ({"display_name": None}, "display_name"),
        ({"display_name": "   "}, "display_name"),
        ({"residency_status": "TOURIST"}, "residency_status"),
        ({"residency_status": None}, "residency_status"),
        ({"preferred_language": "not a tag!"}, "preferred_language"),
        ({"lives_alone": "sometimes"}, "lives_alone"),
        ({"birth_year": 1950}, "birth_year"),
        ({"contact": "x" * 201}, "contact"),
    ],
)
def test_an_invalid_correction_names_the_field_and_changes_nothing(client: TestClient, patch: dict[str, Any], field: str) -> None:
    person_id = register(client)
    response = client.patch(f"/v1/people/{person_id}", json=patch)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert [e["field"] for e in response.json()["errors"]] == [field]
    assert client.get(f"/v1/people/{person_id}").json()["display_name"] == "Ana Souza"
    assert updates(client) == [] and rights_log(client, person_id) == []


def test_unknown_person_is_404_and_someone_else_without_a_staff_role_is_refused(client: TestClient) -> None:
    missing = client.patch("/v1/people/00000000-0000-0000-0000-000000000000", json={"lives_alone": True})
    assert missing.status_code == 404 and missing.json()["type"].endswith("/person-not-found")
    person_id = register(client)
    other = client.patch(f"/v1/people/{person_id}", json={"lives_alone": False}, headers=as_gateway(subject="someone-else", roles=("resident",)))
    assert other.status_code == 403
    assert updates(client) == []


def test_staff_correction_is_logged_with_the_reason(client: TestClient) -> None:
    person_id = register(client)
    headers = {**as_gateway(subject="staff-7", roles=("staff",)), "X-Access-Reason": "%E7%AA%93%E5%8F%A3%E3%81%A7%E7%94%B3%E5%87%BA"}
    assert client.patch(f"/v1/people/{person_id}", json={"residency_status": "RELATIONSHIP"}, headers=headers).status_code == 200
    [entry] = rights_log(client, person_id)
    assert (entry.actor, entry.actor_role, entry.reason) == ("staff-7", "staff", "窓口で申出")


def moved_in(person_id: str) -> CloudEvent:
    move = HouseholdMovedIn(
        person_id=person_id, move_id="m-1", household_size=1, origin="13", channel=MoveChannel.TRIAL_STAY, area="中央", moved_in_on=date(2026, 11, 1)
    )
    return CloudEvent.of(move)


def test_a_visitor_who_moves_in_becomes_a_resident_once(client: TestClient) -> None:
    person_id = register(client)
    with _session(client) as session:
        residency_from_moves(moved_in(person_id), session)
        residency_from_moves(moved_in(person_id), session)  # a second move of a resident changes nothing
        residency_from_moves(moved_in("not-registered-here"), session)
        session.commit()
        person = session.get(Person, person_id)
        assert person is not None and person.residency_status == "RESIDENT"
    [event] = updates(client)
    assert (event["changed"], event["residency_status"], event["cause"]) == (["residency_status"], "RESIDENT", "MOVED_IN")


def test_disclosure_to_the_person_and_to_staff_with_a_reason_is_logged(client: TestClient) -> None:
    person_id = register(client)
    client.put(f"/v1/people/{person_id}/consents/PROFILE")
    own = client.get(HELD.format(person_id), headers=as_person(person_id))
    assert own.status_code == 200
    sections = own.json()["sections"]
    assert sections["person"][0]["contact"] == "ana@example.com"
    assert [c["purpose"] for c in sections["consents"]] == ["PROFILE"]

    no_reason = client.get(HELD.format(person_id), headers=as_gateway(subject="staff-7", roles=("staff",)))
    assert no_reason.status_code == 422 and no_reason.json()["errors"][0]["field"] == "X-Access-Reason"
    neighbour = client.get(HELD.format(person_id), headers={**as_gateway(subject="neighbour", roles=("resident",)), "X-Access-Reason": "curious"})
    assert neighbour.status_code == 403
    staff = client.get(HELD.format(person_id), headers={**as_gateway(subject="staff-7", roles=("staff",)), "X-Access-Reason": "care planning"})
    assert staff.status_code == 200
    assert [e["kind"] for e in staff.json()["sections"]["rights_requests"]] == ["DISCLOSURE"]  # the person's own, before this one
    log = rights_log(client, person_id)
    assert [(e.actor, e.reason) for e in log] == [(person_id, None), ("staff-7", "care planning")]
    assert log[1].detail == "people: person (1), consents (1), consent_history (1), hubs (0), rights_requests (1), care_follow_ups (0)"

    assert client.get(HELD.format("00000000-0000-0000-0000-000000000000"), headers=as_person("00000000-0000-0000-0000-000000000000")).status_code == 404
    assert "/internal/v1/people/{person_id}/held" not in client.get("/openapi.json").json()["paths"]
