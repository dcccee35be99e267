"""Months as query parameters (komagane_kit.months): what every per-month read accepts and refuses."""

from __future__ import annotations

import pytest

from komagane_kit.errors import Problem
from komagane_kit.months import MAX_RANGE_MONTHS, month_range, parse_month, shift


def test_a_range_lists_every_month_across_a_year_end() -> None:
    assert month_range("2026-11", "2027-02") == ["2026-11", "2026-12", "2027-01", "2027-02"]
    assert month_range("2026-05", "2026-05") == ["2026-05"]
    assert len(month_range("2025-01", shift("2025-01", MAX_RANGE_MONTHS - 1))) == MAX_RANGE_MONTHS
    assert shift("2026-01", -1) == "2025-12" and shift("2026-12", 1) == "2027-01"


@pytest.mark.parametrize("value", ["2026-13", "2026-00", "2026-1", "0001-01", "9999-12", "1999-12", "２０２６-01", "2026-0１", "", "2026-01-01", " 2026-01"])
def test_a_bad_month_is_a_422_naming_the_field(value: str) -> None:
    with pytest.raises(Problem) as refused:
        parse_month(value, "from")
    assert refused.value.status == 422 and refused.value.extra["errors"][0]["field"] == "from"


@pytest.mark.parametrize(("first", "last", "field"), [("2026-05", "2026-04", "to"), ("2024-01", "2026-01", "to"), ("9999-01", "9999-02", "from")])
def test_a_reversed_too_long_or_out_of_range_span_is_refused(first: str, last: str, field: str) -> None:
    with pytest.raises(Problem) as refused:
        month_range(first, last)
    assert refused.value.status == 422 and refused.value.extra["errors"][0]["field"] == field
