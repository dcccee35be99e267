"""What a profiles worker keeps in memory besides its tables, owned by its app.

One `WorkerMemory` is created with the app (worker.ProfilesApp) and read by its agents,
timers and views as `app.memory`: the batches folded since their last flush, the city totals
summed from the KPI table, the lapse watch and the event-time watermark. None of it is
durable: the tables are, and every recovery rebuilds this from them (recovery.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from faust.types import EventT

from komagane_profiles import citykpis
from komagane_profiles.lapses import LapseWatch
from komagane_profiles.pipeline import PersonBatch


@dataclass
class Watermark:
    """The latest event time this worker has folded: "now" for event-time checks such as lapses."""

    latest: datetime | None = None

    def advance(self, time: datetime) -> None:
        if self.latest is None or time > self.latest:
            self.latest = time


@dataclass
class PersonOutputsBatch:
    """People folded since the last flush, and the message each one's state belongs to."""

    batch: PersonBatch = field(default_factory=PersonBatch)
    events: dict[str, EventT] = field(default_factory=dict)


@dataclass
class HubOutputsBatch:
    """Hubs folded since the last flush: their states and the message each belongs to."""

    states: dict[str, dict[str, Any]] = field(default_factory=dict)
    events: dict[str, EventT] = field(default_factory=dict)


@dataclass
class KpiTotals:
    """The city totals per month: the sum of the contributions in the `kpi-people` table (in
    memory), and a copy of each contribution (compact JSON), so folding a person's new summary
    does not read the table: every KPI message carries a flush's worth of people, all on the
    worker that owns the city key. Both are rebuilt from the table after every recovery."""

    months: dict[str, citykpis.Totals] = field(default_factory=dict)
    contributions: dict[str, bytes] = field(default_factory=dict)


@dataclass
class KpiBatch:
    """Contributions changed since the last flush (all under one key, so one partition)."""

    contributions: dict[str, citykpis.Contribution] = field(default_factory=dict)
    forgotten: set[str] = field(default_factory=set)  # pseudonyms of erased people, their counts moved
    months: set[str] = field(default_factory=set)
    event: EventT | None = None


@dataclass
class KpiOutputs:
    """Months whose KPIs changed since the last flush, and what was last written per month.

    KPIs are written on a short timer rather than per message: a busy month changes with every
    visit, and only its latest value matters (Redis key and compacted topic alike).
    """

    dirty: set[str] = field(default_factory=set)
    written: dict[str, bytes] = field(default_factory=dict)
    partition: int | None = None  # of the KPI contributions topic: where the totals live


@dataclass
class WorkerMemory:
    watermark: Watermark = field(default_factory=Watermark)
    lapses: LapseWatch = field(default_factory=LapseWatch)
    people: PersonOutputsBatch = field(default_factory=PersonOutputsBatch)
    hubs: HubOutputsBatch = field(default_factory=HubOutputsBatch)
    kpi_totals: KpiTotals = field(default_factory=KpiTotals)
    kpi_batch: KpiBatch = field(default_factory=KpiBatch)
    kpi_outputs: KpiOutputs = field(default_factory=KpiOutputs)
