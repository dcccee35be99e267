"""A small bar chart as server-rendered SVG (no script, no library): the last weeks of taking part."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta


@dataclass(frozen=True)
class Bar:
    week_start: date
    count: int
    x: int
    y: int
    height: int


@dataclass(frozen=True)
class WeekChart:
    bars: list[Bar]
    width: int
    height: int
    bar_width: int
    top: int  # the largest count (the axis' top label)


def weekly(days: list[date], today: date, weeks: int = 12, *, width: int = 480, height: int = 160) -> WeekChart:
    """Counts per week (Monday to Sunday), oldest first, ending with this week."""
    this_monday = today - timedelta(days=today.weekday())
    starts = [this_monday - timedelta(weeks=weeks - 1 - i) for i in range(weeks)]
    counts = [sum(1 for d in days if start <= d < start + timedelta(days=7)) for start in starts]
    top = max([*counts, 1])
    slot = width // weeks
    bar_width = max(4, slot - 8)
    plot = height - 20  # room for the week labels below
    bars = []
    for i, (start, count) in enumerate(zip(starts, counts, strict=True)):
        bar_height = round(plot * count / top)
        bars.append(Bar(start, count, i * slot + (slot - bar_width) // 2, plot - bar_height, bar_height))
    return WeekChart(bars, width, height, bar_width, top)
