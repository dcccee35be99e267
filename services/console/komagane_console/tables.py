"""A table as the city and partner pages show it and as their downloads write it: one object, so
the figures in a CSV or Excel file are the figures on the page.

A cell is a number, a text, or one of two markers: SUPPRESSED (fewer than 10 people behind the
figure: withheld, never shown as 0) and NOT_COUNTED (nothing counted for that month yet).
Labels are message ids, translated when the table is drawn or written.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from komagane_console.problems import N_


@dataclass(frozen=True)
class Marker:
    key: str
    label: str  # message id

    def __str__(self) -> str:
        return self.key


SUPPRESSED = Marker("suppressed", N_("suppressed (fewer than 10 people)"))
NOT_COUNTED = Marker("not-counted", N_("not counted yet"))

Cell = int | float | str | Marker | None
Kind = Literal["text", "plain", "count", "percent", "index", "steps", "month"]


@dataclass(frozen=True)
class Column:
    key: str
    label: str  # message id
    kind: Kind = "count"
    charted: bool = False  # a series of the table's chart


@dataclass
class Table:
    name: str  # the file name of its downloads, and its element id
    title: str  # message id
    columns: list[Column]
    rows: list[list[Cell]] = field(default_factory=list)
    chart: Literal["line", "bar"] | None = None
    note: str | None = None  # message id, shown under the title

    def column(self, key: str) -> list[Cell]:
        index = next(i for i, c in enumerate(self.columns) if c.key == key)
        return [row[index] for row in self.rows]

    @property
    def charted(self) -> bool:
        return self.chart is not None and any(c.charted for c in self.columns)


def percent(rate: float | None) -> float | None:
    """A rate 0–1 as the tables show it: percent with one decimal."""
    return None if rate is None else round(rate * 100, 1)


def figure(value: int | float | None, *, suppressed: bool) -> Cell:
    """A figure of an aggregate: the marker when it was withheld (None in the API)."""
    if value is None:
        return SUPPRESSED if suppressed else None
    return value
