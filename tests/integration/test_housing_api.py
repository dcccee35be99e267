"""The housing service against real databases (SQLite and PostgreSQL): rules, events, idempotency.

People are put straight into the service's replica table, as its consumer would from Kafka.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import psycopg
import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from komagane_devstack.infra import PostgresServer
from komagane_housing.main import MIGRATIONS, build_app
from komagane_housing.settings import HousingSettings
from komagane_kit.db import make_engine, run_migrations
from komagane_kit.outbox import OutboxMessage
from komagane_kit.people_replica import KnownPerson
from tests.support.internal import INTERNAL_SECRET, as_gateway

VISITOR, VISITOR_2, RELATIONSHIP, RESIDENT = (f"00000000-0000-4000-8000-{i:012d}" for i in range(4))
RESIDENCY = {VISITOR: "VISITOR", VISITOR_2: "VISITOR", RELATIONSHIP: "RELATIONSHIP", RESIDENT: "RESIDENT"}
STRANGER = "99999999-0000-4000-8000-000000000000"
TODAY = datetime.now(ZoneInfo("Asia/Tokyo")).date()


def day(offset: int) -> str:
    return (TODAY + timedelta(days=offset)).isoformat()


@pytest.fixture
def client(db_url: str) -> Iterator[TestClient]:
    settings = HousingSettings(database_url=db_url, kafka_bootstrap_servers="127.0.0.1:9", outbox_backoff_max_seconds=60, internal_token_secret=INTERNAL_SECRET)
    app = build_app(settings)
    with TestClient(app, headers=as_gateway()) as test_client:
        with Session(app.state.engine) as session:
            for person_id, residency in RESIDENCY.items():
                session.add(KnownPerson(person_id=person_id, age_band="40-64", residency_status=residency, registered_at=datetime.now(UTC)))
            session.commit()
        yield test_client


def events(client: TestClient) -> list[tuple[str, dict[str, Any], dict[str, str]]]:
    with Session(client.app.state.engine) as session:  # type: ignore[attr-defined]
        rows = session.exec(select(OutboxMessage).order_by(OutboxMessage.id)).all()  # type: ignore[arg-type]
        return [(r.event_type.split(".")[-2], json.loads(r.payload), dict(json.loads(r.headers))) for r in rows]


def rows(client: TestClient, table: str) -> int:
    with client.app.state.engine.connect() as conn:  # type: ignore[attr-defined]
        return int(conn.exec_driver_sql(f"SELECT count(*) FROM {table}").scalar_one())


def emits_one(client: TestClient, event: str, method: str, path: str, body: object = None, status: int = 201) -> dict[str, Any]:
    """Run one command and check it added exactly one event of the given kind."""
    return emits(client, [event], method, path, body, status)


def emits(client: TestClient, kinds: list[str], method: str, path: str, body: object = None, status: int = 201) -> dict[str, Any]:
    """Run one command and check the events it added, in order."""
    before = len(events(client))
    response = client.request(method, path, json=body)
    assert response.status_code == status, response.text
    assert [e[0] for e in events(client)[before:]] == kinds
    return response.json() if response.content else {}


def refused(client: TestClient, method: str, path: str, body: object, status: int, kind: str, field: str | None = None) -> dict[str, Any]:
    """A refused command answers problem+json naming the field, and writes and publishes nothing."""
    before = len(events(client))
    counts = {t: rows(client, t) for t in ("property", "trial_stay", "migration_case", "migration_stage_record", "move", "relationship")}
    response = client.request(method, path, json=body)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["type"].endswith("/" + kind), problem
    if field is not None:
        assert field in [e["field"] for e in problem["errors"]], problem
    assert len(events(client)) == before
    assert {t: rows(client, t) for t in counts} == counts
    return dict(problem)


def residence(client: TestClient, *, kind: str = "TRIAL_RESIDENCE", listed: bool = True, **extra: Any) -> str:
    body = {"title": "お試し住宅 赤穂", "kind": kind, "area": "赤穂", "rooms": 3, "owner_kind": "ORGANISATION", "owner_name": "駒ヶ根市", **extra}
    property_id = str(emits_one(client, "property-registered", "POST", "/v1/properties", body)["id"])
    if listed:
        emits_one(client, "property-listed", "POST", f"/v1/properties/{property_id}/status", {"status": "LISTED"}, status=200)
    return property_id


def book(client: TestClient, property_id: str, start: int, end: int, person: str = VISITOR, **extra: Any) -> dict[str, Any]:
    body = {"property_id": property_id, "person_id": person, "check_in": day(start), "check_out": day(end), **extra}
    return emits_one(client, "trial-stay-booked", "POST", "/v1/trial-stays", body)


def test_migration_from_empty_is_repeatable(db_url: str) -> None:
    engine = make_engine(db_url)
    run_migrations(engine, MIGRATIONS)
    run_migrations(engine, MIGRATIONS)  # already at head: nothing to do, no error
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar() == "0002"
        assert conn.exec_driver_sql("SELECT count(*) FROM trial_stay").scalar() == 0
    engine.dispose()


def test_postgres_itself_refuses_overlapping_stays(postgres: PostgresServer) -> None:
    """The exclusion constraint, written around the service: overlaps fail, cancelled ones do not count."""
    url = postgres.create_database("t_housing_exclusion")
    engine = make_engine(url)
    run_migrations(engine, MIGRATIONS)
    engine.dispose()
    stay = (
        "INSERT INTO trial_stay (id, property_id, person_id, check_in, check_out, household_size, status, created_at)"
        " VALUES (%s, 'p', 'x', %s, %s, 1, %s, now())"
    )
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO property (id, title, kind, area, rooms, barrier_free, owner_kind, status, lock_version, created_at)"
            " VALUES ('p', 't', 'TRIAL_RESIDENCE', 'a', 1, false, 'ORGANISATION', 'LISTED', 0, now())"
        )
        conn.execute(stay, ("s1", date(2030, 5, 1), date(2030, 5, 5), "BOOKED"))
        conn.execute(stay, ("s2", date(2030, 5, 5), date(2030, 5, 8), "BOOKED"))  # starts the day the first ends
        conn.execute(stay, ("s3", date(2030, 5, 2), date(2030, 5, 3), "CANCELLED"))
        with pytest.raises(psycopg.errors.ExclusionViolation) as caught:
            conn.execute(stay, ("s4", date(2030, 5, 4), date(2030, 5, 6), "STARTED"))
        assert caught.value.sqlstate == "23P01"
        with pytest.raises(psycopg.errors.ExclusionViolation):  # a cancelled stay cannot come back over a live one
            conn.execute("UPDATE trial_stay SET status = 'BOOKED' WHERE id = 's3'")


def test_properties_status_and_inquiries(client: TestClient) -> None:
    body = {"title": "空き家 東伊那", "kind": "VACANT_HOUSE", "area": "東伊那", "rooms": 5, "owner_kind": "PERSON", "owner_person_id": STRANGER}
    refused(client, "POST", "/v1/properties", body, 422, "unknown-person", "owner_person_id")
    refused(client, "POST", "/v1/properties", {**body, "owner_person_id": None}, 422, "validation-error")
    refused(client, "POST", "/v1/properties", {**body, "owner_person_id": RESIDENT, "rooms": -1}, 422, "validation-error", "rooms")
    house = emits_one(client, "property-registered", "POST", "/v1/properties", {**body, "owner_person_id": RESIDENT})
    assert house["status"] == "DRAFT"
    _, registered, headers = events(client)[-1]
    assert headers["ce_sensitivity"] == "S0" and "owner_person_id" not in registered  # the owner stays in the service
    path = f"/v1/properties/{house['id']}"

    refused(client, "POST", f"{path}/inquiries", {"person_id": VISITOR}, 409, "property-not-listed")
    refused(client, "POST", f"{path}/status", {"status": "CONTRACTED"}, 409, "invalid-status-transition", "status")
    emits_one(client, "property-listed", "POST", f"{path}/status", {"status": "LISTED"}, status=200)
    refused(client, "POST", f"{path}/inquiries", {"person_id": STRANGER}, 422, "unknown-person", "person_id")
    inquiry = emits_one(client, "property-inquired", "POST", f"{path}/inquiries", {"person_id": VISITOR, "message": "見学したいです"})
    assert inquiry["property_id"] == house["id"] and events(client)[-1][2]["ce_subject"] == VISITOR
    changed = emits_one(client, "property-status-changed", "POST", f"{path}/status", {"status": "UNDER_INQUIRY"}, status=200)
    assert changed["status"] == "UNDER_INQUIRY"
    emits_one(client, "property-status-changed", "POST", f"{path}/status", {"status": "CONTRACTED", "reason": "移住者と契約"}, status=200)
    refused(client, "POST", f"{path}/status", {"status": "LISTED"}, 409, "invalid-status-transition")
    refused(client, "POST", "/v1/properties/nope/status", {"status": "LISTED"}, 404, "property-not-found")

    residence(client)
    assert [p["kind"] for p in client.get("/v1/properties", params={"kind": "VACANT_HOUSE"}).json()["items"]] == ["VACANT_HOUSE"]
    first = client.get("/v1/properties", params={"limit": 1}).json()
    second = client.get("/v1/properties", params={"limit": 1, "cursor": first["next_cursor"]}).json()
    assert first["next_cursor"] and second["next_cursor"] is None
    assert sorted([first["items"][0]["id"], second["items"][0]["id"]]) == [first["items"][0]["id"], second["items"][0]["id"]]


def test_booking_rules_past_dates_and_overlaps(client: TestClient) -> None:
    home = residence(client, max_occupants=4)
    base = {"property_id": home, "person_id": VISITOR, "check_in": day(10), "check_out": day(14)}
    problem = refused(client, "POST", "/v1/trial-stays", {**base, "check_in": day(-1)}, 422, "validation-error", "check_in")
    assert "past" in problem["detail"]
    refused(client, "POST", "/v1/trial-stays", {**base, "check_out": day(10)}, 422, "validation-error", "check_out")
    refused(client, "POST", "/v1/trial-stays", {**base, "check_out": day(200)}, 422, "validation-error", "check_out")
    refused(client, "POST", "/v1/trial-stays", {**base, "household_size": 5}, 422, "validation-error", "household_size")
    refused(client, "POST", "/v1/trial-stays", {**base, "person_id": STRANGER}, 422, "unknown-person", "person_id")
    refused(client, "POST", "/v1/trial-stays", {**base, "property_id": "nope"}, 422, "validation-error", "property_id")
    refused(client, "POST", "/v1/trial-stays", {**base, "property_id": residence(client, kind="VACANT_HOUSE")}, 422, "validation-error", "property_id")
    refused(client, "POST", "/v1/trial-stays", {**base, "property_id": residence(client, listed=False)}, 409, "property-not-listed")

    first = book(client, home, 10, 14, household_size=2)
    assert (first["nights"], first["status"]) == (4, "BOOKED")
    _, booked, headers = events(client)[-1]
    assert (booked["nights"], booked["household_size"], headers["ce_subject"]) == (4, 2, VISITOR)
    for start, end in ((10, 14), (8, 11), (13, 20), (11, 12), (5, 30)):
        refused(client, "POST", "/v1/trial-stays", {**base, "person_id": VISITOR_2, "check_in": day(start), "check_out": day(end)}, 409, "stay-overlaps")
    book(client, home, 14, 16, person=VISITOR_2)  # arrives the day the first leaves
    book(client, home, 7, 10, person=VISITOR_2)
    book(client, residence(client), 10, 14, person=VISITOR_2)  # another residence, same dates

    emits_one(client, "trial-stay-cancelled", "DELETE", f"/v1/trial-stays/{first['id']}", status=204)
    refused(client, "DELETE", f"/v1/trial-stays/{first['id']}", None, 409, "invalid-stay-state")
    again = book(client, home, 11, 13, person=VISITOR_2)  # cancelled dates are free again
    assert again["status"] == "BOOKED"

    # half-open: the stay leaving on day 10 is not there that night
    listed = client.get("/v1/trial-stays", params={"property_id": home, "from": day(10), "to": day(15)}).json()["items"]
    assert [(s["check_in"], s["status"]) for s in listed] == [(day(10), "CANCELLED"), (day(11), "BOOKED"), (day(14), "BOOKED")]
    page = client.get("/v1/trial-stays", params={"property_id": home, "limit": 2}).json()
    rest = client.get("/v1/trial-stays", params={"property_id": home, "limit": 2, "cursor": page["next_cursor"]}).json()
    assert [s["check_in"] for s in page["items"] + rest["items"]] == [day(7), day(10), day(11), day(14)] and rest["next_cursor"] is None


async def test_concurrent_overlapping_bookings_give_one(client: TestClient) -> None:
    """SQLite serialises on the property row's lock; PostgreSQL lets the exclusion constraint decide."""
    home = residence(client)
    people = [VISITOR, VISITOR_2, RELATIONSHIP, RESIDENT] * 3
    bodies = [{"property_id": home, "person_id": p, "check_in": day(5 + i % 3), "check_out": day(9 + i % 2)} for i, p in enumerate(people)]
    transport = httpx.ASGITransport(app=client.app)  # the running app, called from many threads at once
    async with httpx.AsyncClient(transport=transport, base_url="http://housing", headers=as_gateway()) as concurrent:
        responses = await asyncio.gather(*(concurrent.post("/v1/trial-stays", json=b) for b in bodies))
    assert sorted(r.status_code for r in responses) == [201] + [409] * (len(bodies) - 1), [r.text for r in responses]
    assert rows(client, "trial_stay") == 1
    assert [e[0] for e in events(client)].count("trial-stay-booked") == 1


def test_stay_check_in_completion_and_cancel_rules(client: TestClient) -> None:
    home = residence(client)
    later = book(client, home, 20, 22)
    refused(client, "POST", f"/v1/trial-stays/{later['id']}/check-in", None, 409, "outside-stay-dates")
    refused(client, "POST", f"/v1/trial-stays/{later['id']}/completion", None, 409, "invalid-stay-state")
    refused(client, "POST", "/v1/trial-stays/nope/check-in", None, 404, "trial-stay-not-found")

    now_stay = book(client, home, 0, 3, person=VISITOR_2)
    started = emits_one(client, "trial-stay-started", "POST", f"/v1/trial-stays/{now_stay['id']}/check-in", status=200)
    assert (started["status"], started["checked_in_on"]) == ("STARTED", day(0))
    refused(client, "DELETE", f"/v1/trial-stays/{now_stay['id']}", None, 409, "invalid-stay-state")
    refused(client, "POST", f"/v1/trial-stays/{now_stay['id']}/check-in", None, 409, "invalid-stay-state")
    done = emits_one(client, "trial-stay-completed", "POST", f"/v1/trial-stays/{now_stay['id']}/completion", status=200)
    assert (done["status"], done["completed_on"]) == ("COMPLETED", day(0))
    assert events(client)[-1][1]["nights"] == 0  # left on the day of arrival
    assert client.get(f"/v1/trial-stays/{now_stay['id']}").json()["status"] == "COMPLETED"


def test_migration_case_moves_forward_only(client: TestClient) -> None:
    refused(client, "POST", "/v1/migration-cases", {"person_id": RESIDENT, "recorded_by": "staff-sato"}, 422, "not-a-prospect", "person_id")
    refused(client, "POST", "/v1/migration-cases", {"person_id": STRANGER, "recorded_by": "staff-sato"}, 422, "unknown-person", "person_id")
    refused(client, "POST", "/v1/migration-cases", {"person_id": VISITOR, "recorded_by": "staff-sato", "origin": "48"}, 422, "validation-error", "origin")
    case = emits_one(
        client,
        "migration-case-opened",
        "POST",
        "/v1/migration-cases",
        {"person_id": RELATIONSHIP, "recorded_by": "staff-sato", "origin": "13", "household_size": 3},
    )
    assert case["stage"] == "INQUIRY" and events(client)[-1][1]["recorded_by"] == "staff-sato"
    stage = f"/v1/migration-cases/{case['id']}/stage"

    refused(client, "POST", stage, {"stage": "TOURED", "recorded_by": "staff-sato"}, 409, "invalid-stage-transition", "stage")  # CONSULTED is never skipped
    refused(client, "POST", stage, {"stage": "INQUIRY", "recorded_by": "staff-sato"}, 409, "invalid-stage-transition")
    refused(client, "POST", stage, {"stage": "CONSULTED", "recorded_by": "staff-sato", "occurred_on": day(1)}, 422, "validation-error", "occurred_on")
    refused(client, "POST", stage, {"stage": "CONSULTED", "recorded_by": ""}, 422, "validation-error", "recorded_by")
    refused(
        client, "POST", stage, {"stage": "CONSULTED", "recorded_by": "staff-sato", "property_ids": [residence(client)]}, 422, "validation-error", "property_ids"
    )
    emits_one(client, "migration-stage-changed", "POST", stage, {"stage": "CONSULTED", "recorded_by": "staff-sato", "note": "移住相談会"}, status=200)
    home = residence(client)
    refused(client, "POST", stage, {"stage": "TOURED", "recorded_by": "staff-ito", "property_ids": ["nope"]}, 422, "validation-error", "property_ids.0")
    emits_one(client, "migration-stage-changed", "POST", stage, {"stage": "TOURED", "recorded_by": "staff-ito", "property_ids": [home]}, status=200)
    changed = events(client)[-1][1]
    assert (changed["previous_stage"], changed["stage"], changed["recorded_by"], changed["property_ids"]) == ("CONSULTED", "TOURED", "staff-ito", [home])
    refused(client, "POST", stage, {"stage": "CONSULTED", "recorded_by": "staff-ito"}, 409, "invalid-stage-transition")
    decided = emits_one(client, "migration-stage-changed", "POST", stage, {"stage": "DECIDED", "recorded_by": "staff-ito"}, status=200)  # TRIAL is optional
    refused(client, "POST", stage, {"stage": "SETTLED", "recorded_by": "staff-ito"}, 409, "invalid-stage-transition")  # MOVED is not
    assert [(h["stage"], h["recorded_by"]) for h in decided["history"]] == [
        ("INQUIRY", "staff-sato"), ("CONSULTED", "staff-sato"), ("TOURED", "staff-ito"), ("DECIDED", "staff-ito"),
    ]  # fmt: skip
    assert decided["history"][2]["property_ids"] == [home]

    assert [c["id"] for c in client.get("/v1/migration-cases", params={"stage": "DECIDED"}).json()["items"]] == [case["id"]]
    assert client.get("/v1/migration-cases", params={"stage": "INQUIRY"}).json()["items"] == []
    refused(client, "POST", "/v1/migration-cases/nope/stage", {"stage": "CONSULTED", "recorded_by": "x"}, 404, "migration-case-not-found")


def test_moves_settlement_and_relocation(client: TestClient) -> None:
    case = emits_one(client, "migration-case-opened", "POST", "/v1/migration-cases", {"person_id": VISITOR, "recorded_by": "staff-sato"})
    move = {"person_id": VISITOR, "household_size": 2, "origin": "ABROAD", "channel": "TRIAL_STAY", "area": "赤穂", "moved_in_on": day(-400)}
    refused(client, "POST", "/v1/moves", {**move, "moved_in_on": day(3)}, 422, "validation-error", "moved_in_on")
    refused(client, "POST", "/v1/moves", {**move, "channel": "AGENT"}, 422, "validation-error", "channel")
    refused(client, "POST", "/v1/moves", {**move, "person_id": VISITOR_2, "case_id": case["id"]}, 422, "validation-error", "case_id")
    old = emits(client, ["household-moved-in", "migration-stage-changed"], "POST", "/v1/moves", {**move, "case_id": case["id"]})  # the case follows
    assert events(client)[-2][1]["channel"] == "TRIAL_STAY"
    recent = emits_one(client, "household-moved-in", "POST", "/v1/moves", {**move, "person_id": VISITOR_2, "origin": "20", "moved_in_on": day(-30)})

    refused(client, "POST", f"/v1/moves/{recent['id']}/settlement", {"recorded_by": "staff-sato"}, 409, "settlement-too-early", "confirmed_on")
    refused(client, "POST", f"/v1/moves/{old['id']}/settlement", {"recorded_by": "staff-sato", "confirmed_on": day(1)}, 422, "validation-error", "confirmed_on")
    settled = emits(
        client, ["settlement-confirmed", "migration-stage-changed"], "POST", f"/v1/moves/{old['id']}/settlement", {"recorded_by": "staff-sato"}, 200
    )
    assert settled["settled_on"] == day(0) and events(client)[-2][1]["moved_in_on"] == day(-400)
    refused(client, "POST", f"/v1/moves/{old['id']}/settlement", {"recorded_by": "staff-sato"}, 409, "already-settled")
    refused(client, "POST", "/v1/moves/nope/settlement", {"recorded_by": "staff-sato"}, 404, "move-not-found")

    relocation = {"person_id": RESIDENT, "from_area": "東伊那", "to_area": "赤穂", "into_town_centre": True, "relocated_on": day(-2)}
    refused(client, "POST", "/v1/relocations", {**relocation, "to_area": "東伊那"}, 422, "validation-error", "to_area")
    refused(client, "POST", "/v1/relocations", {**relocation, "relocated_on": day(5)}, 422, "validation-error", "relocated_on")
    emits_one(client, "residence-relocated", "POST", "/v1/relocations", relocation)
    assert events(client)[-1][1]["into_town_centre"] is True


def test_workation_and_relationships(client: TestClient) -> None:
    stay = {"person_id": VISITOR, "started_on": day(-5), "ended_on": day(-1), "purpose": "テレワーク"}
    refused(client, "POST", "/v1/workation-stays", {**stay, "ended_on": day(2)}, 422, "validation-error", "ended_on")
    refused(client, "POST", "/v1/workation-stays", {**stay, "ended_on": day(-5)}, 422, "validation-error", "ended_on")
    recorded = emits_one(client, "workation-stay-completed", "POST", "/v1/workation-stays", {**stay, "property_id": residence(client, kind="GUEST_HOUSE")})
    assert recorded["nights"] == 4 == events(client)[-1][1]["nights"]

    refused(client, "POST", "/v1/relationships", {"person_id": RESIDENT, "kind": "VOLUNTEER"}, 422, "validation-error", "person_id")
    emits_one(client, "relationship-registered", "POST", "/v1/relationships", {"person_id": RELATIONSHIP, "kind": "FORMER_RESIDENT"})
    emits_one(client, "relationship-registered", "POST", "/v1/relationships", {"person_id": RELATIONSHIP, "kind": "FURUSATO_DONOR"})
    refused(client, "POST", "/v1/relationships", {"person_id": RELATIONSHIP, "kind": "FORMER_RESIDENT"}, 409, "already-registered")


def test_idempotency_key_replays_a_booking(client: TestClient) -> None:
    home = residence(client)
    body = {"property_id": home, "person_id": VISITOR, "check_in": day(3), "check_out": day(5)}
    first = client.post("/v1/trial-stays", json=body, headers={"Idempotency-Key": "stay-1"})
    again = client.post("/v1/trial-stays", json=body, headers={"Idempotency-Key": "stay-1"})
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again.headers["idempotent-replayed"] == "true"
    assert [e[0] for e in events(client)].count("trial-stay-booked") == 1
