"""The kit's input types (komagane_kit.inputs) and cursor decoding (komagane_kit.pagination)."""

from __future__ import annotations

import base64
import json
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from pydantic import TypeAdapter, ValidationError

from komagane_kit.clock import TOKYO
from komagane_kit.errors import Problem
from komagane_kit.inputs import BirthYear, EventDate, EventTime, FilterTime, SafeStr, TermDate, tokyo_today, years_from
from komagane_kit.pagination import decode_cursor, encode_cursor


def test_years_from_keeps_the_day_and_turns_29_february_into_28() -> None:
    assert years_from(date(2026, 12, 6), -10) == date(2016, 12, 6)
    assert years_from(date(2028, 2, 29), 2) == date(2030, 2, 28)


def test_event_dates_from_ten_years_back_to_two_ahead_bounds_included() -> None:
    adapter = TypeAdapter(EventDate)
    today = tokyo_today()  # at the test, not at import: a run may cross midnight in Tokyo
    earliest, latest = years_from(today, -10), years_from(today, 2)
    assert adapter.validate_python(earliest) == earliest and adapter.validate_python(latest) == latest
    for outside in (earliest - timedelta(days=1), latest + timedelta(days=1), date(1, 1, 1), date(9999, 12, 31)):
        with pytest.raises(ValidationError, match="must be between"):
            adapter.validate_python(outside)


def test_a_term_may_end_ten_years_ahead() -> None:
    adapter = TypeAdapter(TermDate)
    ten_years = years_from(tokyo_today(), 10)
    assert adapter.validate_python(ten_years) == ten_years
    with pytest.raises(ValidationError):
        adapter.validate_python(ten_years + timedelta(days=1))


@pytest.mark.parametrize("value", ["0001-01-01T00:00:00", "0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-12:00", "9999-12-31T23:59:59.999999"])
def test_event_times_out_of_range_are_refused_before_any_conversion(value: str) -> None:
    with pytest.raises(ValidationError, match="must be between"):
        TypeAdapter(EventTime).validate_json(json.dumps(value))


def test_an_event_time_without_an_offset_is_tokyo_time_and_comes_back_aware() -> None:
    parsed = TypeAdapter(EventTime).validate_python(f"{tokyo_today().isoformat()}T10:00:00")
    assert parsed.tzinfo is TOKYO and parsed.hour == 10
    assert TypeAdapter(FilterTime).validate_python("1900-01-01T00:00:00").year == 1900


def test_the_window_is_in_the_json_schema() -> None:
    assert "10 years before to 2 years after today" in TypeAdapter(EventDate).json_schema()["description"]
    assert "1900-01-01 to 2199-12-31" in TypeAdapter(FilterTime).json_schema()["description"]


@pytest.mark.parametrize("refused", ["1899", "next year"])
def test_a_birth_year_from_1900_to_this_year(refused: str) -> None:
    this_year = tokyo_today().year
    year = this_year + 1 if refused == "next year" else int(refused)
    assert TypeAdapter(BirthYear).validate_python(1900) == 1900 and TypeAdapter(BirthYear).validate_python(this_year) == this_year
    with pytest.raises(ValidationError):
        TypeAdapter(BirthYear).validate_python(year)


@pytest.mark.parametrize("text", ["a\x00b", "\ud800", "x\udfff"])
def test_safe_text_refuses_what_no_database_column_holds(text: str) -> None:
    with pytest.raises(ValidationError, match="NUL characters or lone surrogates"):
        TypeAdapter(SafeStr).validate_python(text)
    assert TypeAdapter(SafeStr).validate_python("駒ヶ根 😀") == "駒ヶ根 😀"


def _cursor(value: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


def test_a_cursor_decodes_to_the_shape_it_was_made_for() -> None:
    at = datetime(2026, 5, 1, 9, 30)
    assert decode_cursor(encode_cursor(at, "id-1"), (datetime, str)) == (at, "id-1")
    assert decode_cursor(encode_cursor(date(2026, 5, 1)), (date,)) == (date(2026, 5, 1),)
    assert decode_cursor(encode_cursor(7), (int,)) == (7,)
    assert decode_cursor(None, (int,)) is None and decode_cursor("", (int,)) is None


@pytest.mark.parametrize(
    ("cursor", "shape"),
    [
        ("WzEsMiwzXQ==", (datetime, str)),  # [1, 2, 3]
        (_cursor([]), (str,)),
        (_cursor(["a", "b"]), (str,)),
        (_cursor([1]), (str,)),
        (_cursor(["1"]), (int,)),
        (_cursor([True]), (int,)),
        (_cursor([-1]), (int,)),
        (_cursor([2**63]), (int,)),
        (_cursor(["0001-01-01T00:00:00", "x"]), (datetime, str)),
        (_cursor(["2026-05-01T10:00:00"]), (date,)),
        (_cursor(["x" * 201]), (str,)),
        (_cursor(["a\x00"]), (str,)),
        (_cursor({"id": 1}), (int,)),
        ("%%%", (int,)),
    ],
)
def test_any_other_cursor_is_a_400_problem(cursor: str, shape: tuple[type, ...]) -> None:
    with pytest.raises(Problem) as refused:
        decode_cursor(cursor, shape)  # type: ignore[arg-type]
    assert (refused.value.status, refused.value.kind) == (400, "invalid-cursor")
