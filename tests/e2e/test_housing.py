"""The housing service in the running platform (PostgreSQL): no double bookings under concurrency,
and one valid event on Kafka per command."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from jsonschema import Draft202012Validator
from psycopg import connect

from komagane_contracts.schemas import published, schema_filename
from komagane_contracts.topics import HOUSING
from komagane_devstack.stack import Stack
from tests.support.kafka import header, read_topic
from tests.support.platform import gateway_client, register_people
from tests.support.waiting import eventually


def day(offset: int) -> str:
    return (datetime.now(ZoneInfo("Asia/Tokyo")).date() + timedelta(days=offset)).isoformat()


def housing_db(stack: Stack) -> str:
    assert stack.postgres is not None
    return stack.postgres.url("housing")


async def people(gateway: httpx.AsyncClient, stack: Stack, residencies: list[str]) -> list[str]:
    """Register people and wait until the housing service's replica knows them all."""
    years = [1960 + i % 40 for i in range(len(residencies))]
    return await register_people(gateway, stack, known_to="housing", residencies=residencies, birth_years=years, name="移住希望者")


async def post(gateway: httpx.AsyncClient, path: str, body: dict[str, Any] | None = None, status: int = 201) -> dict[str, Any]:
    response = await gateway.post(path, json=body)
    assert response.status_code == status, response.text
    return dict(response.json())


async def trial_residence(gateway: httpx.AsyncClient) -> str:
    body = {"title": "お試し住宅 中沢", "kind": "TRIAL_RESIDENCE", "area": "中沢", "rooms": 3, "owner_kind": "ORGANISATION", "owner_name": "駒ヶ根市"}
    property_id = str((await post(gateway, "/v1/properties", body))["id"])
    await post(gateway, f"/v1/properties/{property_id}/status", {"status": "LISTED"}, status=200)
    return property_id


async def test_twenty_concurrent_overlapping_bookings_give_exactly_one(stack: Stack, gateway: httpx.AsyncClient) -> None:
    with connect(housing_db(stack)) as conn:  # the database itself holds the rule, not only the service
        row = conn.execute("SELECT contype FROM pg_constraint WHERE conname = 'ex_trial_stay_no_overlap'").fetchone()
    assert row is not None and row[0] == "x"
    home = await trial_residence(gateway)
    ids = await people(gateway, stack, ["VISITOR"] * 20)
    # Every range contains days 13 and 14, so each pair of requests overlaps.
    bodies = [{"property_id": home, "person_id": p, "check_in": day(10 + i % 4), "check_out": day(15 + i % 3)} for i, p in enumerate(ids)]
    responses = await asyncio.gather(*(gateway.post("/v1/trial-stays", json=b) for b in bodies))

    assert sorted(r.status_code for r in responses) == [201] + [409] * 19, [r.text for r in responses if r.status_code not in (201, 409)]
    for refused in (r for r in responses if r.status_code == 409):
        assert refused.headers["content-type"] == "application/problem+json" and refused.json()["type"].endswith("/stay-overlaps")
    with connect(housing_db(stack)) as conn:
        count = conn.execute("SELECT count(*) FROM trial_stay WHERE property_id = %s", (home,)).fetchone()
    assert count is not None and count[0] == 1
    listed = (await gateway.get("/v1/trial-stays", params={"property_id": home})).json()["items"]
    assert len(listed) == 1 and listed[0]["status"] == "BOOKED"


async def test_every_command_publishes_one_valid_event(stack: Stack, gateway: httpx.AsyncClient) -> None:
    [prospect, friend, resident] = await people(gateway, stack, ["VISITOR", "RELATIONSHIP", "RESIDENT"])
    home = await trial_residence(gateway)
    vacant = await post(
        gateway, "/v1/properties", {"title": "空き家", "kind": "VACANT_HOUSE", "area": "赤穂", "rooms": 4, "owner_kind": "PERSON", "owner_person_id": resident}
    )
    await post(gateway, f"/v1/properties/{vacant['id']}/status", {"status": "WITHDRAWN", "reason": "所有者の意向"}, status=200)
    case = await post(gateway, "/v1/migration-cases", {"person_id": prospect, "recorded_by": "staff-kato", "origin": "13", "household_size": 2})
    await post(gateway, f"/v1/properties/{home}/inquiries", {"person_id": prospect, "case_id": case["id"]})
    await post(gateway, f"/v1/migration-cases/{case['id']}/stage", {"stage": "CONSULTED", "recorded_by": "staff-kato"}, status=200)
    stay = await post(gateway, "/v1/trial-stays", {"property_id": home, "person_id": prospect, "case_id": case["id"], "check_in": day(0), "check_out": day(3)})
    await post(gateway, f"/v1/trial-stays/{stay['id']}/check-in", status=200)
    await post(gateway, f"/v1/trial-stays/{stay['id']}/completion", status=200)
    later = await post(gateway, "/v1/trial-stays", {"property_id": home, "person_id": friend, "check_in": day(30), "check_out": day(32)})
    assert (await gateway.delete(f"/v1/trial-stays/{later['id']}")).status_code == 204
    move = await post(
        gateway,
        "/v1/moves",
        {"person_id": prospect, "case_id": case["id"], "household_size": 2, "origin": "13", "channel": "TRIAL_STAY", "area": "赤穂", "moved_in_on": day(-370)},
    )
    await post(gateway, f"/v1/moves/{move['id']}/settlement", {"recorded_by": "staff-kato"}, status=200)
    await post(gateway, "/v1/relocations", {"person_id": resident, "from_area": "東伊那", "to_area": "赤穂", "into_town_centre": True, "relocated_on": day(-1)})
    await post(gateway, "/v1/workation-stays", {"person_id": friend, "started_on": day(-4), "ended_on": day(-1)})
    await post(gateway, "/v1/relationships", {"person_id": friend, "kind": "FORMER_RESIDENT"})

    expected = [
        "property-registered",
        "property-listed",
        "property-registered",
        "property-status-changed",
        "migration-case-opened",
        "property-inquired",
        "migration-stage-changed",
        "trial-stay-booked",
        "trial-stay-started",
        "migration-stage-changed",
        "trial-stay-completed",
        "trial-stay-booked",
        "trial-stay-cancelled",
        "household-moved-in",
        "migration-stage-changed",
        "settlement-confirmed",
        "migration-stage-changed",
        "residence-relocated",
        "workation-stay-completed",
        "relationship-registered",
    ]  # fmt: skip  (the case follows its stay, move and settlement: three of the stage changes)
    subjects = {prospect, friend, resident, home, vacant["id"]}

    async def mine() -> list[Any] | None:
        records = [r for r in await read_topic(stack.kafka.bootstrap, HOUSING.name) if r.key and r.key.decode() in subjects]
        return records if len(records) >= len(expected) else None

    records = await eventually(mine, timeout=60, what="the housing events")
    assert sorted(str(header(r, "ce_type")).split(".")[-2] for r in records) == sorted(expected), "exactly one event per command"
    for record in records:
        event_type = str(header(record, "ce_type"))
        assert header(record, "ce_specversion") == "1.0" and header(record, "ce_source") == "/komagane/housing"
        assert header(record, "ce_subject") == record.key.decode() and header(record, "traceparent")
        assert header(record, "ce_controller") == "city"
        schema = published(schema_filename(event_type))
        assert schema is not None, event_type
        body = json.loads(record.value)
        assert list(Draft202012Validator(schema).iter_errors(body)) == [], event_type
        assert header(record, "ce_sensitivity") == schema["x-sensitivity"]
    by_type = {str(header(r, "ce_type")).split(".")[-2]: json.loads(r.value) for r in records}
    changes = [json.loads(r.value) for r in records if str(header(r, "ce_type")).endswith(".migration-stage-changed.v1")]  # one key: in order
    assert [(c["stage"], c["recorded_by"].split("/")[0]) for c in changes] == [
        ("CONSULTED", "staff-kato"), ("TRIAL", "system:trial-stay"), ("MOVED", "system:move"), ("SETTLED", "system:move"),
    ]  # fmt: skip
    assert by_type["trial-stay-completed"]["case_id"] == case["id"]
    assert by_type["household-moved-in"]["channel"] == "TRIAL_STAY"


async def test_what_is_recorded_reads_back_through_the_gateway(stack: Stack, gateway: httpx.AsyncClient) -> None:
    """Each POST's Location leads staff to the resource as answered, lists find it, and a
    resident may not read these case records, not even their own."""
    [resident, friend] = await people(gateway, stack, ["RESIDENT", "RELATIONSHIP"])
    records: dict[str, dict[str, Any]] = {
        "/v1/relocations": {"person_id": resident, "from_area": "東伊那", "to_area": "赤穂", "relocated_on": day(-1)},
        "/v1/workation-stays": {"person_id": friend, "started_on": day(-4), "ended_on": day(-1)},
        "/v1/relationships": {"person_id": friend, "kind": "FURUSATO_DONOR"},
        "/v1/moves": {"person_id": friend, "household_size": 1, "origin": "20", "channel": "OTHER", "area": "赤穂", "moved_in_on": day(-3)},
    }
    async with gateway_client(stack, "staff", subject="e2e-staff") as staff, gateway_client(stack, "resident", subject=friend) as own:
        for path, body in records.items():
            created = await staff.post(path, json=body)
            assert created.status_code == 201, created.text
            location = created.headers["location"]
            assert location == f"{path}/{created.json()['id']}"
            read = await staff.get(location)
            assert read.status_code == 200 and read.json() == created.json(), read.text
            listed = (await staff.get(path, params={"person_id": body["person_id"]})).json()
            assert created.json()["id"] in [item["id"] for item in listed["items"]]
            assert (await own.get(location)).status_code == 403
