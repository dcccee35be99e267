"""The JSON type check of request bodies (komagane_kit.strict_body) on a model's own schema."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel, TypeAdapter

from komagane_kit.strict_body import type_errors


class Slot(BaseModel):
    weekday: int
    start: str


class Body(BaseModel):
    lives_alone: bool = False
    household_size: int = 1
    hours: float | None = None
    slots: list[Slot] = []


SCHEMA: dict[str, Any] = TypeAdapter(Body).json_schema(mode="validation")


def errors(value: Any) -> list[tuple[tuple[str | int, ...], str]]:
    return list(type_errors(value, SCHEMA, SCHEMA.get("$defs", {})))


@pytest.mark.parametrize(
    "body",
    [
        {"lives_alone": True, "household_size": 2, "hours": 1.5, "slots": [{"weekday": 1, "start": "10:00"}]},
        {"household_size": 18.0, "hours": 2},  # 18.0 is an integer to JSON Schema, 2 a number
        {"hours": None, "unknown": "left to the model"},
    ],
)
def test_values_of_the_declared_json_types_pass(body: dict[str, Any]) -> None:
    assert errors(body) == []


@pytest.mark.parametrize(
    ("body", "where"),
    [
        ({"lives_alone": 0}, ("lives_alone",)),
        ({"household_size": "3"}, ("household_size",)),
        ({"household_size": True}, ("household_size",)),  # a boolean is no number in JSON
        ({"household_size": 2.5}, ("household_size",)),
        ({"hours": "1.5"}, ("hours",)),
        ({"slots": [{"weekday": 1, "start": "10:00"}, {"weekday": "2", "start": "11:00"}]}, ("slots", 1, "weekday")),
        ({"slots": {"weekday": 1}}, ("slots",)),
    ],
)
def test_a_value_of_another_json_type_is_named_where_it_is(body: dict[str, Any], where: tuple[str | int, ...]) -> None:
    assert [place for place, _ in errors(body)] == [where]
