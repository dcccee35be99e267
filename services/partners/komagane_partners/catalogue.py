"""What a partner feed may ever carry, derived from the event contract.

A partner topic is a projection, never a copy (docs/architecture.md, Consent and sensitivity):
of each shareable event type only coded fields survive — no internal ids (a hub becomes its name), no free text, no names or
contacts, timestamps become dates; the person becomes a per-partner pseudonym with an age in
10-year bands. Types above S1, consent events and anything on internal topics are not shareable.
An agreement chooses event types and fields from this catalogue; the rest is refused.
"""

from __future__ import annotations

import types
import typing
from dataclasses import dataclass
from datetime import date, datetime
from enum import Enum
from typing import Any, Literal

from komagane_contracts.events.base import EventModel
from komagane_contracts.events.people import ConsentGranted, ConsentWithdrawn
from komagane_contracts.kafka_access import PARTNER_FEED_INPUTS
from komagane_contracts.vocabulary import Sensitivity

# Plain-text fields that are codes, not prose (areas are the city's 日常生活圏域 names).
CODED_TEXT = frozenset({"area", "month", "preferred_language", "age_decade"})
CODED_LISTS = frozenset({"languages", "skills", "skills_wanted", "capabilities", "countries", "suppressed"})
# Never shareable whatever their type: identities, free text about people, staff, counterparties.
NEVER = frozenset({"person_id", "person_ids", "promoted_person_id", "recorded_by", "proxy_reason", "organisation", "name_ja", "name_en"})
NOT_SHAREABLE_TYPES = frozenset({ConsentGranted.event_type, ConsentWithdrawn.event_type})

HUB_FIELD = "hub"  # what a partner sees instead of hub_id: the hub's name
AGE_FIELD = "age_decade"  # the person's age in 10-year bands, for person-level feeds
SENSITIVITY_RANK = {Sensitivity.S0: 0, Sensitivity.S1: 1, Sensitivity.S2: 2, Sensitivity.S3: 3}

Kind = Literal["keep", "date", "hub"]


@dataclass(frozen=True)
class Shareable:
    """One event type as partners may see it."""

    event_type: str
    model: type[EventModel]
    person_level: bool
    fields: dict[str, Kind]  # output name → how the value is derived

    def field_names(self) -> set[str]:
        return set(self.fields) | ({AGE_FIELD} if self.person_level else set())


def _unwrap(annotation: Any) -> Any:
    """`X | None` → X."""
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return args[0] if len(args) == 1 else annotation
    return annotation


def _kind(name: str, annotation: Any, aggregate: bool) -> Kind | None:
    if name in NEVER:
        return None
    if name == "hub_id":
        return "hub"
    if name.endswith("_id"):
        return None  # internal ids
    annotation = _unwrap(annotation)
    if annotation is datetime:
        return "date"
    if annotation is str:
        return "keep" if name in CODED_TEXT else None
    if isinstance(annotation, type) and issubclass(annotation, (Enum, bool, int, float, date)):
        return "keep"
    origin = typing.get_origin(annotation)
    if origin is list:
        (item,) = typing.get_args(annotation)
        return "keep" if isinstance(item, type) and (issubclass(item, Enum) or (item is str and name in CODED_LISTS)) else None
    if origin is dict or (isinstance(annotation, type) and not issubclass(annotation, str)):
        return "keep" if aggregate else None  # nested aggregates (hub mix per month) only
    return None


def _shareable(model: type[EventModel]) -> Shareable | None:
    if model.event_type in NOT_SHAREABLE_TYPES or SENSITIVITY_RANK[model.sensitivity] > SENSITIVITY_RANK[Sensitivity.S1]:
        return None
    person_level = "person_id" in model.model_fields
    aggregate = model.sensitivity == Sensitivity.S0 and not person_level
    fields: dict[str, Kind] = {}
    for name, info in model.model_fields.items():
        kind = _kind(name, info.annotation, aggregate)
        if kind is not None:
            fields[HUB_FIELD if kind == "hub" else name] = kind
    return Shareable(model.event_type, model, person_level, fields)


def _build() -> dict[str, Shareable]:
    out: dict[str, Shareable] = {}
    for spec in PARTNER_FEED_INPUTS:
        for model in spec.value_types:
            shareable = _shareable(model)
            if shareable is not None:
                out[model.event_type] = shareable
    return out


CATALOGUE: dict[str, Shareable] = _build()


def source_field(output: str, shareable: Shareable) -> str:
    return "hub_id" if output == HUB_FIELD and shareable.fields.get(output) == "hub" else output
