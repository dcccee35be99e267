"""Composed views: a person's overview from every pillar at once, and their profile as a stream."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import redis.asyncio as aioredis

from komagane_contracts.readmodels import profile_key
from komagane_devstack.process import free_port
from komagane_devstack.stack import Stack
from tests.e2e.test_exchange import post, upcoming_session
from tests.e2e.test_gateway_redis import profile_json
from tests.support.gateways import extra_gateway
from tests.support.platform import gateway_client, register_people

SECTIONS = ("profile", "sessions", "engagements", "matches", "housing")


async def test_overview_gathers_every_pillar_and_survives_a_failing_one(stack: Stack, gateway: httpx.AsyncClient, tmp_path: Path) -> None:
    (person,) = await register_people(gateway, stack, known_to="exchange", count=1)
    session = await upcoming_session(gateway, capacity=5)
    await post(gateway, f"/v1/sessions/{session['id']}/reservations", {"person_id": person})

    async with gateway_client(stack, "resident", subject=person) as resident:
        answer = await resident.get(f"/v1/people/{person}/overview")
        assert answer.status_code == 200, answer.text
        overview = answer.json()
        assert {name: overview[name]["status"] for name in SECTIONS} == dict.fromkeys(SECTIONS, "ok"), overview
        assert [s["session"]["id"] for s in overview["sessions"]["data"]] == [session["id"]]
        assert overview["sessions"]["data"][0]["reservation_status"] == "RESERVED"
        assert overview["engagements"]["data"] == [] and overview["housing"]["data"] == []
        # A resident sees only their own.
        assert (await resident.get("/v1/people/someone-else/overview")).status_code == 403

    token = stack.mint_token("resident", subject=person)
    with extra_gateway(stack, tmp_path, JOBS_URL=f"http://127.0.0.1:{free_port()}") as degraded:
        async with httpx.AsyncClient(base_url=degraded.url, timeout=30, headers={"Authorization": f"Bearer {token}"}) as client:
            answer = await client.get(f"/v1/people/{person}/overview")
    assert answer.status_code == 200, answer.text
    overview = answer.json()
    assert {name: overview[name]["status"] for name in SECTIONS} == {
        "profile": "ok",
        "sessions": "ok",
        "engagements": "unavailable",
        "matches": "unavailable",
        "housing": "ok",
    }
    assert overview["matches"]["problem"]["status"] == 503
    assert [s["session"]["id"] for s in overview["sessions"]["data"]] == [session["id"]]


async def events(lines: AsyncIterator[str]) -> AsyncIterator[tuple[str, str, str]]:
    """(event, id, data) of each server-sent event."""
    fields: dict[str, str] = {}
    async for line in lines:
        if line == "":
            if "event" in fields:
                yield fields["event"], fields.get("id", ""), fields.get("data", "")
            fields = {}
        elif not line.startswith(":"):
            name, _, value = line.partition(":")
            fields[name] = value.removeprefix(" ")


async def test_profile_stream_pushes_each_new_version_and_the_erasure(stack: Stack) -> None:
    person = f"sse-{uuid.uuid4().hex[:12]}"
    redis = aioredis.Redis.from_url(stack.redis.url)
    await redis.set(profile_key(person), profile_json(person, 1, places=[]))
    try:
        async with gateway_client(stack, "resident", subject=person) as resident:
            assert (await resident.get(f"/v1/people/{person[:-1]}x/stream")).status_code == 403
            async with resident.stream("GET", f"/v1/people/{person}/stream") as answer:
                assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/event-stream")
                received = events(answer.aiter_lines())
                event, version, data = await anext(received)
                assert (event, version, json.loads(data)["version"]) == ("profile", "1", 1)
                await redis.set(profile_key(person), profile_json(person, 2, places=["hub:a"]))
                event, version, data = await anext(received)
                assert (event, version, json.loads(data)["belonging"]["places"]) == ("profile", "2", ["hub:a"])
                await redis.delete(profile_key(person))
                event, _, _ = await anext(received)
                assert event == "profile-erased"
            # Reconnecting with the version one has: nothing is repeated until a new one lands.
            await redis.set(profile_key(person), profile_json(person, 3, places=[]))
            async with resident.stream("GET", f"/v1/people/{person}/stream", headers={"Last-Event-ID": "2"}) as answer:
                event, version, _ = await anext(events(answer.aiter_lines()))
                assert (event, version) == ("profile", "3")
    finally:
        await redis.delete(profile_key(person))
        await redis.aclose()
