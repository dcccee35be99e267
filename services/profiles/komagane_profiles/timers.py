"""The worker's timers: the city KPI flush, the lapse check, the read model check, and the
rescue of input partitions that stopped moving."""

from __future__ import annotations

import logging
from dataclasses import asdict

from faust.types import TP

from komagane_contracts.envelope import CloudEvent
from komagane_contracts.readmodels import LAPSE_ALERTS_KEY, city_kpis_key
from komagane_contracts.topics import ALERTS, CITY_KPIS, HUB_ATTENDANCE, KPI_CONTRIBUTIONS
from komagane_kit.clock import tokyo_date
from komagane_profiles.app import PERSON_TOPICS, app, memory, person_state, redis_client, settings
from komagane_profiles.citykpis import city_kpis, kpi_cloud_event
from komagane_profiles.lapses import lapse_of
from komagane_profiles.progress import StallWatch
from komagane_profiles.readmodel import survives_outages
from komagane_profiles.recovery import read_model_watch
from komagane_profiles.state import decode_state

log = logging.getLogger(__name__)

lapse_watch, kpi_totals, kpi_outputs = memory.lapses, memory.kpi_totals, memory.kpi_outputs


@app.timer(settings.profiles_kpi_flush_seconds)
@survives_outages("the city KPI flush")
async def flush_city_kpis() -> None:
    if not kpi_outputs.dirty:
        return
    if kpi_outputs.partition is not None and TP(KPI_CONTRIBUTIONS.name, kpi_outputs.partition) not in app.assignor.assigned_actives():
        kpi_outputs.dirty.clear()  # another worker owns the totals now (it rewrites them on recovery)
        return
    months, kpi_outputs.dirty = sorted(kpi_outputs.dirty), set()
    totals = kpi_totals.months
    try:
        for month in months:
            kpis = city_kpis(month, totals)
            cloud_event = kpi_cloud_event(kpis)
            value = cloud_event.value()
            if kpi_outputs.written.get(month) == value:
                continue
            await redis_client().set(city_kpis_key(month), kpis.model_dump_json())
            await app.producer.send_and_wait(
                topic=CITY_KPIS.name, key=month.encode(), value=value, partition=None, timestamp=None, headers=cloud_event.headers()
            )
            kpi_outputs.written[month] = value
    except Exception:
        kpi_outputs.dirty |= set(months)  # written next time
        raise


@app.timer(settings.profiles_lapse_check_seconds)
@survives_outages("the lapse check")
async def check_lapses() -> None:
    """Alert care staff once per lapse: HSETNX on the alerts hash is the "already told" flag.
    Reads only the states of people whose lapse is due by now (memory.lapses), not every profile."""
    latest = memory.watermark.latest
    if latest is None:
        return
    today = tokyo_date(latest)
    for person_id, due in [(p, due) for p, due in lapse_watch.due.items() if due <= today]:
        raw = person_state.get(person_id)  # the stored state decides (None: no longer this worker's)
        state = decode_state(raw) if raw else None
        alert = lapse_of(state, today) if state else None
        if alert is not None and await redis_client().hsetnx(LAPSE_ALERTS_KEY, person_id, alert.model_dump_json()):
            cloud_event = CloudEvent.of(alert)
            await app.producer.send_and_wait(
                topic=ALERTS.name, key=person_id.encode(), value=cloud_event.value(), partition=None, timestamp=None, headers=cloud_event.headers()
            )
            log.info("belonging lapsed after %d days (threshold %d)", alert.days_since, alert.threshold_days)
        if lapse_watch.due.get(person_id) != due:
            continue  # a flush noted the person again meanwhile: that entry stands
        if alert is None and state:
            lapse_watch.note(person_id, state)  # the stored state lapses later, or never
        else:
            del lapse_watch.due[person_id]  # told, once per lapse: noted again when the person's state changes


@app.timer(settings.profiles_read_model_check_seconds)
@survives_outages("the read model check")
async def watch_read_model() -> None:
    await read_model_watch.check()


stall_watch = StallWatch([*(t.name for t in PERSON_TOPICS), HUB_ATTENDANCE.name, KPI_CONTRIBUTIONS.name])


@app.timer(settings.profiles_stall_check_seconds)
async def rescue_stalled_partitions() -> None:
    """A partition that stopped moving although messages wait (for example a hand-off lost
    around a rebalance, which faust does not notice) is put back at its committed offset:
    folding again from there is idempotent, and waiting would hold its people's profiles for ever."""
    stalled = stall_watch.check(app)
    if not stalled:
        return
    described = {f"{tp.topic}:{tp.partition}": asdict(p) for tp, p in stalled.items()}
    log.warning("input partitions stopped moving, seeking back to their committed offsets: %s; delivery: %s", described, app.consumer.fence_state())
    try:
        await app.consumer.rescue()
    except Exception:  # a rebalance began meanwhile: its own seek puts the partitions back
        log.exception("seeking back to the committed offsets failed")
