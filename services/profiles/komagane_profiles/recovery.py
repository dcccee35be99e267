"""What the worker rebuilds from its tables after a (re)start or rebalance, and after Redis
lost the read model: the in-memory city totals and lapse watch (memory.py), and the read model
(readmodel.py)."""

from __future__ import annotations

import logging

import orjson
from redis.exceptions import RedisError

from komagane_kit.clock import tokyo_date
from komagane_profiles.app import hub_mix, kpi_people, memory, person_state, redis_client, settings
from komagane_profiles.hub_agent import hub_batches
from komagane_profiles.people_agent import person_batches
from komagane_profiles.pipeline import city_totals
from komagane_profiles.readmodel import ReadModelWatch, write_read_model
from komagane_profiles.state import ERASED_KEY_PREFIX, State, decode_state

log = logging.getLogger(__name__)

lapse_watch, kpi_totals, kpi_outputs = memory.lapses, memory.kpi_totals, memory.kpi_outputs


@kpi_people.on_recover
async def rewrite_city_kpis() -> None:
    """After (re)start or rebalance: the totals summed again from the contributions, and every
    month written again from them."""
    contributions = {name: dict(contribution) for name, contribution in list(kpi_people.items())}
    kpi_totals.months = city_totals(contributions.values())
    kpi_totals.contributions = {name: orjson.dumps(contribution) for name, contribution in contributions.items()}
    kpi_outputs.written.clear()
    kpi_outputs.dirty |= set(kpi_totals.months)


@person_state.on_recover
async def rebuild_read_model() -> None:
    """After (re)start or rebalance, rewrite Redis from the tables (readmodel.py); the lapse
    watch is refilled from the same pass. With Redis away, the watch rewrites it once back."""
    lapse_watch.due.clear()  # this worker's people are the ones in its partitions now
    read_model_watch.recovered = True
    people = list(person_state.items())
    try:
        written = await write_read_model(redis_client(), people, list(hub_mix.items()), note=lapse_watch.note)
        await read_model_watch.mark()
    except RedisError as exc:
        log.warning("the read model could not be rewritten (%s): it is when Redis is back", exc)
        for person_id, raw in people:
            if raw and not person_id.startswith(ERASED_KEY_PREFIX):
                lapse_watch.note(person_id, decode_state(raw))
        return
    log.info("read model rebuilt from the tables: %d profiles", written)


async def rewrite_lost_read_model() -> int:
    """Everything this worker owns in Redis, after Redis lost it: profiles, hub mixes, the
    alerts already told (as of today), and every month's KPIs at the next KPI flush."""
    latest = memory.watermark.latest
    today = tokyo_date(latest) if latest is not None else None

    def told(person_id: str, state: State) -> bool:
        return person_id not in lapse_watch.due  # told alerts leave the watch

    written = await write_read_model(redis_client(), list(person_state.items()), list(hub_mix.items()), told=told, today=today)
    kpi_outputs.written.clear()
    kpi_outputs.dirty |= set(kpi_totals.months)
    return written


read_model_watch = ReadModelWatch(settings.profiles_instance_id, redis_client, rewrite_lost_read_model, [person_batches.lock, hub_batches.lock])
