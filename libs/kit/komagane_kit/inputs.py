"""What a plausible value from a client is: the types every request model and parameter uses.

A time or date a client sends is checked against a window before anything converts it, so a
year 1 or 9999 is a 422 validation problem and never an overflow (a naive time means Tokyo
wall-clock time, and year 1 minus nine hours is not a date Python can hold). Each window is
stated in the field's JSON Schema description, so the OpenAPI document tells clients.

- `EventTime` / `EventDate`: when something happened or will happen in the town (a visit, a
  session, a measurement, a shift, a stay): from 10 years before now to 2 years after it. Past
  records entered from paper registers and the longest retention of municipal activity records
  (5 years) fit well inside ten years; nothing in the town is planned more than two years ahead.
- `TermDate`: the end of a term or an agreement (a cooperator's term, a data-sharing agreement,
  an engagement's planned end): 10 years back to 10 years ahead.
- `FilterTime` / `FilterDate`: bounds of a search (`?from=`, `?to=`): 1900 to 2199, any
  time a search could mean.
- `BirthYear`: from 1900 to the current year.
- `SafeStr`: a string a database can store: no NUL character (PostgreSQL refuses it in text)
  and no lone UTF-16 surrogate (no UTF-8 encoding holds one).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field

from komagane_kit.clock import TOKYO, aware, now

EVENT_YEARS_BACK = 10
EVENT_YEARS_AHEAD = 2
TERM_YEARS_AHEAD = 10
EARLIEST_BIRTH_YEAR = 1900
FILTER_EARLIEST = date(1900, 1, 1)
FILTER_LATEST = date(2199, 12, 31)


def years_from(day: date, years: int) -> date:
    """`day` moved by whole years (29 February becomes 28 February)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def tokyo_today() -> date:
    return now().astimezone(TOKYO).date()


@dataclass(frozen=True)
class Window:
    """Calendar dates from `back` years before today (Tokyo) to `ahead` years after it, or
    fixed bounds when `fixed` is given."""

    back: int = EVENT_YEARS_BACK
    ahead: int = EVENT_YEARS_AHEAD
    fixed: tuple[date, date] | None = None

    def bounds(self) -> tuple[date, date]:
        if self.fixed is not None:
            return self.fixed
        today = tokyo_today()
        return years_from(today, -self.back), years_from(today, self.ahead)

    def describe(self) -> str:
        if self.fixed is not None:
            return f"From {self.fixed[0].isoformat()} to {self.fixed[1].isoformat()}."
        return f"From {self.back} years before to {self.ahead} years after today (Asia/Tokyo); anything else is refused with 422."

    def check_date(self, value: date) -> date:
        earliest, latest = self.bounds()
        if not earliest <= value <= latest:
            raise ValueError(f"must be between {earliest.isoformat()} and {latest.isoformat()}")
        return value

    def check_time(self, value: datetime) -> datetime:
        """The time, Tokyo when naive, if its date lies in the window; the window is checked on
        the wall-clock date first, so nothing out of range is ever converted."""
        earliest, latest = self.bounds()
        if not earliest <= value.date() <= latest:
            raise ValueError(f"must be between {earliest.isoformat()} and {latest.isoformat()}")
        return aware(value)

    def state(self, schema: dict[str, Any]) -> None:
        """Adds the window to a field's JSON Schema description (after the field's own)."""
        given = schema.get("description")
        schema["description"] = f"{given} {self.describe()}" if given else self.describe()


_NUMBER = re.compile(r"\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*")


def _iso_text(value: Any) -> Any:
    """Dates and times come as ISO 8601 text (or as Python values from code): pydantic would read
    a number, or a string of digits, as seconds since 1970, which the document never promises."""
    if isinstance(value, bool | int | float) or (isinstance(value, str) and _NUMBER.fullmatch(value)):
        raise ValueError("must be an ISO 8601 date or date-time, not a number")
    return value


_EVENT = Window()
_TERM = Window(ahead=TERM_YEARS_AHEAD)
_FILTER = Window(fixed=(FILTER_EARLIEST, FILTER_LATEST))

# A time without an offset means Asia/Tokyo: the validated value is always aware.
EventTime = Annotated[datetime, BeforeValidator(_iso_text), AfterValidator(_EVENT.check_time), Field(json_schema_extra=_EVENT.state)]
EventDate = Annotated[date, BeforeValidator(_iso_text), AfterValidator(_EVENT.check_date), Field(json_schema_extra=_EVENT.state)]
TermDate = Annotated[date, BeforeValidator(_iso_text), AfterValidator(_TERM.check_date), Field(json_schema_extra=_TERM.state)]
FilterTime = Annotated[datetime, BeforeValidator(_iso_text), AfterValidator(_FILTER.check_time), Field(json_schema_extra=_FILTER.state)]
FilterDate = Annotated[date, BeforeValidator(_iso_text), AfterValidator(_FILTER.check_date), Field(json_schema_extra=_FILTER.state)]


def _birth_year(value: int) -> int:
    if value > tokyo_today().year:
        raise ValueError("must not be in the future")
    return value


BirthYear = Annotated[int, Field(ge=EARLIEST_BIRTH_YEAR, description=f"From {EARLIEST_BIRTH_YEAR} to the current year."), AfterValidator(_birth_year)]


# NUL, and UTF-16 surrogates (JSON's "\ud800" escapes decode to one; no UTF-8 text holds it).
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def _storable(value: str) -> str:
    if _UNSTORABLE.search(value):
        raise ValueError("must not contain NUL characters or lone surrogates")
    return value


# The schema declares it as a pattern; the validator checks it with a plain message.
STORABLE_PATTERN = "^[^\\u0000\\ud800-\\udfff]*$"
SafeStr = Annotated[str, AfterValidator(_storable), Field(json_schema_extra={"pattern": STORABLE_PATTERN})]
