"""Calendar months (YYYY-MM, Asia/Tokyo) as query parameters: one month or a range of them.

Every route that reads per-month aggregates (city KPIs, hubs compared) checks its months here,
so they all refuse the same things the same way: a malformed month, one outside the years the
platform can have counted (FIRST_YEAR..LAST_YEAR: year 1 or 9999 is a typo, not a query), a
range that ends before it starts or spans more than MAX_RANGE_MONTHS. Each refusal is a 422
problem naming the field, never a 500 from date arithmetic further down.
"""

from __future__ import annotations

import re
from datetime import date

from komagane_kit.errors import Problem

MONTH_PATTERN = r"^[0-9]{4}-(0[1-9]|1[0-2])$"  # ASCII digits only: \d would take full-width ones (２０３１)
FIRST_YEAR = 2000
LAST_YEAR = 2099
MAX_RANGE_MONTHS = 24
_MONTH = re.compile(MONTH_PATTERN)


def _refuse(field: str, message: str) -> Problem:
    return Problem(422, "validation-error", f"{field}: {message}", title="Validation failed", errors=[{"field": field, "message": message}])


def parse_month(value: str, field: str = "month") -> str:
    """`value` if it is a month YYYY-MM within FIRST_YEAR..LAST_YEAR; otherwise a 422 problem."""
    if not _MONTH.fullmatch(value):
        raise _refuse(field, "a month as YYYY-MM")
    if not FIRST_YEAR <= int(value[:4]) <= LAST_YEAR:
        raise _refuse(field, f"a month between {FIRST_YEAR}-01 and {LAST_YEAR}-12")
    return value


def month_number(month: str) -> int:
    return int(month[:4]) * 12 + int(month[5:7]) - 1


def month_of_number(number: int) -> str:
    year, month0 = divmod(number, 12)
    return f"{year:04d}-{month0 + 1:02d}"


def shift(month: str, months: int) -> str:
    """The month `months` after `month` (before it when negative)."""
    return month_of_number(month_number(month) + months)


def this_month(today: date) -> str:
    return f"{today.year:04d}-{today.month:02d}"


def month_range(first: str, last: str, *, first_field: str = "from", last_field: str = "to") -> list[str]:
    """Every month from `first` to `last`, both included, oldest first (checked as above)."""
    start, end = month_number(parse_month(first, first_field)), month_number(parse_month(last, last_field))
    if end < start:
        raise _refuse(last_field, f"not before {first_field}")
    if end - start + 1 > MAX_RANGE_MONTHS:
        raise _refuse(last_field, f"at most {MAX_RANGE_MONTHS} months after {first_field}")
    return [month_of_number(n) for n in range(start, end + 1)]
