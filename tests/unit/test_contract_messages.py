"""Every message a service can publish validates against the published AsyncAPI contract.

Each event type on a published topic is built in every variant of its enum fields (so welfare
arrangements and every stage are among them), with optional fields empty and filled, at every
sensitivity class its producer may choose; the envelope makes the Kafka headers as the outbox
relay sends them, and body and headers are validated against the shipped `asyncapi.json`.
"""

from __future__ import annotations

import json
import types
import typing
from collections.abc import Iterator
from datetime import UTC, date, datetime
from enum import Enum
from typing import Any

import jsonschema
import pytest
from pydantic import BaseModel

from komagane_contracts.envelope import CloudEvent
from komagane_contracts.events.base import EventModel
from komagane_contracts.events.exchange import ParticipantAttended, ParticipationMode
from komagane_contracts.events.jobs import Arrangement, ArrangementStepped, EngagementStarted, ShiftWorked
from komagane_contracts.schemas import ASYNCAPI_FILE, published
from komagane_contracts.topics import TOPICS
from komagane_contracts.vocabulary import Sensitivity

CONTRACT = published(ASYNCAPI_FILE)
assert CONTRACT is not None
PUBLISHED_TYPES = [cls for spec in TOPICS if not spec.internal for cls in spec.value_types]
WHEN = datetime(2026, 11, 3, 10, 30, tzinfo=UTC)
PATTERNED = {"month": "2026-11"}  # string fields with a pattern: a value that matches it


def _value(annotation: Any, *, filled: bool) -> Any:
    """A plain valid value of a field's type (the first enum member; optional fields per `filled`)."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(annotation) if a is not type(None)]
        return _value(options[0], filled=filled) if filled or len(options) == len(typing.get_args(annotation)) else None
    if origin is typing.Literal:
        return typing.get_args(annotation)[0]
    if origin in (list, tuple, set, frozenset):
        return [_value(typing.get_args(annotation)[0], filled=filled)]  # some lists need an item (min_length)
    if origin is dict:
        return {"k": _value(typing.get_args(annotation)[1], filled=filled)} if filled else {}
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return next(iter(annotation))
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return _fields(annotation, filled=filled)
    simple = {str: "x1", bool: True, int: 1, float: 0.5, date: date(2026, 11, 3), datetime: WHEN}
    return simple[annotation]


def _fields(cls: type[BaseModel], *, filled: bool) -> dict[str, Any]:
    return {name: PATTERNED.get(name) or _value(field.annotation, filled=filled) for name, field in cls.model_fields.items()}


def _enum_fields(cls: type[BaseModel]) -> Iterator[tuple[str, type[Enum]]]:
    for name, field in cls.model_fields.items():
        union = typing.get_origin(field.annotation) in (typing.Union, types.UnionType)
        for candidate in typing.get_args(field.annotation) if union else (field.annotation,):
            if isinstance(candidate, type) and issubclass(candidate, Enum):
                yield name, candidate


def instances(cls: type[EventModel]) -> Iterator[EventModel]:
    """The type with optional fields empty and filled, and each enum field in every member."""
    for filled in (False, True):
        base = _fields(cls, filled=filled)
        yield cls.model_validate(base)
        for name, enum in _enum_fields(cls):
            for member in enum:
                yield cls.model_validate({**base, name: member})


def messages(cls: type[EventModel]) -> Iterator[CloudEvent]:
    """Every message the producers can make of the type: at the body's class, and at each class
    the type lets the producer choose."""
    for body in instances(cls):
        for requested in (None, *cls.sensitivities()):
            try:
                event = CloudEvent.of(body, time=WHEN, sensitivity=requested)
            except ValueError:
                continue  # a class the contract does not allow for this body: the envelope refuses it
            yield event.with_trace("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", "komagane=1")


def _validator(schema: dict[str, Any]) -> jsonschema.protocols.Validator:
    validator_class = jsonschema.validators.validator_for(schema)
    return validator_class(schema, format_checker=validator_class.FORMAT_CHECKER)  # type: ignore[no-any-return]


@pytest.mark.parametrize("cls", PUBLISHED_TYPES, ids=lambda cls: cls.event_type)
def test_every_message_of_the_type_validates_against_the_published_contract(cls: type[EventModel]) -> None:
    assert CONTRACT is not None
    message = CONTRACT["components"]["messages"][cls.__name__]
    headers_schema, payload_schema = _validator(message["headers"]), _validator(message["payload"])
    seen: set[str] = set()
    for event in messages(cls):
        headers = {name: value.decode() for name, value in event.headers()}
        headers_schema.validate(headers)
        payload_schema.validate(json.loads(event.value()))
        seen.add(headers["ce_sensitivity"])
    assert seen == {s.value for s in cls.sensitivities()}, "every class the contract lists is one a producer makes"


def test_welfare_work_is_s2_on_the_wire_and_in_the_contract() -> None:
    welfare = EngagementStarted.model_validate({**_fields(EngagementStarted, filled=True), "arrangement": Arrangement.WELFARE_B})
    event = CloudEvent.of(welfare)
    assert dict(event.headers())["ce_sensitivity"] == b"S2" and event.data["arrangement"] == "WELFARE_B"
    with pytest.raises(ValueError, match="cannot be published as S1"):
        CloudEvent.of(welfare, sensitivity=Sensitivity.S1)
    general = ShiftWorked.model_validate({**_fields(ShiftWorked, filled=True), "arrangement": Arrangement.GENERAL})
    assert CloudEvent.of(general).sensitivity is Sensitivity.S1
    with pytest.raises(ValueError, match="cannot be published as S2"):
        CloudEvent.of(general, sensitivity=Sensitivity.S2)  # the body decides: S1 is what the contract says
    stepped = ArrangementStepped.model_validate({**_fields(ArrangementStepped, filled=True), "from_arrangement": "WELFARE_A", "to_arrangement": "PART_TIME"})
    assert CloudEvent.of(stepped).sensitivity is Sensitivity.S2

    assert CONTRACT is not None
    header = CONTRACT["components"]["messages"]["ShiftWorked"]["headers"]["properties"]["ce_sensitivity"]
    assert header["enum"] == ["S1", "S2"] and "WELFARE_B" in header["description"]
    payload = CONTRACT["components"]["messages"]["ShiftWorked"]["payload"]
    assert payload["x-sensitivity-raised"]["level"] == "S2"


def test_only_declared_types_may_be_raised_and_only_by_a_declared_level() -> None:
    attended = ParticipantAttended.model_validate({**_fields(ParticipantAttended, filled=True), "mode": ParticipationMode.ATTEND})
    assert CloudEvent.of(attended, sensitivity=Sensitivity.S2).sensitivity is Sensitivity.S2  # a support-specific activity
    with pytest.raises(ValueError):
        CloudEvent.of(attended, sensitivity=Sensitivity.S3)
    visit_type = next(cls for cls in PUBLISHED_TYPES if cls.__name__ == "HubVisited")
    visit = visit_type.model_validate(_fields(visit_type, filled=True))
    with pytest.raises(ValueError):
        CloudEvent.of(visit, sensitivity=Sensitivity.S2)
    assert CONTRACT is not None
    assert CONTRACT["components"]["messages"]["HubVisited"]["headers"]["properties"]["ce_sensitivity"] == {"const": "S1"}
