"""The exchange service in the running platform: events on Kafka, and capacity under concurrency."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from jsonschema import Draft202012Validator

from komagane_contracts.schemas import published, schema_filename
from komagane_contracts.topics import EXCHANGE
from komagane_devstack.stack import Stack
from tests.support.kafka import header, read_topic
from tests.support.platform import register_people
from tests.support.waiting import eventually


async def people(gateway: httpx.AsyncClient, stack: Stack, count: int) -> list[str]:
    """Register people and wait until the exchange service's replica knows them all."""
    return await register_people(gateway, stack, known_to="exchange", count=count)


async def post(gateway: httpx.AsyncClient, path: str, body: dict[str, Any], status: int = 201) -> dict[str, Any]:
    response = await gateway.post(path, json=body)
    assert response.status_code == status, response.text
    return dict(response.json())


async def upcoming_session(gateway: httpx.AsyncClient, *, capacity: int, category: str = "KAYOINOBA") -> dict[str, Any]:
    hub = await post(gateway, "/v1/hubs", {"name_ja": "GOTCHA!WELLNESS 駒ケ根", "name_en": "GOTCHA!WELLNESS Komagane", "kind": "WELLNESS_HUB", "area": "赤穂"})
    activity = await post(
        gateway,
        "/v1/activities",
        {
            "hub_id": hub["id"],
            "title": "ごちゃまぜ体操",
            "category": category,
            "organiser_kind": "ORGANISATION",
            "organiser_name": "JOCA",
            "languages": ["ja", "en"],
        },
    )
    starts = datetime.now(UTC) + timedelta(minutes=5)
    return await post(
        gateway,
        f"/v1/activities/{activity['id']}/sessions",
        {"starts_at": starts.isoformat(), "ends_at": (starts + timedelta(hours=1)).isoformat(), "capacity": capacity},
    )


async def test_fifty_simultaneous_reservations_for_ten_seats(stack: Stack, gateway: httpx.AsyncClient) -> None:
    session = await upcoming_session(gateway, capacity=10)
    ids = await people(gateway, stack, 50)
    path = f"/v1/sessions/{session['id']}/reservations"
    responses = await asyncio.gather(*(gateway.post(path, json={"person_id": p}) for p in ids))

    assert [r.status_code for r in responses] == [201] * 50
    outcomes = [r.json() for r in responses]
    assert sum(o["status"] == "RESERVED" for o in outcomes) == 10
    waitlisted = sorted(o["waitlist_position"] for o in outcomes if o["status"] == "WAITLISTED")
    assert waitlisted == list(range(1, 41))  # 40 on the waitlist, each with its own place
    assert (await gateway.get(f"/v1/sessions/{session['id']}")).json()["reserved_count"] == 10


async def test_every_command_publishes_one_valid_event(stack: Stack, gateway: httpx.AsyncClient) -> None:
    [alice, bob] = await people(gateway, stack, 2)
    session = await upcoming_session(gateway, capacity=1, category="INTERNATIONAL")
    session_id, hub_id = session["id"], session["hub_id"]
    await post(gateway, f"/v1/sessions/{session_id}/reservations", {"person_id": alice})
    await post(gateway, f"/v1/sessions/{session_id}/reservations", {"person_id": bob})
    assert (await gateway.delete(f"/v1/sessions/{session_id}/reservations/{alice}")).status_code == 204
    await post(gateway, f"/v1/sessions/{session_id}/attendance", {"person_id": bob, "check_in_code": session["check_in_code"], "mode": "LEARN"})
    proxy = {"staff_id": "staff-ogawa", "reason": "携帯電話なし"}
    await post(gateway, f"/v1/sessions/{session_id}/attendance", {"person_id": alice, "mode": "TEACH", "proxy": proxy})
    await post(gateway, f"/v1/hubs/{hub_id}/visits", {"person_id": alice})
    await post(gateway, f"/v1/hubs/{hub_id}/headcounts", {"counted_on": "2026-10-10", "count": 250, "occasion": "大使村まつり"})
    group = await post(gateway, "/v1/groups", {"name": "大使村の会", "kind": "CITIZEN_GROUP", "hub_id": hub_id})
    await post(gateway, f"/v1/groups/{group['id']}/members", {"person_id": bob, "officer_role": "TREASURER"})
    assert (await gateway.delete(f"/v1/groups/{group['id']}/members/{bob}")).status_code == 204
    await post(gateway, "/v1/volunteer-shifts", {"person_id": alice, "hub_id": hub_id, "worked_on": "2026-11-01", "hours": 3})

    expected = [
        "hub-registered", "activity-published", "session-scheduled", "session-reserved", "session-reserved", "reservation-cancelled",
        "participant-attended", "participant-attended", "hub-visited", "anonymous-headcount-recorded", "group-registered",
        "member-joined-group", "member-left-group", "volunteer-shift-completed",
    ]  # fmt: skip
    subjects = {hub_id, alice, bob, group["id"]}

    async def mine() -> list[Any] | None:
        records = [r for r in await read_topic(stack.kafka.bootstrap, EXCHANGE.name) if r.key and r.key.decode() in subjects]
        return records if len(records) >= len(expected) else None

    records = sorted(await eventually(mine, timeout=60, what="the exchange events"), key=lambda r: str(header(r, "ce_time")))
    assert sorted(str(header(r, "ce_type")).split(".")[-2] for r in records) == sorted(expected), "exactly one event per command"
    for record in records:
        event_type = str(header(record, "ce_type"))
        assert header(record, "ce_specversion") == "1.0" and header(record, "ce_source") == "/komagane/exchange"
        assert header(record, "ce_subject") == record.key.decode() and header(record, "traceparent")
        schema = published(schema_filename(event_type))
        assert schema is not None, event_type
        body = json.loads(record.value)
        assert list(Draft202012Validator(schema).iter_errors(body)) == [], event_type
        assert header(record, "ce_sensitivity") == schema["x-sensitivity"]
    attended = [json.loads(r.value) for r in records if str(header(r, "ce_type")).endswith("participant-attended.v1")]
    by_person = {a["person_id"]: a for a in attended}
    assert (by_person[alice]["recorded_by"], by_person[alice]["mode"]) == ("staff-ogawa", "TEACH")
    assert by_person[bob]["recorded_by"] is None
    cancelled = next(json.loads(r.value) for r in records if str(header(r, "ce_type")).endswith("reservation-cancelled.v1"))
    assert cancelled["promoted_person_id"] == bob
