"""Erasure (APPI 利用停止・消去) across the running platform (docs/erasure.md).

A person takes part in all four pillars, opts in to a profile and to a partner's feed, then
erases themself. Afterwards no row of any service's PostgreSQL database, no Redis key or value
and no latest message per key of any compacted topic carries their id; the partner got a
deletion notice for its pseudonym; a later write about them is refused with 410; and folding the
whole history again from offset 0 (the profiles processor's own steps, and a pillar's people
replica on a fresh database) does not bring them back.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis
from aiokafka import ConsumerRecord
from psycopg import connect
from sqlmodel import Session

from komagane_contracts.envelope import CloudEvent
from komagane_contracts.events.people import PersonErased
from komagane_contracts.kafka_access import partner_topic
from komagane_contracts.topics import KPI_PEOPLE_CHANGELOG, PEOPLE, TOPICS
from komagane_devstack.kafka_security import provision_partner
from komagane_devstack.stack import Stack
from komagane_exchange.main import MIGRATIONS as EXCHANGE_MIGRATIONS
from komagane_kit.clock import now, tokyo_date
from komagane_kit.db import make_engine, run_migrations
from komagane_kit.people_replica import replicate_people
from komagane_profiles import kpis
from komagane_profiles.pipeline import Replay
from tests.e2e.test_partner_feeds import DELETION, VISITED, agreement, events_of
from tests.e2e.test_profiles_correctness import INPUT_TOPICS, latest_by_key
from tests.support.erasure import rows_mentioning
from tests.support.kafka import header, read_topic
from tests.support.kcat import read_all
from tests.support.platform import gateway_client, register_people
from tests.support.waiting import eventually

pytestmark = pytest.mark.timeout(600)

DATABASES = ("people", "exchange", "jobs", "health", "housing", "partners")
COMPACTED = tuple(t.name for t in TOPICS if t.cleanup_policy == "compact")
NAME = "消去 希望子"
KNOWN = "SELECT count(*) FROM known_person WHERE person_id = %s"
CONSENTED = "SELECT count(*) FROM health_consent WHERE granted AND person_id = %s"


async def ok(response: httpx.Response, status: int = 201) -> dict[str, Any]:
    assert response.status_code == status, response.text
    return dict(response.json()) if response.content else {}


def replicated(stack: Stack, database: str, sql: str, person_id: str) -> bool:
    assert stack.postgres is not None
    with connect(stack.postgres.url(database)) as conn:
        row = conn.execute(sql, (person_id,)).fetchone()
    return row is not None and row[0] == 1


def database_mentions(stack: Stack, needle: str) -> dict[str, dict[str, int]]:
    assert stack.postgres is not None
    found = {}
    for name in DATABASES:
        engine = make_engine(stack.postgres.url(name))
        try:
            if hits := rows_mentioning(engine, needle):
                found[name] = hits
        finally:
            engine.dispose()
    return found


async def redis_mentions(stack: Stack, needle: str) -> list[str]:
    """Keys whose name or value (of any type) carries `needle`."""
    raw = needle.encode()
    client = aioredis.Redis.from_url(stack.redis.url)
    found = []
    try:
        async for key in client.scan_iter(count=1000):
            kind = _b(await client.type(key))
            values: list[Any] = []
            if kind == b"string":
                values = [await client.get(key)]
            elif kind == b"hash":
                values = [_b(k) + b"=" + _b(v) for k, v in (await client.hgetall(key)).items()]
            elif kind == b"list":
                values = list(await client.lrange(key, 0, -1))
            elif kind == b"set":
                values = list(await client.smembers(key))
            elif kind == b"zset":
                values = list(await client.zrange(key, 0, -1))
            if raw in _b(key) or any(raw in _b(v) for v in values):
                found.append(_b(key).decode())
    finally:
        await client.aclose()
    return found


def _b(value: object) -> bytes:
    return value if isinstance(value, bytes) else str(value).encode()


def _mentions(record: ConsumerRecord[bytes, bytes], raw: bytes) -> bool:
    return any(raw in (part or b"") for part in (record.key, record.value, *(bytes(v) for _k, v in record.headers)))


async def compacted_mentions(stack: Stack, needle: str) -> list[str]:
    """What a compacted topic keeps once compacted: the latest value per key, tombstones gone."""
    raw = needle.encode()
    found = []
    for topic in COMPACTED:
        for record in latest_by_key(await read_topic(stack.kafka.bootstrap, topic)).values():
            if record.value is not None and _mentions(record, raw):
                found.append(f"{topic}@{record.partition}:{record.offset}")
    return found


async def take_part_everywhere(admin: httpx.AsyncClient, stack: Stack, person: str, hub_id: str, partner: str) -> None:
    for purpose in ("PROFILE", "HEALTH", f"PARTNER:{partner}"):
        await ok(await admin.put(f"/v1/people/{person}/consents/{purpose}"), 200)
    for database in ("jobs", "housing"):
        await eventually(_sync(replicated, stack, database, KNOWN, person), timeout=60, what=database)
    await eventually(_sync(replicated, stack, "health", CONSENTED, person), timeout=60, what="consent")
    yesterday = tokyo_date(now()) - timedelta(days=1)
    # Exchange: a visit (with an Idempotency-Key: answers stored at the gateway and the service), a shift.
    await ok(await admin.post(f"/v1/hubs/{hub_id}/visits", json={"person_id": person, "purpose": "お茶のみ"}, headers={"Idempotency-Key": f"v-{person}"}))
    await ok(await admin.post("/v1/volunteer-shifts", json={"person_id": person, "worked_on": yesterday.isoformat(), "hours": 2}))
    # Jobs: they teach a まちゼミ seminar.
    await ok(await admin.post("/v1/seminars", json={"title": "信州味噌づくり", "organisation": "味噌蔵", "instructor_person_id": person, "capacity": 8}))
    # Health: a measurement (S2), read back by care staff with a reason (the audit log records it).
    measured = (datetime.now(UTC) - timedelta(hours=3)).isoformat()
    await ok(
        await admin.post(
            "/v1/health/measurements", json={"person_id": person, "kind": "WEIGHT", "measured_at": measured, "weight_kg": 61.5, "recorded_by": "nurse-e2e"}
        )
    )
    async with gateway_client(stack, "care", subject="care-e2e-erasure") as care:
        await ok(await care.get(f"/v1/health/people/{person}/measurements", params={"reason": "erasure e2e"}), 200)
    # Housing: a workation stay.
    await ok(
        await admin.post(
            "/v1/workation-stays", json={"person_id": person, "started_on": (yesterday - timedelta(days=3)).isoformat(), "ended_on": yesterday.isoformat()}
        )
    )


async def test_an_erased_person_is_forgotten_everywhere_and_a_replay_does_not_bring_them_back(stack: Stack, tmp_path: Any) -> None:
    partner = f"erasure-{uuid.uuid4().hex[:6]}"
    async with gateway_client(stack, "admin", subject="e2e-admin") as admin:
        await ok(await admin.post("/v1/partners/agreements", json=agreement(partner, event_types=[VISITED], fields=["age_decade", "hub", "visited_at"])))
        hub_id = (await ok(await admin.post("/v1/hubs", json={"name_ja": "消去テスト館", "kind": "CIVIC_CENTRE", "area": "赤穂"})))["id"]
        [person] = await register_people(admin, stack, known_to="exchange", count=1, birth_years=[1948], name=NAME)
        [bystander] = await register_people(admin, stack, known_to="exchange", count=1, birth_years=[1990], name="残る人")
        await ok(await admin.put(f"/v1/people/{bystander}/consents/PROFILE"), 200)
        await take_part_everywhere(admin, stack, person, hub_id, partner)
        await ok(await admin.post(f"/v1/hubs/{hub_id}/visits", json={"person_id": bystander}))

    topic = partner_topic(partner, "participation")
    auth = provision_partner(stack.kafka.bootstrap, stack.kafka.credentials, partner)

    async def visit_delivered() -> str | None:
        found = [p["pseudonym"] for kind, p, _h, _k in events_of(read_all(stack.kafka.bootstrap, auth, topic)) if kind == VISITED]
        return found[0] if found else None

    pseudonym = await eventually(visit_delivered, timeout=90, what="the visit on the partner feed")

    async with gateway_client(stack, "resident", subject=person) as me:
        await eventually(lambda: _status(me, f"/v1/profiles/{person}", 200), timeout=60, what="their profile")
        before = set(await redis_mentions(stack, person))
        assert any(key.startswith("profile:") for key in before) and any(key.startswith("gw:") for key in before), before
        assert set(database_mentions(stack, person)) == set(DATABASES)
        erased = await ok(await me.delete(f"/v1/people/{person}"), 200)
    assert erased["person_id"] == person
    async with gateway_client(stack, "city", subject="e2e-city") as city:
        assert await ok(await city.delete(f"/v1/people/{person}"), 200) == erased  # idempotent: the same answer
        unknown = await city.delete(f"/v1/people/{uuid.uuid4()}")
        assert unknown.status_code == 404 and unknown.headers["content-type"].startswith("application/problem+json")

    # Every service database, Redis and every compacted topic: nothing links to the id any more.
    await eventually(_sync(lambda: not database_mentions(stack, person)), timeout=90, what="every database to forget the person")
    await eventually(lambda: _none(redis_mentions(stack, person)), timeout=60, what="Redis to forget the person")
    await eventually(lambda: _none(compacted_mentions(stack, person)), timeout=60, what="the compacted topics to forget the person")
    assert not database_mentions(stack, NAME)
    # The KPI totals keep the counts, under a key that no longer derives from the person.
    pseudonymous = kpis.pseudonym(person).encode()

    async def contribution_moved() -> bool:
        latest = latest_by_key(await read_topic(stack.kafka.bootstrap, KPI_PEOPLE_CHANGELOG.name))
        mine = [r for key, r in latest.items() if pseudonymous in key]
        return bool(mine) and all(r.value is None for r in mine) and any(b"anonymous:" in key for key in latest)

    await eventually(contribution_moved, timeout=60, what="the KPI contribution moved to an anonymous key")

    # The partner was told to delete what it holds under the person's pseudonym.
    async def notice() -> dict[str, Any] | None:
        notices = [p for kind, p, _h, _k in events_of(read_all(stack.kafka.bootstrap, auth, topic)) if kind == DELETION]
        return notices[0] if notices else None

    assert (await eventually(notice, timeout=60, what="the deletion notice"))["pseudonym"] == pseudonym
    assert (await eventually(notice, timeout=1, what="the deletion notice"))["notice"] == "person-erased"

    # Afterwards: nothing about them is accepted or served, and the refusals stored nothing.
    async with gateway_client(stack, "admin", subject="e2e-admin") as admin:
        for method, path, body in (
            ("POST", f"/v1/hubs/{hub_id}/visits", {"person_id": person}),
            ("POST", "/v1/volunteer-shifts", {"person_id": person, "worked_on": date.today().isoformat(), "hours": 1}),
            ("PUT", f"/v1/people/{person}/consents/PROFILE", None),
            ("GET", f"/v1/people/{person}", None),
            ("PATCH", f"/v1/people/{person}", {"preferred_language": "en"}),
            ("GET", f"/v1/people/{person}/export", None),
        ):
            headers = {"Accept-Language": "en", "X-Access-Reason": "erasure check"}
            refused = await admin.request(method, path, json=body, headers=headers)
            assert refused.status_code == 410, (path, refused.text)
            assert refused.json()["type"].endswith("/person-erased") and refused.headers["content-type"].startswith("application/problem+json")
        assert (await admin.get(f"/v1/profiles/{person}")).status_code == 404
        assert (await admin.get(f"/v1/profiles/{bystander}")).status_code == 200  # the others are untouched
    assert not database_mentions(stack, person)

    # A replay from offset 0: the processor's folding steps over every input topic (people first,
    # and again with the erasure last, as it came live), and a pillar's people replica rebuilt on
    # a fresh database from the people topic.
    histories = {t: await read_topic(stack.kafka.bootstrap, t) for t in INPUT_TOPICS}
    is_erasure = [r for r in histories[PEOPLE.name] if header(r, "ce_type") == PersonErased.event_type and r.key == person.encode()]
    assert len(is_erasure) == 1
    for order in ("people first", "erasure last"):
        replay = Replay()
        for records in histories.values():
            replay.feed_all((r.value, r.headers) for r in records if order == "people first" or r not in is_erasure)
        replay.feed_all((r.value, r.headers) for r in (is_erasure if order == "erasure last" else []))
        assert person not in replay.profiles() and bystander in replay.profiles(), order
        assert not [key for key, state in replay.people.items() if person in key or person in repr(state)], order
    engine = make_engine(f"sqlite:///{tmp_path / 'replica.db'}")
    run_migrations(engine, EXCHANGE_MIGRATIONS)
    with Session(engine) as session:
        for record in histories[PEOPLE.name]:
            replicate_people(CloudEvent.from_kafka(record.value, record.headers), session)
        session.commit()
    assert rows_mentioning(engine, person) == {} and rows_mentioning(engine, bystander) != {}


def _sync(function: Callable[..., Any], *args: Any) -> Callable[[], Awaitable[Any]]:
    """A blocking probe (a database query) as `eventually` awaits it, off the event loop."""

    async def probe() -> Any:
        return await asyncio.to_thread(function, *args)

    return probe


async def _status(client: httpx.AsyncClient, path: str, status: int) -> bool:
    return (await client.get(path)).status_code == status


async def _none(found: Any) -> bool:
    return not await found
