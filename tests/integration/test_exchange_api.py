"""The exchange service against real databases (SQLite and PostgreSQL): rules, events, idempotency.

People are put straight into the service's replica table, as its consumer would from Kafka.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from komagane_exchange.main import MIGRATIONS, build_app
from komagane_exchange.settings import ExchangeSettings
from komagane_kit.db import make_engine, run_migrations
from komagane_kit.outbox import OutboxMessage
from komagane_kit.people_replica import KnownPerson
from tests.support.internal import INTERNAL_SECRET, as_gateway

PEOPLE = [f"00000000-0000-4000-8000-{i:012d}" for i in range(6)]
STRANGER = "99999999-0000-4000-8000-000000000000"


@pytest.fixture
def client(db_url: str) -> Iterator[TestClient]:
    settings = ExchangeSettings(
        database_url=db_url, kafka_bootstrap_servers="127.0.0.1:9", outbox_backoff_max_seconds=60, internal_token_secret=INTERNAL_SECRET
    )
    app = build_app(settings)
    with TestClient(app, headers=as_gateway()) as test_client:
        with Session(app.state.engine) as session:
            for person_id in PEOPLE:
                session.add(KnownPerson(person_id=person_id, age_band="65-74", residency_status="RESIDENT", registered_at=datetime.now(UTC)))
            session.commit()
        yield test_client


def events(client: TestClient) -> list[tuple[str, dict[str, Any], dict[str, str]]]:
    with Session(client.app.state.engine) as session:  # type: ignore[attr-defined]
        rows = session.exec(select(OutboxMessage).order_by(OutboxMessage.id)).all()  # type: ignore[arg-type]
        return [(r.event_type.split(".")[-2], json.loads(r.payload), dict(json.loads(r.headers))) for r in rows]


def emits_one(client: TestClient, event: str, method: str, path: str, body: object = None, status: int = 201) -> dict[str, Any]:
    """Run one command and check it added exactly one event of the given kind."""
    before = len(events(client))
    response = client.request(method, path, json=body)
    assert response.status_code == status, response.text
    after = events(client)
    assert [e[0] for e in after[before:]] == [event]
    return response.json() if response.content else {}


def refused(client: TestClient, method: str, path: str, body: object, status: int, kind: str) -> dict[str, Any]:
    """A refused command answers problem+json and writes and publishes nothing."""
    before = len(events(client))
    response = client.request(method, path, json=body)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["type"].endswith("/" + kind), problem
    assert len(events(client)) == before
    return dict(problem)


def hub(client: TestClient, name: str = "ぱとな") -> str:
    return str(emits_one(client, "hub-registered", "POST", "/v1/hubs", {"name_ja": name, "kind": "CIVIC_CENTRE", "area": "赤穂"})["id"])


def activity(client: TestClient, hub_id: str, **extra: Any) -> str:
    body = {"hub_id": hub_id, "title": "いきいき体操", "category": "KAYOINOBA", "organiser_kind": "ORGANISATION", "organiser_name": "JOCA", **extra}
    return str(emits_one(client, "activity-published", "POST", "/v1/activities", body)["id"])


def session_(client: TestClient, activity_id: str, *, starts_in: timedelta = timedelta(minutes=10), capacity: int = 10) -> dict[str, Any]:
    starts = datetime.now(UTC) + starts_in
    body = {"starts_at": starts.isoformat(), "ends_at": (starts + timedelta(hours=1)).isoformat(), "capacity": capacity}
    return emits_one(client, "session-scheduled", "POST", f"/v1/activities/{activity_id}/sessions", body)


def test_migration_from_empty_is_repeatable(db_url: str) -> None:
    engine = make_engine(db_url)
    run_migrations(engine, MIGRATIONS)
    run_migrations(engine, MIGRATIONS)  # already at head: nothing to do, no error
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar() == "0002"
    engine.dispose()


def test_hubs_list_with_opaque_cursor(client: TestClient) -> None:
    ids = sorted(hub(client, f"公民館 {i}") for i in range(3))
    first = client.get("/v1/hubs", params={"limit": 2}).json()
    assert [h["id"] for h in first["items"]] == ids[:2] and first["next_cursor"]
    second = client.get("/v1/hubs", params={"limit": 2, "cursor": first["next_cursor"]}).json()
    assert [h["id"] for h in second["items"]] == ids[2:] and second["next_cursor"] is None
    assert client.get("/v1/hubs", params={"cursor": "%%%"}).status_code == 400


def test_reservations_fill_then_waitlist_and_cancellation_promotes(client: TestClient) -> None:
    s = session_(client, activity(client, hub(client)), capacity=2)
    path = f"/v1/sessions/{s['id']}/reservations"
    statuses = [emits_one(client, "session-reserved", "POST", path, {"person_id": p}) for p in PEOPLE[:4]]
    assert [(r["status"], r["waitlist_position"]) for r in statuses] == [("RESERVED", None), ("RESERVED", None), ("WAITLISTED", 1), ("WAITLISTED", 2)]
    refused(client, "POST", path, {"person_id": PEOPLE[0]}, 409, "already-reserved")

    emits_one(client, "reservation-cancelled", "DELETE", f"{path}/{PEOPLE[1]}", status=204)
    assert events(client)[-1][1]["promoted_person_id"] == PEOPLE[2]  # first in line gets the seat
    assert client.get(f"/v1/sessions/{s['id']}").json()["reserved_count"] == 2
    emits_one(client, "reservation-cancelled", "DELETE", f"{path}/{PEOPLE[3]}", status=204)  # a waitlisted one leaves
    assert events(client)[-1][1]["promoted_person_id"] is None
    refused(client, "DELETE", f"{path}/{PEOPLE[3]}", None, 404, "reservation-not-found")


def test_a_persons_sessions_name_the_activity_and_the_waitlist_place(client: TestClient) -> None:
    s = session_(client, activity(client, hub(client), title="ノルディックウォーキング"), capacity=1)
    path = f"/v1/sessions/{s['id']}/reservations"
    for p in PEOPLE[:3]:
        emits_one(client, "session-reserved", "POST", path, {"person_id": p})
    mine = [client.get(f"/v1/people/{p}/sessions").json() for p in PEOPLE[:3]]
    assert [(m[0]["reservation_status"], m[0]["waitlist_position"]) for m in mine] == [("RESERVED", None), ("WAITLISTED", 1), ("WAITLISTED", 2)]
    assert mine[0][0]["session"]["title"] == "ノルディックウォーキング"
    emits_one(client, "reservation-cancelled", "DELETE", f"{path}/{PEOPLE[1]}", status=204)  # the queue moves up
    assert client.get(f"/v1/people/{PEOPLE[2]}/sessions").json()[0]["waitlist_position"] == 1


def test_a_persons_participation_names_what_they_took_part_in(client: TestClient) -> None:
    hub_id = hub(client, "ぱとな")
    s = session_(client, activity(client, hub_id, title="いきいき体操"))
    proxy = {"person_id": PEOPLE[0], "proxy": {"staff_id": "staff-tanaka", "reason": "紙の出席簿"}}
    emits_one(client, "participant-attended", "POST", f"/v1/sessions/{s['id']}/attendance", proxy)
    emits_one(client, "hub-visited", "POST", f"/v1/hubs/{hub_id}/visits", {"person_id": PEOPLE[0], "purpose": "お茶のみ"})
    worked_on = (datetime.now(UTC) - timedelta(days=3)).date().isoformat()
    body = {"person_id": PEOPLE[0], "hub_id": hub_id, "worked_on": worked_on, "hours": 2, "description": "配膳"}
    emits_one(client, "volunteer-shift-completed", "POST", "/v1/volunteer-shifts", body)
    long_ago = (datetime.now(UTC) - timedelta(weeks=20)).date().isoformat()
    emits_one(client, "volunteer-shift-completed", "POST", "/v1/volunteer-shifts", {**body, "worked_on": long_ago})
    group = client.post("/v1/groups", json={"name": "体操クラブ", "kind": "CLUB", "hub_id": hub_id}).json()
    client.post(f"/v1/groups/{group['id']}/members", json={"person_id": PEOPLE[0], "officer_role": "LEADER"})

    answer = client.get(f"/v1/people/{PEOPLE[0]}/participation", params={"weeks": 12}).json()
    assert sorted((i["kind"], i["title"], i["hub_id"]) for i in answer["items"]) == [
        ("ATTENDANCE", "いきいき体操", hub_id),
        ("VISIT", "お茶のみ", hub_id),
        ("VOLUNTEER", "配膳", hub_id),
    ]  # the shift of 20 weeks ago is outside the window
    assert [(g["name"], g["officer_role"]) for g in answer["groups"]] == [("体操クラブ", "LEADER")]
    assert client.get(f"/v1/people/{PEOPLE[1]}/participation").json()["items"] == []
    assert client.get(f"/v1/people/{PEOPLE[0]}/participation", params={"weeks": 0}).status_code == 422


def test_attendance_rules_self_check_in_and_proxy(client: TestClient) -> None:
    s = session_(client, activity(client, hub(client)))
    path = f"/v1/sessions/{s['id']}/attendance"
    refused(
        client, "POST", path, {"person_id": PEOPLE[0], "check_in_code": "000000" if s["check_in_code"] != "000000" else "111111"}, 422, "check-in-code-mismatch"
    )
    refused(client, "POST", path, {"person_id": STRANGER, "check_in_code": s["check_in_code"]}, 422, "unknown-person")
    refused(client, "POST", "/v1/sessions/no-such-session/attendance", {"person_id": PEOPLE[0], "check_in_code": "1"}, 404, "session-not-found")

    attended = emits_one(client, "participant-attended", "POST", path, {"person_id": PEOPLE[0], "check_in_code": s["check_in_code"], "mode": "LEARN"})
    assert attended["recorded_by"] is None
    refused(client, "POST", path, {"person_id": PEOPLE[0], "check_in_code": s["check_in_code"]}, 409, "already-attended")

    proxy = {"person_id": PEOPLE[1], "mode": "VOLUNTEER", "proxy": {"staff_id": "staff-tanaka", "reason": "no smartphone"}}
    emits_one(client, "participant-attended", "POST", path, proxy)
    _, body, headers = events(client)[-1]
    assert (body["recorded_by"], body["proxy_reason"], body["mode"]) == ("staff-tanaka", "no smartphone", "VOLUNTEER")
    assert headers["ce_sensitivity"] == "S1"


def test_attendance_only_while_a_session_is_under_way(client: TestClient) -> None:
    later = session_(client, activity(client, hub(client)), starts_in=timedelta(days=2))
    refused(
        client,
        "POST",
        f"/v1/sessions/{later['id']}/attendance",
        {"person_id": PEOPLE[0], "check_in_code": later["check_in_code"]},
        409,
        "session-not-under-way",
    )


def test_support_specific_participation_is_s2(client: TestClient) -> None:
    s = session_(client, activity(client, hub(client), category="HEALTH_PROGRAM", support_specific=True))
    emits_one(client, "session-reserved", "POST", f"/v1/sessions/{s['id']}/reservations", {"person_id": PEOPLE[0]})
    assert events(client)[-1][2]["ce_sensitivity"] == "S2"
    emits_one(client, "participant-attended", "POST", f"/v1/sessions/{s['id']}/attendance", {"person_id": PEOPLE[0], "check_in_code": s["check_in_code"]})
    assert events(client)[-1][2]["ce_sensitivity"] == "S2"


def test_scheduling_and_session_lifecycle(client: TestClient) -> None:
    activity_id = activity(client, hub(client), category="INTERNATIONAL", languages=["ja", "en"])
    past = {"starts_at": "2020-01-01T10:00:00", "ends_at": "2020-01-01T11:00:00", "capacity": 5}
    problem = refused(client, "POST", f"/v1/activities/{activity_id}/sessions", past, 422, "validation-error")
    assert problem["errors"][0]["field"] == "starts_at"
    soon = datetime.now(UTC) + timedelta(days=30)  # inside the window: the order is what is wrong
    backwards = {"starts_at": soon.isoformat(), "ends_at": (soon - timedelta(hours=1)).isoformat(), "capacity": 5}
    problem = refused(client, "POST", f"/v1/activities/{activity_id}/sessions", backwards, 422, "validation-error")
    assert "ends_at must be after starts_at" in problem["errors"][0]["message"]

    upcoming = session_(client, activity_id, starts_in=timedelta(days=1))
    refused(client, "POST", f"/v1/sessions/{upcoming['id']}/held", {}, 409, "session-not-started")
    emits_one(client, "session-reserved", "POST", f"/v1/sessions/{upcoming['id']}/reservations", {"person_id": PEOPLE[0]})
    emits_one(client, "session-cancelled", "POST", f"/v1/sessions/{upcoming['id']}/cancel", {"reason": "大雪のため"}, status=200)
    assert events(client)[-1][1]["affected_reservations"] == 1
    refused(client, "POST", f"/v1/sessions/{upcoming['id']}/reservations", {"person_id": PEOPLE[1]}, 409, "session-not-open")

    listed = client.get("/v1/sessions", params={"category": "INTERNATIONAL", "language": "en"}).json()["items"]
    assert [s["id"] for s in listed] == [upcoming["id"]] and listed[0]["status"] == "CANCELLED"
    assert client.get("/v1/sessions", params={"language": "pt-BR"}).json()["items"] == []


def test_groups_membership_and_volunteering(client: TestClient) -> None:
    group = emits_one(client, "group-registered", "POST", "/v1/groups", {"name": "赤穂 通いの場", "kind": "KAYOINOBA", "is_kayoinoba": True})
    members = f"/v1/groups/{group['id']}/members"
    emits_one(client, "member-joined-group", "POST", members, {"person_id": PEOPLE[0], "officer_role": "LEADER"})
    refused(client, "POST", members, {"person_id": PEOPLE[0]}, 409, "already-member")
    assert client.get(f"/v1/groups/{group['id']}").json()["members"] == 1
    emits_one(client, "member-left-group", "DELETE", f"{members}/{PEOPLE[0]}", status=204)
    refused(client, "DELETE", f"{members}/{PEOPLE[0]}", None, 404, "membership-not-found")

    future = (datetime.now(UTC) + timedelta(days=3)).date().isoformat()
    refused(client, "POST", "/v1/volunteer-shifts", {"person_id": PEOPLE[0], "worked_on": future, "hours": 2}, 422, "validation-error")
    refused(client, "POST", "/v1/volunteer-shifts", {"person_id": PEOPLE[0], "worked_on": "2026-01-10", "hours": 30}, 422, "validation-error")
    shift = emits_one(client, "volunteer-shift-completed", "POST", "/v1/volunteer-shifts", {"person_id": PEOPLE[0], "worked_on": "2026-01-10", "hours": 2.5})
    assert shift["hours"] == 2.5


def test_visits_and_headcounts(client: TestClient) -> None:
    hub_id = hub(client)
    emits_one(client, "hub-visited", "POST", f"/v1/hubs/{hub_id}/visits", {"person_id": PEOPLE[0], "purpose": "お茶のみ"})
    refused(client, "POST", f"/v1/hubs/{hub_id}/visits", {"person_id": STRANGER}, 422, "unknown-person")
    refused(client, "POST", "/v1/hubs/nope/visits", {"person_id": PEOPLE[0]}, 404, "hub-not-found")
    emits_one(client, "anonymous-headcount-recorded", "POST", f"/v1/hubs/{hub_id}/headcounts", {"counted_on": "2026-08-01", "count": 420, "occasion": "夏祭り"})
    assert events(client)[-1][2]["ce_sensitivity"] == "S0"


def test_idempotency_key_replays_and_refuses_a_different_body(client: TestClient) -> None:
    body = {"name_ja": "GOTCHA!WELLNESS 駒ケ根", "kind": "WELLNESS_HUB", "area": "赤穂"}
    first = client.post("/v1/hubs", json=body, headers={"Idempotency-Key": "k-1"})
    again = client.post("/v1/hubs", json=body, headers={"Idempotency-Key": "k-1"})
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again.headers["idempotent-replayed"] == "true"
    assert [e[0] for e in events(client)] == ["hub-registered"]
    different = client.post("/v1/hubs", json={**body, "area": "東伊那"}, headers={"Idempotency-Key": "k-1"})
    assert different.status_code == 422 and different.json()["type"].endswith("/idempotency-key-reused")
    assert len(events(client)) == 1


def test_a_visit_with_an_idempotency_key_is_recorded_once_and_replayed(client: TestClient) -> None:
    hub_id = hub(client)
    path, body, key = f"/v1/hubs/{hub_id}/visits", {"person_id": PEOPLE[1], "purpose": "体操"}, {"Idempotency-Key": "visit-1"}
    first = client.post(path, json=body, headers=key)
    again = client.post(path, json=body, headers=key)
    assert first.status_code == again.status_code == 201 and again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json() and first.json()["hub_id"] == hub_id and first.headers["content-type"] == "application/json"
    visited = [e for e in events(client) if e[0] == "hub-visited"]
    assert len(visited) == 1 and visited[0][1]["visit_id"] == first.json()["id"]
    # Refusals change nothing, with or without a key, and a remembered hub still needs a known person.
    before = len(events(client))
    assert client.post("/v1/hubs/no-such-hub/visits", json=body, headers={"Idempotency-Key": "visit-2"}).status_code == 404
    refused(client, "POST", path, {"person_id": STRANGER}, 422, "unknown-person")
    assert len(events(client)) == before
