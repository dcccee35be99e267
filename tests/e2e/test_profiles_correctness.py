"""Correctness of the profiles processor on a real broker (issue 7): replay determinism,
idempotency, late events, and a worker killed mid-stream.

"Replay" is the processor's own folding steps (komagane_profiles.pipeline, shared with the faust
app) run over the whole history of the input topics. The live outputs — the Redis read model and
the compacted topics — must equal it byte for byte: profiles, hub mixes and city KPIs. Test data
is produced straight onto the pillar topics, dated in past months so its KPI months are its own.
People events go first and are folded before the rest, as in a live run (participation folded
before the person's PROFILE opt-in has been read is not profiled: see tests/unit/test_kpis.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis
from aiokafka import AIOKafkaProducer, ConsumerRecord
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import GroupCoordinatorNotAvailableError

from komagane_contracts.envelope import CloudEvent
from komagane_contracts.events.exchange import ActivityCategory, ParticipantAttended, ParticipationMode
from komagane_contracts.events.people import ConsentGranted, PersonErased, PersonRegistered
from komagane_contracts.readmodels import CITY_KPIS_KEY_PREFIX, HUB_MIX_KEY_PREFIX, PROFILE_KEY_PREFIX, city_kpis_key
from komagane_contracts.topics import (
    CITY_KPIS,
    EXCHANGE,
    HOUSING,
    HUB_ATTENDANCE,
    HUB_MIX,
    JOBS,
    KPI_CONTRIBUTIONS,
    PEOPLE,
    PROFILES,
    PROFILES_INPUTS,
)
from komagane_contracts.vocabulary import AgeBand, ResidencyStatus
from komagane_devstack.stack import Stack
from komagane_kit.kafka import client_options
from komagane_profiles.citykpis import kpi_cloud_event
from komagane_profiles.pipeline import Replay, profile_json
from komagane_profiles.synthetic import Message, people_events
from tests.support.kafka import end_offsets, read_topic
from tests.support.waiting import eventually

# Every topic the processor folds (komagane_profiles.app.PERSON_TOPICS), care follow-ups included.
INPUT_TOPICS = tuple(t.name for t in PROFILES_INPUTS)
GROUP = "komagane-profiles"  # the faust app id
TRACE_HEADERS = {"traceparent", "tracestate"}  # the producer's span, added by instrumentation


async def produce(bootstrap: str, messages: Iterable[tuple[str, bytes | None, bytes | None, list[tuple[str, bytes]]]]) -> int:
    producer = AIOKafkaProducer(**client_options(bootstrap), acks="all", enable_idempotence=True, linger_ms=5)
    await producer.start()
    sent = 0
    try:
        for topic, key, value, headers in messages:
            await producer.send(topic, key=key, value=value, headers=headers)
            sent += 1
        await producer.flush()
    finally:
        await producer.stop()
    return sent


async def produce_events(bootstrap: str, messages: Iterable[Message]) -> int:
    return await produce(bootstrap, ((m.topic, m.key, m.event.value(), m.event.headers()) for m in messages))


async def caught_up(bootstrap: str, topics: Iterable[str]) -> bool:
    """The processor has committed everything on `topics` (so it has folded all of it)."""
    admin = AIOKafkaAdminClient(**client_options(bootstrap))
    await admin.start()
    try:
        committed = await admin.list_consumer_group_offsets(GROUP)
    except GroupCoordinatorNotAvailableError:
        return False  # the group (or its coordinator) is not there yet
    finally:
        await admin.close()
    for topic in topics:
        for partition, end in (await end_offsets(bootstrap, topic)).items():
            done = next((meta.offset for tp, meta in committed.items() if tp.topic == topic and tp.partition == partition), 0)
            if end > 0 and done < end:
                return False
    return True


async def wait_caught_up(stack: Stack, topics: Iterable[str], timeout: float = 120) -> None:
    wanted = tuple(topics)
    await eventually(lambda: caught_up(stack.kafka.bootstrap, wanted), timeout=timeout, interval=0.5, what=f"the processor to commit {wanted}")


def latest_by_key(records: list[ConsumerRecord[bytes, bytes]]) -> dict[bytes, ConsumerRecord[bytes, bytes]]:
    out: dict[bytes, ConsumerRecord[bytes, bytes]] = {}
    for record in sorted(records, key=lambda r: (r.partition, r.offset)):
        if record.key is not None:
            out[record.key] = record
    return out


def _is_erasure(record: ConsumerRecord[bytes, bytes]) -> bool:
    return any(k == "ce_type" and bytes(v) == PersonErased.event_type.encode() for k, v in record.headers)


async def replay_of_topics(bootstrap: str) -> Replay:
    """People first, as folded live; erasures (tests/e2e/test_erasure.py) last, as they came
    live after the person's participation, whose anonymous counts stay (docs/erasure.md)."""
    replay = Replay()
    erasures: list[ConsumerRecord[bytes, bytes]] = []
    for topic in INPUT_TOPICS:
        records = await read_topic(bootstrap, topic)
        erasures += [r for r in records if _is_erasure(r)]
        replay.feed_all((r.value, r.headers) for r in records if not _is_erasure(r))
    replay.feed_all((r.value, r.headers) for r in erasures)
    return replay


async def redis_values(stack: Stack, prefix: str) -> dict[str, bytes]:
    client = aioredis.Redis.from_url(stack.redis.url)
    try:
        keys = sorted([key async for key in client.scan_iter(match=f"{prefix}*", count=1000)])
        values = await client.mget(keys) if keys else []
        return {
            key.decode()[len(prefix) :]: (value if isinstance(value, bytes) else value.encode())
            for key, value in zip(keys, values, strict=True)
            if value is not None
        }
    finally:
        await client.aclose()


@dataclass
class Differences:
    items: list[str]

    def __bool__(self) -> bool:
        return not self.items


async def compare_with_replay(stack: Stack) -> Differences:
    """Every live output against the replay of the input topics; names what differs."""
    bootstrap = stack.kafka.bootstrap
    replay = await replay_of_topics(bootstrap)
    diffs: list[str] = []
    # Profiles: Redis, and the latest value per person on the compacted topic (tombstone = none).
    expected = replay.profiles()
    live = await redis_values(stack, PROFILE_KEY_PREFIX)
    diffs += [f"profile {p} (redis)" for p in set(expected) | set(live) if live.get(p) != (profile_json(expected[p]) if p in expected else None)]
    published = latest_by_key(await read_topic(bootstrap, PROFILES.name))
    for key, record in published.items():
        profile = expected.get(key.decode())
        if record.value != (CloudEvent.of(profile).value() if profile else None):
            diffs.append(f"profile {key.decode()} (topic)")
    diffs += [f"profile {p} (topic, missing)" for p in expected if p.encode() not in published]
    # Hub mixes.
    mixes = replay.hub_mixes()
    live = await redis_values(stack, HUB_MIX_KEY_PREFIX)
    for hub in sorted(set(mixes) | set(live)):
        wanted = mixes[hub].model_dump_json().encode() if hub in mixes else None
        if live.get(hub) != wanted:  # both values: which attendances went missing or twice
            diffs.append(f"hub mix {hub} (redis {live.get(hub)!r} != replay {wanted!r})")
    published = latest_by_key(await read_topic(bootstrap, HUB_MIX.name))
    diffs += [f"hub mix {h} (topic)" for h in mixes if (r := published.get(h.encode())) is None or r.value != CloudEvent.of(mixes[h]).value()]
    # City KPIs, CloudEvents attributes included (their ids and times derive from the content).
    live = await redis_values(stack, CITY_KPIS_KEY_PREFIX)
    months = replay.city_kpis(live)
    diffs += [f"kpis {m} (redis)" for m in months if live.get(m) != months[m].model_dump_json().encode()]
    published = latest_by_key(await read_topic(bootstrap, CITY_KPIS.name))
    for month, kpis in months.items():
        record, event = published.get(month.encode()), kpi_cloud_event(kpis)
        if record is None:
            diffs.append(f"kpis {month} (topic, missing)")
        elif record.value != event.value():
            diffs.append(f"kpis {month} (topic value {record.value!r} != {event.value()!r})")
        elif [(k, bytes(v)) for k, v in record.headers if k not in TRACE_HEADERS] != event.headers():
            diffs.append(f"kpis {month} (topic headers {list(record.headers)} != {event.headers()})")
    return Differences(sorted(diffs))


async def outputs_equal_replay(stack: Stack, timeout: float = 120) -> None:
    last: list[str] = []

    async def probe() -> bool:
        differences = await compare_with_replay(stack)
        last[:] = differences.items
        return bool(differences)

    try:
        await eventually(probe, timeout=timeout, interval=1.0, what="live outputs equal to the replay")
    except AssertionError as exc:
        raise AssertionError(f"{exc}; differing: {last[:20]} ({len(last)} in all)") from None


def split(messages: Iterable[Message]) -> tuple[list[Message], list[Message]]:
    people: list[Message] = []
    others: list[Message] = []
    for m in messages:
        (people if m.topic == PEOPLE.name else others).append(m)
    return people, others


async def produce_population(stack: Stack, messages: Iterable[Message]) -> list[Message]:
    """People events first, folded, then the rest (returned, not yet produced)."""
    people, others = split(messages)
    await produce_events(stack.kafka.bootstrap, people)
    await wait_caught_up(stack, [PEOPLE.name])
    return others


async def test_kpis_served_and_the_live_outputs_equal_a_replay_of_the_topics(stack: Stack, gateway: httpx.AsyncClient) -> None:
    messages = list(people_events(people=150, events_per_person=12, start=date(2019, 1, 7), days=80, seed=11))
    person_ids = {m.key.decode() for m in messages}
    await produce_events(stack.kafka.bootstrap, await produce_population(stack, messages))
    await wait_caught_up(stack, INPUT_TOPICS)
    await outputs_equal_replay(stack)

    response = await gateway.get("/v1/kpis", params={"month": "2019-02"})
    assert response.status_code == 200, response.text
    february = response.json()
    assert february["hub_visits"] > february["hub_visitors"] >= 100
    assert february["people_with_place"] is not None and february["people_with_role"] is not None
    assert february["kayoinoba_rate_65_plus"] is not None and 0 < february["kayoinoba_rate_65_plus"] < 1
    assert february["seminar_attendances"] is not None and "trial_stays_moved_within_12m" in february["suppressed"]
    kpi_records = await read_topic(stack.kafka.bootstrap, CITY_KPIS.name)
    leaked = [p for p in person_ids if any(p.encode() in (r.value or b"") for r in kpi_records)]
    assert leaked == [], "no person id in any KPI output"
    assert (await gateway.get("/v1/kpis", params={"month": "2001-01"})).status_code == 404  # a month nothing was counted in
    assert (await gateway.get("/v1/kpis", params={"month": "1990-01"})).status_code == 422  # before any month kept (komagane_kit.months)
    assert (await gateway.get("/v1/kpis", params={"month": "2019-13"})).status_code == 422


async def test_redelivered_events_change_nothing(stack: Stack) -> None:
    messages = list(people_events(people=40, events_per_person=10, start=date(2018, 6, 4), days=60, seed=12))
    await produce_events(stack.kafka.bootstrap, await produce_population(stack, messages))
    await wait_caught_up(stack, [*INPUT_TOPICS, HUB_ATTENDANCE.name, KPI_CONTRIBUTIONS.name])
    await outputs_equal_replay(stack)
    ours = {m.key for m in messages}
    before = {prefix: await redis_values(stack, prefix) for prefix in (PROFILE_KEY_PREFIX, HUB_MIX_KEY_PREFIX, CITY_KPIS_KEY_PREFIX)}

    # Re-deliver every third consumed event of these people, with their original ce_id.
    again = []
    for topic in INPUT_TOPICS:
        records = [r for r in await read_topic(stack.kafka.bootstrap, topic) if r.key in ours]
        again += [(topic, r.key, r.value, list(r.headers)) for r in records[::3]]
    assert len(again) > 100
    await produce(stack.kafka.bootstrap, again)
    await wait_caught_up(stack, [*INPUT_TOPICS, HUB_ATTENDANCE.name, KPI_CONTRIBUTIONS.name])

    after = {prefix: await redis_values(stack, prefix) for prefix in before}
    assert after == before, "versions, hub mixes and KPIs stay as they were"
    await outputs_equal_replay(stack)


def late_batch(people: list[str], on: datetime) -> list[Message]:
    out = []
    for person_id in people:
        body = ParticipantAttended(
            person_id=person_id, attendance_id=f"{person_id}-{on.date()}", session_id=f"late-{on.date()}", activity_id="late-a",
            hub_id="hub-late", category=ActivityCategory.HOBBY, is_kayoinoba=False, mode=ParticipationMode.ATTEND, attended_at=on,
        )  # fmt: skip
        out.append(Message(EXCHANGE.name, person_id.encode(), CloudEvent.of(body, time=on)))
    return out


async def test_a_late_event_lands_in_its_own_month_and_window(stack: Stack, gateway: httpx.AsyncClient) -> None:
    people = [f"late-{i}-{datetime.now(UTC).timestamp():.0f}" for i in range(12)]
    start = datetime(2018, 2, 20, 1, tzinfo=UTC)
    registrations = []
    for person_id in people:
        body = PersonRegistered(
            person_id=person_id,
            age_band=AgeBand.ADULT_40_64,
            residency_status=ResidencyStatus.RESIDENT,
            preferred_language="ja",
            lives_alone=False,
            registered_at=start,
        )
        registrations.append(Message(PEOPLE.name, person_id.encode(), CloudEvent.of(body, time=start)))
        consent = ConsentGranted(person_id=person_id, purpose="PROFILE", granted_at=start)
        registrations.append(Message(PEOPLE.name, person_id.encode(), CloudEvent.of(consent, time=start)))
    await produce_events(stack.kafka.bootstrap, registrations)
    await wait_caught_up(stack, [PEOPLE.name])
    march = datetime(2018, 3, 4, 1, tzinfo=UTC)
    await produce_events(stack.kafka.bootstrap, late_batch(people, march))

    async def kpis(month: str, ready: Any) -> dict[str, Any] | None:
        response = await gateway.get("/v1/kpis", params={"month": month})
        body = response.json() if response.status_code == 200 else None
        return body if body and ready(body) else None

    before = await eventually(lambda: kpis("2018-03", lambda b: b["hub_visitors"] == 12), timeout=60, what="March counted")
    assert before["people_with_place"] is None  # one month of history is not yet a place

    # Six days late, and from the previous month: it goes to February, and makes the hub a place
    # (attended in 2 of the last 3 months) as of March, in the profile and in March's KPIs.
    await produce_events(stack.kafka.bootstrap, late_batch(people, march - timedelta(days=6)))
    february = await eventually(lambda: kpis("2018-02", lambda b: b["hub_visitors"] == 12), timeout=60, what="the late events in February")
    assert february["hub_visits"] == 12
    after = await eventually(lambda: kpis("2018-03", lambda b: b["people_with_place"] == 12), timeout=60, what="March places from the late events")
    assert after["hub_visits"] == 12
    profile = (await gateway.get(f"/v1/profiles/{people[0]}")).json()
    assert profile["belonging"]["places"] == ["hub:hub-late"]
    assert profile["belonging"]["last_participation"] == "2018-03-04" and profile["as_of"] == "2018-03-04"
    assert (await gateway.get(f"/v1/profiles/{people[0]}")).json()["version"] == 4


@pytest.mark.timeout(900)
async def test_killing_the_worker_mid_stream_gives_the_same_final_state(stack: Stack) -> None:
    assert stack.profiles is not None
    messages = list(people_events(people=300, events_per_person=20, start=date(2017, 1, 9), days=150, seed=13))
    others = await produce_population(stack, messages)
    producing = asyncio.create_task(produce_events(stack.kafka.bootstrap, others))
    redis = aioredis.Redis.from_url(stack.redis.url)
    try:
        # Kill once the worker is visibly in the middle of this stream (its KPIs are appearing).
        await eventually(lambda: redis.exists(city_kpis_key("2017-02")), timeout=60, interval=0.05, what="the stream under way")
        stack.profiles.process.kill()
    finally:
        await redis.aclose()
    assert await producing == len(others)
    assert not await caught_up(stack.kafka.bootstrap, [EXCHANGE.name, JOBS.name, HOUSING.name]), "killed before the end"
    stack.profiles.start()
    # The restarted worker is the killed one's static group member and gets its partitions back
    # at once; it restores the tables from the changelogs and folds the rest, sharing the cores with every
    # other consumer of these topics (pillar replicas, partner feeds): generous on a 2-core CI.
    await wait_caught_up(stack, [*INPUT_TOPICS, HUB_ATTENDANCE.name, KPI_CONTRIBUTIONS.name], timeout=420)
    await outputs_equal_replay(stack, timeout=120)  # every person, hub and month
