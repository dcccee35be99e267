"""The KPI agent: every person's latest KPI summary (pseudonymous, all under one key) replaces
their previous contribution to the city totals (citykpis.py); per batch the contributions are
written to the table, and the months that changed are left for the KPI flush (timers.py)."""

from __future__ import annotations

import faust
import orjson
from faust.types import EventT

from komagane_profiles.app import app, kpi_contributions, kpi_people, memory, settings
from komagane_profiles.batching import BatchingAgent, as_event
from komagane_profiles.pipeline import ANONYMISE, fold_kpi, records_of

totals, pending, outputs = memory.kpi_totals, memory.kpi_batch, memory.kpi_outputs


async def fold_kpi_event(event: EventT) -> None:
    """A person's latest KPI summary replaces their previous contribution to the city totals."""
    for record in records_of(event.value):
        name = record["pseudonym"]
        if ANONYMISE in record:
            # An erased person: the counts stay, under a key that names nobody.
            held = pending.contributions.pop(name, None) or orjson.loads(totals.contributions.get(name, b"{}"))
            if held:
                pending.contributions[record[ANONYMISE]] = held
                pending.forgotten.add(name)
            continue
        previous = pending.contributions[name] if name in pending.contributions else orjson.loads(totals.contributions.get(name, b"{}"))
        contribution, changed = fold_kpi(totals.months, previous, record["summary"])
        if changed:
            pending.contributions[name] = contribution
            pending.months |= changed
    pending.event = event
    outputs.partition = event.message.partition


async def flush_kpis() -> None:
    if pending.event is not None and (pending.contributions or pending.forgotten):
        with as_event(pending.event):
            for name, contribution in pending.contributions.items():
                kpi_people[name] = contribution
                totals.contributions[name] = orjson.dumps(contribution)
            for name in pending.forgotten - set(pending.contributions):
                if name in kpi_people:
                    del kpi_people[name]
                totals.contributions.pop(name, None)
        outputs.dirty |= pending.months
    pending.event = None
    pending.contributions.clear()
    pending.forgotten.clear()
    pending.months.clear()


kpi_batches = BatchingAgent(
    "city KPIs", flush_kpis, max_events=settings.profiles_aggregate_batch_max_events, max_delay=settings.profiles_aggregate_batch_max_delay_seconds
)


@app.agent(kpi_contributions, concurrency=1)
async def fold_city_kpis(stream: faust.StreamT[bytes]) -> None:
    await kpi_batches.run(stream, fold_kpi_event)
