"""Belonging and role metrics of one person (docs/architecture.md, How a profile is computed), as pure functions of their history.

The history is a list of participation records; every metric is computed "as of" a date that
comes from event time (the latest event folded in), never from the wall clock, so replaying the
topics rebuilds identical results.
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from statistics import median
from typing import Any, NamedTuple

CONTRIBUTING_MODES = frozenset({"TEACH", "HOST", "ORGANIZE", "VOLUNTEER", "WORK", "CARE_GIVE", "MENTOR"})
RECEIVING_MODES = frozenset({"ATTEND", "LEARN", "RECEIVE_SUPPORT"})
HISTORY_DAYS = 400  # twelve months of roles, plus margin for late events


class Participation(NamedTuple):
    """One thing a person did: attended a session, visited a hub, worked a shift, …

    A named tuple: a person's history is rebuilt from the stored state at every batch that
    touches them, and a tuple is built several times faster than a frozen dataclass.
    """

    day: date
    place: str  # "hub:<id>" or "group:<id>"
    category: str | None
    mode: str
    hours: float
    event_id: str


def to_rows(history: Iterable[Participation]) -> list[tuple[str, str, str | None, str, float, str]]:
    """A history as stored (JSON arrays: the day in ISO form), in one pass without a call per record."""
    return [(day.isoformat(), place, category, mode, hours, event_id) for day, place, category, mode, hours, event_id in history]


def from_rows(rows: Iterable[list[Any]]) -> list[Participation]:
    """A history from its stored rows (`to_rows`): only the day needs parsing."""
    parse = date.fromisoformat
    return [Participation(parse(day), place, category, mode, float(hours), event_id) for day, place, category, mode, hours, event_id in rows]


def _month_start(day: date, back: int = 0) -> date:
    year, month = day.year, day.month - back
    while month < 1:
        month += 12
        year -= 1
    return date(year, month, 1)


def places(history: Iterable[Participation], today: date) -> dict[str, list[str]]:
    """Hubs or groups attended in at least 2 of the last 3 calendar months, with the events behind each."""
    first = _month_number(today) - 2
    months: dict[str, set[int]] = {}
    evidence: dict[str, list[str]] = {}
    # One pass, no calls per record: this runs for every person in every batch that touches them.
    for day, place, _, _, _, event_id in history:
        if day > today:
            continue
        number = day.year * 12 + day.month
        if number < first:
            continue
        seen = months.get(place)
        if seen is None:
            months[place] = {number}
            evidence[place] = [event_id]
        else:
            seen.add(number)
            evidence[place].append(event_id)
    return {place: evidence[place][-5:] for place, seen in sorted(months.items()) if len(seen) >= 2}


def _month_number(day: date) -> int:
    return day.year * 12 + day.month


def regularity(history: Iterable[Participation], today: date) -> float:
    """Share of the last 12 weeks (Monday-based, this week included) with any participation."""
    this_monday = today - timedelta(days=today.weekday())
    first_monday = this_monday - timedelta(weeks=11)
    days = {record.day for record in history}  # a person takes part on far fewer days than records
    weeks = {day.toordinal() - day.weekday() for day in days if first_monday <= day <= today}
    return round(len(weeks) / 12, 4)


def frequency_band(days_in_month: int) -> str:
    """The elderly needs survey's bands, from distinct days in a calendar month."""
    if days_in_month >= 16:
        return "4+/week"
    if days_in_month >= 8:
        return "2-3/week"
    if days_in_month >= 4:
        return "1/week"
    if days_in_month >= 1:
        return "1-3/month"
    return "none"


def category_bands(history: Iterable[Participation], today: date) -> dict[str, str]:
    start = _month_start(today)
    days: dict[str, set[date]] = {}
    for day, _, category, _, _, _ in history:
        if category and start <= day <= today:
            seen = days.get(category)
            if seen is None:
                days[category] = {day}
            else:
                seen.add(day)
    return {category: frequency_band(len(d)) for category, d in sorted(days.items())}


@dataclass(frozen=True)
class RoleSummary:
    role_types: list[str]
    contribution_hours_this_month: float
    contribution_ratio_90d: float | None
    reciprocity_90d: bool
    evidence: list[str]


def roles(history: Iterable[Participation], today: date, officer_roles: Iterable[str] = ()) -> RoleSummary:
    year_ago, ninety = today - timedelta(days=365), today - timedelta(days=90)
    month_start = _month_start(today)
    types = {f"GROUP_{role}" for role in officer_roles}
    evidence: list[str] = []
    hours_this_month = 0.0
    recent = gave = received = 0
    # One pass over the history (in its order, so the hours add up exactly as before).
    for day, _, _, mode, hours, event_id in history:
        if day > today:
            continue
        contributing = mode in CONTRIBUTING_MODES
        if contributing:
            if day > year_ago:
                types.add(mode)
                evidence.append(event_id)
            if day >= month_start:
                hours_this_month += hours
        if day > ninety:
            recent += 1
            if contributing:
                gave += 1
            elif mode in RECEIVING_MODES:
                received += 1
    return RoleSummary(
        role_types=sorted(types),
        contribution_hours_this_month=round(hours_this_month, 2),
        contribution_ratio_90d=round(gave / recent, 4) if recent else None,
        reciprocity_90d=bool(gave) and bool(received),
        evidence=evidence[-5:],
    )


def lapse_threshold_days(history: Iterable[Participation]) -> int:
    """max(28, 2 × the median gap in days between distinct participation days)."""
    days = sorted({r.day for r in history})
    gaps = [(b - a).days for a, b in itertools.pairwise(days)]
    return max(28, int(2 * median(gaps))) if gaps else 28


def add_record(history: list[Participation], record: Participation) -> None:
    """Insert one record into a history kept as `prune` leaves it (in place): the same list as
    prune(history + [record], latest day), without sorting the whole history per event."""
    bisect.insort(history, record, key=_order)
    horizon = history[-1].day - timedelta(days=HISTORY_DAYS)  # the latest day is last
    drop = 0
    while drop < len(history) and history[drop].day < horizon:
        drop += 1
    del history[:drop]


def has_record(history: list[Participation], record: Participation) -> bool:
    """Whether a history kept by `add_record` holds `record`'s event: one lookup by (day, event
    id) instead of a walk over the whole history for every event folded."""
    at = bisect.bisect_left(history, _order(record), key=_order)
    return at < len(history) and _order(history[at]) == _order(record)


def _order(record: Participation) -> tuple[date, str]:
    return record.day, record.event_id


def prune(history: list[Participation], today: date) -> list[Participation]:
    """Keep what any metric can still look at; order by day then event id, so replay is stable."""
    horizon = today - timedelta(days=HISTORY_DAYS)
    return sorted((r for r in history if r.day >= horizon), key=lambda r: (r.day, r.event_id))
