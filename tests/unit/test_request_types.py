"""Every value a client sends any service is one of the kit's input types (komagane_kit.inputs):
each date and time in a request body, query or path has its window in the OpenAPI document, and
each free string refuses NUL (its pattern says so). A route added with a plain `date` or `str`
fails here, before a fuzzer finds the 500."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from komagane_partners.main import build_app as partners_app
from komagane_partners.settings import PartnersSettings

from komagane_exchange.main import build_app as exchange_app
from komagane_exchange.settings import ExchangeSettings
from komagane_health.main import build_app as health_app
from komagane_health.settings import HealthSettings
from komagane_housing.main import build_app as housing_app
from komagane_housing.settings import HousingSettings
from komagane_jobs.main import build_app as jobs_app
from komagane_jobs.settings import JobsSettings
from komagane_people.main import build_app as people_app
from komagane_people.settings import PeopleSettings

SECRET = "request-types-" + "s" * 40
SERVICES: dict[str, tuple[Callable[[Any], FastAPI], type[Any]]] = {
    "exchange": (exchange_app, ExchangeSettings),
    "health": (health_app, HealthSettings),
    "housing": (housing_app, HousingSettings),
    "jobs": (jobs_app, JobsSettings),
    "partners": (partners_app, PartnersSettings),
    "people": (people_app, PeopleSettings),
}
WINDOW_WORDS = ("years before", "From 1900", "to the current year")


def _resolve(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[1]
        schema = document["components"]["schemas"][name]
    return schema


def _leaves(document: dict[str, Any], schema: dict[str, Any], where: str, seen: frozenset[str] = frozenset()) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every scalar schema under `schema`, with where it is."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[1]
        if name in seen:
            return
        seen = seen | {name}
    schema = _resolve(document, schema)
    for key in ("anyOf", "oneOf", "allOf"):
        for option in schema.get(key, []):
            yield from _leaves(document, option, where, seen)
    if "items" in schema:
        yield from _leaves(document, schema["items"], f"{where}[]", seen)
    for name, child in schema.get("properties", {}).items():
        yield from _leaves(document, child, f"{where}.{name}", seen)
    if isinstance(schema.get("additionalProperties"), dict):
        yield from _leaves(document, schema["additionalProperties"], f"{where}{{}}", seen)
    if schema.get("type") in ("string", "integer") and not {"anyOf", "oneOf", "allOf"} & set(schema):
        yield where, schema


def _inputs(document: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            here = f"{method.upper()} {path}"
            for parameter in operation.get("parameters", []):
                yield from _leaves(document, parameter.get("schema", {}), f"{here} {parameter['in']}:{parameter['name']}")
            content = operation.get("requestBody", {}).get("content", {}).get("application/json")
            if content is not None:
                yield from _leaves(document, content["schema"], f"{here} body")


def _refuses_nul(pattern: str | None) -> bool:
    """The kit's pattern, or an anchored allow-list pattern (a language tag, a country code, a
    local time) that names no NUL, no negated class and no wildcard."""
    if pattern is None:
        return False
    if "\\u0000" in pattern:
        return True
    anchored = pattern.startswith("^") and pattern.endswith("$")
    return anchored and not any(loose in pattern for loose in (".", "[^", "\\W", "\\S", "\\D", "\\x00"))


def _unchecked(document: dict[str, Any]) -> list[str]:
    found = []
    for where, schema in _inputs(document):
        kind = schema.get("format")
        if kind in ("date", "date-time") and not any(word in schema.get("description", "") for word in WINDOW_WORDS):
            found.append(f"{where}: a {kind} without its window")
        elif schema.get("type") == "string" and kind is None and "enum" not in schema and "const" not in schema and not _refuses_nul(schema.get("pattern")):
            found.append(f"{where}: a string that does not refuse NUL")
    return found


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_every_request_value_is_one_of_the_kits_input_types(service: str) -> None:
    build, settings = SERVICES[service]
    document = build(settings(internal_token_secret=SECRET)).openapi()
    assert _unchecked(document) == []


def test_the_check_finds_a_plain_date_and_a_plain_string() -> None:
    document = {
        "paths": {"/x": {"post": {"requestBody": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/X"}}}}}}},
        "components": {"schemas": {"X": {"properties": {"on": {"type": "string", "format": "date"}, "name": {"type": "string"}}}}},
    }
    assert _unchecked(document) == ["POST /x body.on: a date without its window", "POST /x body.name: a string that does not refuse NUL"]
