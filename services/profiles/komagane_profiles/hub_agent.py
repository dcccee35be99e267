"""The hub agent: attendance records (anonymous: an age band each) folded into each hub's
ごちゃまぜ state, and per batch the mixes written (Redis read model, compacted topic) and then
the states to the table."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

import faust
from faust.types import EventT

from komagane_contracts.envelope import CloudEvent
from komagane_contracts.readmodels import hub_mix_key
from komagane_contracts.topics import HUB_MIX
from komagane_profiles.app import app, hub_attendance, hub_mix, memory, redis_client, settings
from komagane_profiles.batching import BatchingAgent, as_event
from komagane_profiles.hubmix import new_hub
from komagane_profiles.pipeline import fold_hub, hub_mix_of, records_of

hubs = memory.hubs


async def fold_hub_event(event: EventT) -> None:
    """A hub's attendance records into its state. All of a hub's records come through one
    partition, in order, so the state remembers the last offset it folded: a message at or
    below it (fetched again after a restart or rebalance) was counted already, however many
    attendances ago. The attendance ids in the state catch the rest: the same record sent
    twice by the person side (a crash between its sends and its state write)."""
    hub_id = event.message.key.decode()
    state = hubs.states.get(hub_id) or dict(hub_mix[hub_id]) or new_hub(hub_id)
    if event.message.offset <= state.get("offset", -1):
        return
    hubs.states[hub_id] = state
    for record in records_of(event.value):
        fold_hub(state, record)
    state["offset"] = event.message.offset
    hubs.events[hub_id] = event


async def flush_hubs() -> None:
    redis = redis_client().pipeline(transaction=False)
    sent: list[Awaitable[Any]] = []
    for hub_id, state in hubs.states.items():
        mix = hub_mix_of(state)
        redis.set(hub_mix_key(hub_id), mix.model_dump_json())
        cloud_event = CloudEvent.of(mix)
        sent.append(
            await app.producer.send(
                topic=HUB_MIX.name, key=hub_id.encode(), value=cloud_event.value(), partition=None, timestamp=None, headers=cloud_event.headers()
            )
        )
    await redis.execute()
    await asyncio.gather(*sent)
    for hub_id, state in hubs.states.items():
        with as_event(hubs.events[hub_id]):
            hub_mix[hub_id] = state
    hubs.states.clear()
    hubs.events.clear()


hub_batches = BatchingAgent(
    "hub mix", flush_hubs, max_events=settings.profiles_aggregate_batch_max_events, max_delay=settings.profiles_aggregate_batch_max_delay_seconds
)


@app.agent(hub_attendance, concurrency=1)
async def fold_hub_mix(stream: faust.StreamT[bytes]) -> None:
    await hub_batches.run(stream, fold_hub_event)
