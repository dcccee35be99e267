"""The health service in the running platform: consent from the people topic, and S2 data kept to
the health-internal topic (every topic in the broker is scanned)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
from aiokafka.admin import AIOKafkaAdminClient
from psycopg import connect

from komagane_contracts.events.health import HEALTH_INTERNAL_TOPIC, HEALTH_TOPIC
from komagane_devstack.stack import Stack
from komagane_kit.clock import now, tokyo_date
from komagane_kit.kafka import client_options
from tests.support.kafka import header, read_topic
from tests.support.platform import gateway_client
from tests.support.waiting import eventually

# Values no other test uses, so finding them anywhere means they leaked there.
WEIGHT_KG = 73.219
SYSTOLIC = 187
STEPS = 97_531
ADVICE = "かかと着地を意識した歩き方 (e2e-leak-probe)"
# What a client claims about itself is ignored: the gateway tells the service who the token says.
SPOOFED = {"actor": "someone-else", "actor_role": "admin"}


def _health_db(stack: Stack, sql: str, params: tuple[Any, ...]) -> Any:
    assert stack.postgres is not None
    with connect(stack.postgres.url("health")) as conn:
        row = conn.execute(sql, params).fetchone()
    return row[0] if row else None


async def register(gateway: httpx.AsyncClient, stack: Stack, count: int, *, consent: bool) -> list[str]:
    """Register people (optionally with HEALTH consent) and wait until the health service knows."""
    ids = []
    for i in range(count):
        response = await gateway.post("/v1/people", json={"display_name": f"健康 {i}", "birth_year": 1950 + i, "residency_status": "RESIDENT"})
        assert response.status_code == 201
        ids.append(response.json()["id"])
        if consent:
            assert (await gateway.put(f"/v1/people/{ids[-1]}/consents/HEALTH")).status_code == 200

    async def replicated() -> bool:
        known = _health_db(stack, "SELECT count(*) FROM known_person WHERE person_id = ANY(%s)", (ids,))
        consenting = _health_db(stack, "SELECT count(*) FROM health_consent WHERE granted AND person_id = ANY(%s)", (ids,))
        return bool(known == len(ids) and consenting == (len(ids) if consent else 0))

    await eventually(replicated, timeout=60, what="people and consent replicated to the health service")
    return ids


def measurement(person_id: str) -> dict[str, Any]:
    return {
        "person_id": person_id,
        "kind": "BLOOD_PRESSURE",
        "measured_at": "2026-02-01T10:00:00",
        "systolic_mmhg": SYSTOLIC,
        "diastolic_mmhg": 91,
        "weight_kg": WEIGHT_KG,
        "recorded_by": "nurse-e2e",
    }


async def test_consent_gate_follows_the_people_topic(stack: Stack, gateway: httpx.AsyncClient) -> None:
    [person] = await register(gateway, stack, 1, consent=False)
    refused = await gateway.post("/v1/health/measurements", json=measurement(person))
    assert refused.status_code == 403 and refused.headers["content-type"] == "application/problem+json"

    assert (await gateway.put(f"/v1/people/{person}/consents/HEALTH")).status_code == 200
    await eventually(lambda: _granted(stack, person, True), timeout=60, what="HEALTH consent replicated")
    assert (await gateway.post("/v1/health/measurements", json=measurement(person))).status_code == 201

    assert (await gateway.delete(f"/v1/people/{person}/consents/HEALTH")).status_code == 204
    await eventually(lambda: _granted(stack, person, False), timeout=60, what="HEALTH consent withdrawal replicated")
    assert (await gateway.post("/v1/health/measurements", json=measurement(person))).status_code == 403
    assert _health_db(stack, "SELECT count(*) FROM measurement WHERE person_id = %s", (person,)) == 1

    async def announced() -> list[Any]:
        records = await read_topic(stack.kafka.bootstrap, HEALTH_TOPIC)
        return [r for r in records if r.key == person.encode() and str(header(r, "ce_type")).endswith("health-data-consent-withdrawn.v1")]

    [record] = await eventually(announced, timeout=60, what="HealthDataConsentWithdrawn on health.v1")
    assert header(record, "ce_sensitivity") == "S1" and json.loads(record.value)["person_id"] == person


async def _granted(stack: Stack, person_id: str, granted: bool) -> bool:
    return bool(_health_db(stack, "SELECT granted FROM health_consent WHERE person_id = %s", (person_id,)) is granted)


def _numbers(value: Any) -> Iterator[float]:
    if isinstance(value, bool):
        return
    if isinstance(value, int | float):
        yield float(value)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _numbers(item)
    elif isinstance(value, list):
        for item in value:
            yield from _numbers(item)


def _leaks(raw: bytes | None) -> set[str]:
    """Which of the distinctive S2 values a message value carries."""
    if not raw:
        return set()
    text = raw.decode("utf-8", errors="replace")
    found = {name for name, probe in (("advice", "e2e-leak-probe"), ("weight", str(WEIGHT_KG))) if probe in text}
    try:
        numbers = set(_numbers(json.loads(raw)))
    except ValueError:
        numbers = set()
    found |= {name for name, probe in (("steps", STEPS), ("systolic", SYSTOLIC)) if float(probe) in numbers}
    return found


async def test_s2_payloads_appear_on_no_topic_but_the_health_internal_one(stack: Stack, gateway: httpx.AsyncClient) -> None:
    members = await register(gateway, stack, 5, consent=True)
    person = members[0]
    group = await gateway.post("/v1/health/groups", json={"name": "東伊那 歩こう会", "area": "東伊那", "person_ids": members})
    assert group.status_code == 201, group.text
    assert (await gateway.post("/v1/health/measurements", json=measurement(person))).status_code == 201
    yesterday = (tokyo_date(now()) - timedelta(days=1)).isoformat()
    csv = f"person_id,day,steps,brisk_walk_minutes\n{person},{yesterday},{STEPS},44\n{person},{yesterday}x,1,1\n"
    uploaded = await gateway.post("/v1/health/daily-activity.csv", content=csv.encode(), headers={"Content-Type": "text/csv"})
    assert uploaded.status_code == 200, uploaded.text
    assert (uploaded.json()["stored"], uploaded.json()["rejected"], uploaded.json()["points_awarded"]) == (1, 1, 1)
    advice = {"group_id": group.json()["id"], "held_on": yesterday, "physiotherapist": "pt-e2e", "attendees": [{"person_id": person, "advice": ADVICE}]}
    assert (await gateway.post("/v1/health/advice-sessions", json=advice)).status_code == 201

    async with gateway_client(stack, "care", subject="pt-e2e") as reader:
        read = await reader.get(f"/v1/health/people/{person}/measurements", params={"reason": "e2e audit check", **SPOOFED}, headers={"X-Actor": "spoof"})
        assert read.status_code == 200 and read.json()["items"][0]["weight_kg"] == WEIGHT_KG
        audit = await reader.get("/v1/health/audit", params={"person_id": person})
    assert [(e["actor"], e["actor_role"], e["reason"]) for e in audit.json()["items"]] == [("pt-e2e", "care", "e2e audit check")]

    async def internal_has_all() -> list[Any] | None:
        records = [r for r in await read_topic(stack.kafka.bootstrap, HEALTH_INTERNAL_TOPIC) if r.key in (person.encode(), group.json()["id"].encode())]
        kinds = {str(header(r, "ce_type")).split(".")[-2] for r in records}
        return records if {"measurement-recorded", "daily-activity-summarized", "advice-session-held"} <= kinds else None

    internal = await eventually(internal_has_all, timeout=60, what="the S2 events on the health-internal topic")
    assert all(header(r, "ce_sensitivity") == "S2" for r in internal)
    assert set().union(*(_leaks(r.value) for r in internal)) == {"weight", "steps", "systolic"}  # the advice text never leaves the service

    async def coarse_signals() -> list[Any] | None:
        records = [r for r in await read_topic(stack.kafka.bootstrap, HEALTH_TOPIC) if r.key == person.encode()]
        return records or None

    await eventually(coarse_signals, timeout=60, what="the points award on health.v1")  # the relay has published past our events

    admin = AIOKafkaAdminClient(**client_options(stack.kafka.bootstrap))
    await admin.start()
    try:
        topics = sorted(t for t in await admin.list_topics() if not t.startswith("__"))
    finally:
        await admin.close()
    assert HEALTH_TOPIC in topics and HEALTH_INTERNAL_TOPIC in topics
    leaked: dict[str, set[str]] = {}
    for topic in topics:
        if topic == HEALTH_INTERNAL_TOPIC:
            continue
        for record in await read_topic(stack.kafka.bootstrap, topic):
            found = _leaks(record.value) | _leaks(b"".join(v for _, v in record.headers or ()))
            if found:
                leaked.setdefault(topic, set()).update(found)
    assert leaked == {}, f"S2 values found outside {HEALTH_INTERNAL_TOPIC}"
