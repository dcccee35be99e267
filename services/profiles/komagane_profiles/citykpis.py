"""City KPIs per calendar month, the city side (docs/architecture.md, How a profile is computed):
every person's KPI summary (kpis.py, the person side) becomes their contribution to each month's
totals; the previous contribution is remembered per pseudonym, and only the difference is added
to the totals. Re-delivering a summary therefore changes nothing, and the totals depend only on
each person's final summary — not on the order in which people, topics or partitions were read —
so replaying the topics rebuilds them exactly.

Outputs never carry person ids: totals only, with every cell of fewer than SUPPRESS_BELOW
people (and whatever is derived from it) suppressed.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any

from komagane_contracts.envelope import CloudEvent
from komagane_contracts.events.profiles import CityKpisUpdated
from komagane_contracts.vocabulary import AgeBand
from komagane_profiles.kpis import month_of

SUPPRESS_BELOW = 10
SENIOR_BANDS = frozenset({AgeBand.SENIOR_65_74.value, AgeBand.SENIOR_75_PLUS.value})
CONVERSION_DAYS = 365
_EVENT_NAMESPACE = uuid.UUID("6f1d2c1e-7b0a-4c53-9a3e-0c6c8f4b5a10")

Contribution = dict[str, dict[str, int]]  # month → counter → value
Totals = dict[str, int]

# Counters of a person's contribution to a month; the "*_people" ones are 0/1 per person.
PEOPLE_COUNTERS = (
    "hub_visitors",
    "profiled",
    "place",
    "role",
    "kayoinoba_65",
    "social_65",
    "seminar_people",
    "trial_people",
    "converted_people",
    "move_people",
    "inquiry_people",
    "registered_65",
    "relationship",
    "followed_up_people",
)


def contribution(summary: Mapping[str, Any]) -> Contribution:
    """What one person adds to each month's totals."""
    out: Contribution = {}

    def add(month: str, counter: str, value: int = 1) -> None:
        if value:
            cell = out.setdefault(month, {})
            cell[counter] = cell.get(counter, 0) + value

    senior = summary.get("band") in SENIOR_BANDS
    for month, cell in summary.get("months", {}).items():
        visits, seminars = cell.get("visits", 0), cell.get("seminars", 0)
        add(month, "hub_visits", visits)
        add(month, "hub_visitors", int(visits > 0))
        add(month, "seminar_attendances", seminars)
        add(month, "seminar_people", int(seminars > 0))
        for flag in ("profiled", "place", "role"):
            add(month, flag, cell.get(flag, 0))
        if senior:
            add(month, "kayoinoba_65", int(cell.get("kayoinoba", 0) > 0))
            add(month, "social_65", int(visits + seminars > 0))
    moves = sorted(date.fromisoformat(d) for d in summary.get("moves", {}).values())
    move_months: dict[str, int] = {}
    for moved_in in moves:
        move_months[month_of(moved_in)] = move_months.get(month_of(moved_in), 0) + 1
    for month, n in move_months.items():
        add(month, "moves", n)
        add(month, "move_people", 1)
    inquiry_months: dict[str, int] = {}
    for opened in summary.get("inquiries", {}).values():
        inquiry_months[opened[:7]] = inquiry_months.get(opened[:7], 0) + 1
    for month, n in inquiry_months.items():
        add(month, "inquiries", n)
        add(month, "inquiry_people", 1)
    trial_months: dict[str, list[int]] = {}
    for completed in sorted(summary.get("trials", {}).values()):
        day = date.fromisoformat(completed)
        moved = any(day <= m <= day + timedelta(days=CONVERSION_DAYS) for m in moves)
        trial_months.setdefault(month_of(day), []).append(int(moved))
    for month, outcomes in trial_months.items():
        add(month, "trial_stays", len(outcomes))
        add(month, "trial_people", 1)
        add(month, "converted_stays", sum(outcomes))
        add(month, "converted_people", int(any(outcomes)))
    if senior and summary.get("registered"):
        add(summary["registered"], "registered_65")
    if summary.get("relationship"):
        add(summary["relationship"], "relationship")
    if summary.get("station"):
        add(summary["station"], "station_enrolled")
    for month, bucket in summary.get("steps", {}).items():
        add(month, "step_walkers")
        add(month, f"steps_k{min(int(bucket), MAX_STEPS_BUCKET)}")
    followed_up = [month_of(date.fromisoformat(start)) for start in summary.get("followed_up", {})]  # followups.py
    for month in followed_up:
        add(month, "lapses_followed_up_14d")
    for month in set(followed_up):
        add(month, "followed_up_people")
    return out


MAX_STEPS_BUCKET = 30  # 30,000 steps a day and more share one bucket


CUMULATIVE = frozenset({"registered_65", "relationship", "station_enrolled"})


def apply_contribution(totals: dict[str, Totals], old: Contribution, new: Contribution) -> set[str]:
    """Replace a person's old contribution by the new one in `totals` (month → counters), in
    place; returns the months whose KPIs changed (later months too when a running total did)."""
    changed: set[str] = set()
    cumulative_from: str | None = None
    for month in set(old) | set(new):
        before, after = old.get(month, {}), new.get(month, {})
        for counter in set(before) | set(after):
            delta = after.get(counter, 0) - before.get(counter, 0)
            if not delta:
                continue
            cell = totals.setdefault(month, {})
            value = cell.get(counter, 0) + delta
            if value:
                cell[counter] = value
            else:
                cell.pop(counter, None)
            changed.add(month)
            if counter in CUMULATIVE and (cumulative_from is None or month < cumulative_from):
                cumulative_from = month
    if cumulative_from is not None:
        changed |= {m for m in totals if m >= cumulative_from}
    return changed


def city_kpis(month: str, totals: Mapping[str, Mapping[str, int]]) -> CityKpisUpdated:
    """The KPIs of `month` from the totals of every month (running totals need the earlier ones)."""
    t = totals.get(month, {})
    registered_65 = sum(m.get("registered_65", 0) for k, m in totals.items() if k <= month)
    relationship_population = sum(m.get("relationship", 0) for k, m in totals.items() if k <= month)
    station_enrolled = sum(m.get("station_enrolled", 0) for k, m in totals.items() if k <= month)
    suppressed: list[str] = []

    def cell(name: str, value: int, people: int) -> int | None:
        if people < SUPPRESS_BELOW:
            suppressed.append(name)
            return None
        return value

    def rate(name: str, numerator: int | None, denominator: int | None) -> float | None:
        if numerator is None or denominator is None or denominator == 0:
            suppressed.append(name)
            return None
        return round(numerator / denominator, 4)

    get = t.get
    kayoinoba = cell("kayoinoba_participants_65_plus", get("kayoinoba_65", 0), get("kayoinoba_65", 0))
    social = cell("social_participants_65_plus", get("social_65", 0), get("social_65", 0))
    registered = cell("registered_65_plus", registered_65, registered_65)
    completed = cell("trial_stays_completed", get("trial_stays", 0), get("trial_people", 0))
    moved = cell("trial_stays_moved_within_12m", get("converted_stays", 0), get("converted_people", 0))
    return CityKpisUpdated(
        month=month,
        hub_visits=cell("hub_visits", get("hub_visits", 0), get("hub_visitors", 0)),
        hub_visitors=cell("hub_visitors", get("hub_visitors", 0), get("hub_visitors", 0)),
        profiled_participants=cell("profiled_participants", get("profiled", 0), get("profiled", 0)),
        people_with_place=cell("people_with_place", get("place", 0), get("place", 0)),
        people_with_role=cell("people_with_role", get("role", 0), get("role", 0)),
        registered_65_plus=registered,
        kayoinoba_participants_65_plus=kayoinoba,
        kayoinoba_rate_65_plus=rate("kayoinoba_rate_65_plus", kayoinoba, registered),
        social_participants_65_plus=social,
        social_participation_share_65_plus=rate("social_participation_share_65_plus", social, registered),
        seminar_attendances=cell("seminar_attendances", get("seminar_attendances", 0), get("seminar_people", 0)),
        seminar_attendees=cell("seminar_attendees", get("seminar_people", 0), get("seminar_people", 0)),
        migration_inquiries=cell("migration_inquiries", get("inquiries", 0), get("inquiry_people", 0)),
        trial_stays_completed=completed,
        trial_stays_moved_within_12m=moved,
        migration_conversion=rate("migration_conversion", moved, completed),
        moves=cell("moves", get("moves", 0), get("move_people", 0)),
        relationship_registrations=cell("relationship_registrations", get("relationship", 0), get("relationship", 0)),
        relationship_population=cell("relationship_population", relationship_population, relationship_population),
        health_station_enrolments=cell("health_station_enrolments", get("station_enrolled", 0), get("station_enrolled", 0)),
        health_station_enrolled=cell("health_station_enrolled", station_enrolled, station_enrolled),
        step_walkers=cell("step_walkers", get("step_walkers", 0), get("step_walkers", 0)),
        median_daily_steps=cell("median_daily_steps", _median_steps(t), get("step_walkers", 0)),
        lapses_followed_up_within_14d=cell("lapses_followed_up_within_14d", get("lapses_followed_up_14d", 0), get("followed_up_people", 0)),
        suppressed=sorted(suppressed),
    )


def _median_steps(cell: Mapping[str, int]) -> int:
    """The median of the people's monthly step buckets, as the bucket's midpoint in steps."""
    walkers = cell.get("step_walkers", 0)
    seen = 0
    for bucket in range(MAX_STEPS_BUCKET + 1):
        seen += cell.get(f"steps_k{bucket}", 0)
        if walkers and 2 * seen >= walkers:
            return bucket * 1000 + 500
    return 0


def kpi_cloud_event(kpis: CityKpisUpdated) -> CloudEvent:
    """The KPIs as a CloudEvent whose id and time derive from its content: a replay re-emits
    byte-identical messages (time: the start of the month, Asia/Tokyo)."""
    body = kpis.model_dump_json().encode()
    event_id = str(uuid.uuid5(_EVENT_NAMESPACE, f"{kpis.month}:{hashlib.sha256(body).hexdigest()}"))
    start = datetime.fromisoformat(f"{kpis.month}-01T00:00:00+09:00").astimezone(UTC)
    return CloudEvent.of(kpis, time=start, event_id=event_id)
