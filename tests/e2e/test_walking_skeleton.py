"""The walking skeleton end to end: gateway → people → outbox → Kafka → profiles → Redis → gateway.

Everything here is real: the services run as processes on PostgreSQL, with a KRaft broker and
Redis, exactly as `make up` runs them (but on PostgreSQL, as in production).
"""

from __future__ import annotations

import asyncio
import json
import secrets
from datetime import datetime
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis
from jsonschema import Draft202012Validator
from opentelemetry.instrumentation.utils import suppress_instrumentation
from psycopg import connect

from komagane_contracts.readmodels import profile_key
from komagane_contracts.schemas import published, schema_filename
from komagane_contracts.topics import PEOPLE, PROFILES, dlq_name
from komagane_devstack.stack import PILLARS, Stack
from tests.support.kafka import end_offsets, header, produce, read_topic
from tests.support.otlp import OtlpReceiver, ReceivedSpan
from tests.support.waiting import eventually

HANAKO = {"display_name": "駒ヶ根 花子", "birth_year": 1948, "residency_status": "RESIDENT", "preferred_language": "ja", "lives_alone": True}
RAFAEL = {"display_name": "Rafael Souza", "birth_year": 1990, "residency_status": "RELATIONSHIP", "preferred_language": "pt-BR", "lives_alone": False}


async def register(gateway: httpx.AsyncClient, body: dict[str, object], **kwargs: object) -> str:
    response = await gateway.post("/v1/people", json=body, **kwargs)  # type: ignore[arg-type]
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def events_for(stack: Stack, person_id: str) -> list:  # type: ignore[type-arg]
    return [r for r in await read_topic(stack.kafka.bootstrap, PEOPLE.name) if r.key == person_id.encode()]


async def profile(gateway: httpx.AsyncClient, person_id: str) -> dict[str, object] | None:
    response = await gateway.get(f"/v1/profiles/{person_id}")
    return response.json() if response.status_code == 200 else None


# 1 ------------------------------------------------------------------------------------------
async def test_registration_publishes_one_valid_cloudevent(stack: Stack, gateway: httpx.AsyncClient) -> None:
    person_id = await register(gateway, RAFAEL)
    [record] = await eventually(lambda: events_for(stack, person_id), what="PersonRegistered on Kafka")

    assert header(record, "ce_specversion") == "1.0"
    assert header(record, "ce_type") == "jp.komagane.people.person-registered.v1"
    assert header(record, "ce_source") == "/komagane/people"
    assert header(record, "ce_subject") == person_id
    assert header(record, "content-type") == "application/json"
    assert header(record, "ce_sensitivity") == "S1" and header(record, "ce_controller") == "city"
    assert header(record, "ce_id") and datetime.fromisoformat(str(header(record, "ce_time")).replace("Z", "+00:00")).tzinfo
    assert header(record, "traceparent")

    schema = published(schema_filename("jp.komagane.people.person-registered.v1"))
    assert schema is not None
    body = json.loads(record.value)
    errors = sorted(Draft202012Validator(schema).iter_errors(body), key=str)
    assert errors == []
    assert body["age_band"] == "18-39" and "display_name" not in body


# 2 ------------------------------------------------------------------------------------------
async def test_profile_follows_consent_and_withdrawal_erases_it_everywhere(stack: Stack, gateway: httpx.AsyncClient) -> None:
    person_id = await register(gateway, HANAKO)
    assert (await gateway.get(f"/v1/profiles/{person_id}")).status_code == 404  # no consent, no profile

    assert (await gateway.put(f"/v1/people/{person_id}/consents/PROFILE")).status_code == 200
    shown = await eventually(lambda: profile(gateway, person_id), what="profile readable")
    assert shown["person_id"] == person_id and shown["age_band"] == "75+" and shown["consents"] == ["PROFILE"]

    assert (await gateway.delete(f"/v1/people/{person_id}/consents/PROFILE")).status_code == 204

    async def gone() -> bool:
        return (await gateway.get(f"/v1/profiles/{person_id}")).status_code == 404

    await eventually(gone, what="profile gone from the API")
    problem = (await gateway.get(f"/v1/profiles/{person_id}")).json()
    assert problem["status"] == 404 and problem["type"].endswith("/profile-not-found")

    redis = aioredis.Redis.from_url(stack.redis.url)
    assert await redis.exists(profile_key(person_id)) == 0
    await redis.aclose()

    async def tombstoned() -> list | None:  # type: ignore[type-arg]
        mine = [r for r in await read_topic(stack.kafka.bootstrap, PROFILES.name) if r.key == person_id.encode()]
        return mine if mine and mine[-1].value is None else None

    history = await eventually(tombstoned, what="tombstone on the compacted topic")
    assert json.loads(history[0].value)["person_id"] == person_id  # there was a profile before


# 3 ------------------------------------------------------------------------------------------
async def test_one_trace_from_gateway_to_profile_processing(stack: Stack, gateway: httpx.AsyncClient, otlp: OtlpReceiver) -> None:
    trace_id = secrets.token_hex(16)
    traceparent = f"00-{trace_id}-{secrets.token_hex(8)}-01"
    # This process may have instrumented httpx itself (importing a service app does): keep its
    # own client span out, so the gateway sees the trace context this test chose.
    with suppress_instrumentation():
        await register(gateway, HANAKO, headers={"traceparent": traceparent})

    def chain() -> list[str] | None:
        spans = otlp.trace(trace_id)
        by_id = {s.span_id: s for s in spans}
        processing = [s for s in spans if s.service == "profiles" and s.name.startswith("profiles fold")]
        if not processing:
            return None
        # Walk from the processing span up to the root and name each hop by service and role.
        hops: list[str] = []
        span: ReceivedSpan | None = processing[0]
        while span is not None:
            hops.append(f"{span.service}:{span.name}")
            span = by_id.get(span.parent_span_id)
        hops.reverse()
        # Services export in batches: wait until the chain reaches the gateway's span.
        return hops if hops[0].startswith("gateway:") else None

    async def probe() -> list[str] | None:
        return chain()

    try:
        hops = await eventually(probe, timeout=60, what="the whole chain of this trace")
    except AssertionError as exc:
        seen = sorted({f"{s.service}:{s.name}" for s in otlp.trace(trace_id)})
        raise AssertionError(f"{exc}; spans of this trace: {seen}; services exporting: {sorted({s.service for s in otlp.spans})}") from None
    services_in_order = [h.split(":", 1)[0] for h in hops]
    first = {s: services_in_order.index(s) for s in ("gateway", "people", "profiles")}
    assert first["gateway"] < first["people"] < first["profiles"], hops
    assert hops[0].startswith("gateway:POST /v1/{path:path}"), hops  # its forwarding route
    outbox_hop = next(i for i, h in enumerate(hops) if h.startswith("people:outbox publish"))
    people_server = next(i for i, h in enumerate(hops) if h.startswith("people:POST /v1/people"))
    assert people_server < outbox_hop < len(hops) - 1, hops
    assert hops[-1].startswith("profiles:profiles fold people.v1"), hops


# 4 ------------------------------------------------------------------------------------------
async def test_registrations_survive_a_kafka_outage(stack: Stack, gateway: httpx.AsyncClient) -> None:
    await asyncio.to_thread(stack.kafka.stop)
    try:
        ids = []
        for i in range(5):
            person_id = await register(gateway, {**HANAKO, "display_name": f"停電中 {i}"})
            response = await gateway.put(f"/v1/people/{person_id}/consents/PROFILE")
            assert response.status_code == 200
            ids.append(person_id)
    finally:
        await asyncio.to_thread(stack.kafka.start)

    async def all_profiles() -> list[dict[str, object]] | None:
        found = [await profile(gateway, pid) for pid in ids]
        return found if all(found) else None  # type: ignore[return-value]

    profiles = await eventually(all_profiles, timeout=120, what="every profile after Kafka returned")
    assert [p["person_id"] for p in profiles] == ids
    records = await read_topic(stack.kafka.bootstrap, PEOPLE.name)
    for person_id in ids:
        mine = [header(r, "ce_type") for r in records if r.key == person_id.encode()]
        assert mine == ["jp.komagane.people.person-registered.v1", "jp.komagane.people.consent-granted.v1"], "each event exactly once"
    # Only this test's events: other tests deliberately re-send events to prove idempotency.
    event_ids = [header(r, "ce_id") for r in records if r.key is not None and r.key.decode() in ids]
    assert len(event_ids) == len(set(event_ids)) == 2 * len(ids)
    for person_id in ids:
        # Redis is written before the batch's sends are awaited: the snapshot may come a moment later.
        async def published(person_id: str = person_id) -> list[Any] | None:
            return [r for r in await read_topic(stack.kafka.bootstrap, PROFILES.name) if r.key == person_id.encode()] or None

        snapshots = await eventually(published, timeout=60, what="the profile on the compacted topic")
        assert len({json.loads(r.value)["version"] for r in snapshots}) == len(snapshots) >= 1


# 5 ------------------------------------------------------------------------------------------
async def test_malformed_message_goes_to_the_dlq_and_processing_goes_on(stack: Stack, gateway: httpx.AsyncClient) -> None:
    person_id = await register(gateway, RAFAEL)
    # Same key, so the same partition: the good event queues right behind the bad one.
    await produce(stack.kafka.bootstrap, PEOPLE.name, key=person_id.encode(), value=b"{broken json", headers=[("ce_specversion", b"1.0")])
    assert (await gateway.put(f"/v1/people/{person_id}/consents/PROFILE")).status_code == 200

    await eventually(lambda: profile(gateway, person_id), timeout=90, what="the next event processed")

    async def dead_letters() -> dict[str, Any] | None:
        mine = [r for r in await read_topic(stack.kafka.bootstrap, dlq_name(PEOPLE.name)) if r.key == person_id.encode()]
        by_group = {str(header(r, "dlq_consumer_group")): r for r in mine}
        # Every consumer group of the topic dead-letters it: the profiles processor and each
        # pillar service's people replica.
        return by_group if set(by_group) == PEOPLE_CONSUMER_GROUPS else None

    letters = await eventually(dead_letters, timeout=90, what="the malformed message in the DLQ from every group")
    for letter in letters.values():
        assert letter.value == b"{broken json"
        assert header(letter, "dlq_original_topic") == PEOPLE.name
        assert header(letter, "dlq_error_class") == "InvalidEvent"
        assert "missing CloudEvents headers" in str(header(letter, "dlq_error_message"))


# Every pillar service, the people service itself included (it acts on PersonErased: docs/erasure.md).
PEOPLE_CONSUMER_GROUPS = {"komagane-profiles"} | {name for name, _module in PILLARS}


# 6 ------------------------------------------------------------------------------------------
def _counts(stack: Stack) -> tuple[int, int]:
    assert stack.postgres is not None
    with connect(stack.postgres.url("people")) as conn:
        people = conn.execute("SELECT count(*) FROM person").fetchone()
        outbox = conn.execute("SELECT count(*) FROM outbox").fetchone()
    assert people is not None and outbox is not None
    return int(people[0]), int(outbox[0])


@pytest.mark.parametrize(
    ("method", "path", "payload", "status", "names"),
    [
        ("POST", "/v1/people", {k: v for k, v in HANAKO.items() if k != "residency_status"}, 422, "residency_status"),
        ("POST", "/v1/people", {**HANAKO, "lives_alone": "sometimes"}, 422, "lives_alone"),
        ("POST", "/v1/people", {**HANAKO, "birth_year": "1948年"}, 422, "birth_year"),
        ("PUT", "/v1/people/{person}/consents/SELLING", None, 422, "purpose"),
        ("POST", "/v1/people", {**HANAKO, "contact": "x" * 200_000}, 413, "bytes"),
    ],
)
async def test_bad_input_is_a_problem_and_changes_nothing(
    stack: Stack, gateway: httpx.AsyncClient, method: str, path: str, payload: object, status: int, names: str
) -> None:
    person_id = await register(gateway, HANAKO)
    await eventually(lambda: events_for(stack, person_id), what="registration published")
    before_rows, before_offsets = _counts(stack), await end_offsets(stack.kafka.bootstrap, PEOPLE.name)

    response = await gateway.request(method, path.format(person=person_id), json=payload)

    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == status and names in problem["detail"]
    assert _counts(stack) == before_rows
    assert await end_offsets(stack.kafka.bootstrap, PEOPLE.name) == before_offsets


# The read model is derived data: losing Redis loses nothing ------------------------------
async def test_profiles_processor_rebuilds_a_lost_read_model_on_restart(stack: Stack, gateway: httpx.AsyncClient) -> None:
    person_id = await register(gateway, RAFAEL)
    assert (await gateway.put(f"/v1/people/{person_id}/consents/PROFILE")).status_code == 200
    before = await eventually(lambda: profile(gateway, person_id), what="profile readable")

    redis = aioredis.Redis.from_url(stack.redis.url)
    await redis.flushall()
    await redis.aclose()
    assert (await gateway.get(f"/v1/profiles/{person_id}")).status_code == 404

    assert stack.profiles is not None
    await asyncio.to_thread(stack.profiles.stop)
    await asyncio.to_thread(stack.profiles.start)

    assert await eventually(lambda: profile(gateway, person_id), what="profile rebuilt") == before


# Read-your-writes ----------------------------------------------------------------------------
async def test_a_client_can_wait_for_its_own_write(stack: Stack, gateway: httpx.AsyncClient) -> None:
    person_id = await register(gateway, HANAKO)
    # Registration is version 1 and consent version 2: ask for 2 straight after the write.
    assert (await gateway.put(f"/v1/people/{person_id}/consents/PROFILE")).status_code == 200
    response = await gateway.get(f"/v1/profiles/{person_id}", params={"min_version": 2, "wait": 10})
    assert response.status_code == 200, response.text
    assert response.json()["version"] == 2 and response.headers["etag"] == '"2"'

    too_far = await gateway.get(f"/v1/profiles/{person_id}", params={"min_version": 99, "wait": 0.2})
    assert too_far.status_code == 409
    assert too_far.json()["version"] == 2 and too_far.headers["retry-after"] == "1"
    assert (await gateway.get(f"/v1/profiles/{person_id}", params={"wait": 60})).status_code == 422
