"""The people agent: person events folded into each person's state, and per batch the outputs
(Redis read model, the compacted profiles topic, KPI summaries, hub attendance records, cleared
lapse alerts), then the states written to the table."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

import faust
from faust.types import EventT

from komagane_contracts.envelope import CloudEvent
from komagane_contracts.events.profiles import BelongingLapsed
from komagane_contracts.readmodels import LAPSE_ALERTS_KEY, profile_key
from komagane_contracts.topics import HUB_ATTENDANCE, KPI_CONTRIBUTIONS, PROFILES
from komagane_kit.clock import tokyo_date
from komagane_profiles.app import app, memory, person_events, person_state, redis_client, settings
from komagane_profiles.batching import BatchingAgent, as_event
from komagane_profiles.delivery import process
from komagane_profiles.erasure import forget_in_redis
from komagane_profiles.fold import person_of
from komagane_profiles.followups import KEY as FOLLOW_UPS_KEY
from komagane_profiles.lapses import lapse_of, refresh_told_alerts
from komagane_profiles.pipeline import CITY_KEY, anonymised_contribution, grouped_records
from komagane_profiles.state import State, decode_state, encode_state, erasure_key, is_erased_state

people = memory.people
watermark = memory.watermark
lapse_watch = memory.lapses


def load_person(person_id: str) -> State | None:
    raw = person_state.get(person_id)
    return decode_state(raw) if raw else None


async def fold_person_event(event: EventT, cloud_event: CloudEvent) -> None:
    person_id = person_of(cloud_event.body())
    if person_id is None:
        return  # about a hub, session or group, not a person
    watermark.advance(cloud_event.time)
    people.batch.fold(person_id, cloud_event, load_person)
    people.events[person_id] = event


async def flush_people() -> None:
    """Profiles (Redis + compacted topic), erasures, KPI summaries, hub records, cleared lapse
    alerts; then the states. Everything is sent before anything is awaited."""
    batch, events = people.batch, people.events
    outputs = batch.outputs()
    send = app.producer.send
    contributions: list[dict[str, Any]] = []
    # One command each for the whole batch (MSET, DEL, HDEL): per-key commands cost more to
    # pack than the rest of a person's flush.
    profiles: dict[str, bytes] = {}
    erased: list[str] = []
    cleared: list[str] = []
    forgotten: list[str] = []  # people erased at their request (PersonErased)
    followed_up: dict[str, BelongingLapsed] = {}  # open alerts of people with follow-ups: shown again
    sent: list[Awaitable[Any]] = []
    today = tokyo_date(watermark.latest) if watermark.latest is not None else None
    for person_id, state, out in outputs:
        key = person_id.encode()
        if out.profile is not None:
            cloud_event = CloudEvent.of(out.profile, time=out.profile.updated_at)
            value = cloud_event.value()  # = profile_json(out.profile)
            profiles[profile_key(person_id)] = value
            sent.append(await send(topic=PROFILES.name, key=key, value=value, partition=None, timestamp=None, headers=cloud_event.headers()))
        elif out.erase:
            # Consent withdrawn: the read model entry goes, and a tombstone erases the compacted topic.
            erased.append(profile_key(person_id))
            sent.append(await send(topic=PROFILES.name, key=key, value=None, partition=None, timestamp=None, headers=[]))
        if out.kpi is not None:
            contributions.append(out.kpi)
        if is_erased_state(state):
            forgotten.append(person_id)
            contributions.append(anonymised_contribution(person_id))
            lapse_watch.due.pop(person_id, None)
            cleared.append(person_id)
            continue
        due = lapse_watch.note(person_id, state)
        if today is not None and (due is None or today < due):
            cleared.append(person_id)  # took part again, withdrew, or a follow-up closed it: its alert (if any) goes
        elif today is not None and state.get(FOLLOW_UPS_KEY) and (alert := lapse_of(state, today)) is not None:
            followed_up[person_id] = alert
    for value in grouped_records(contributions):
        sent.append(await send(topic=KPI_CONTRIBUTIONS.name, key=CITY_KEY.encode(), value=value, partition=None, timestamp=None, headers=None))
    by_hub: dict[str, list[dict[str, Any]]] = {}
    for hub_id, record in batch.hub_records:
        by_hub.setdefault(hub_id, []).append(record)
    for hub_id, records in by_hub.items():
        for value in grouped_records(records):
            sent.append(await send(topic=HUB_ATTENDANCE.name, key=hub_id.encode(), value=value, partition=None, timestamp=None, headers=None))
    redis = redis_client().pipeline(transaction=False)
    if profiles:
        redis.mset(profiles)
    if erased:
        redis.delete(*erased)
    if cleared:
        redis.hdel(LAPSE_ALERTS_KEY, *cleared)
    await redis.execute()
    await refresh_told_alerts(redis_client(), followed_up)
    if forgotten:
        await forget_in_redis(redis_client(), forgotten)
    await asyncio.gather(*sent)
    for person_id, state, _ in outputs:
        with as_event(events[person_id]):
            if is_erased_state(state):
                # A tombstone in the changelog; the marker is kept under a key without the id.
                if person_id in person_state:
                    del person_state[person_id]
                person_state[erasure_key(person_id)] = encode_state(state)
            else:
                person_state[person_id] = encode_state(state)
    batch.clear()
    events.clear()


person_batches = BatchingAgent(
    "people",
    flush_people,
    max_events=settings.profiles_batch_max_events,
    catch_up_max_events=settings.profiles_catch_up_batch_max_events,
    catch_up_max_keys=settings.profiles_catch_up_batch_max_people,
    keys=lambda: len(people.batch.people),
    max_delay=settings.profiles_batch_max_delay_seconds,
)


@app.agent(person_events, concurrency=1)
async def fold_people(stream: faust.StreamT[bytes]) -> None:
    await person_batches.run(stream, lambda event: process(event, fold_person_event, traced=not person_batches.catching_up))
