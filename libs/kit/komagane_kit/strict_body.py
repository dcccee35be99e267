"""JSON bodies are checked against the JSON types their schema declares before the model reads them.

FastAPI validates a body in pydantic's lax Python mode, and SQLModel's own `__init__` keeps it lax
even when asked for strict: `0` would become `false`, `"3"` would become `3`. Values the OpenAPI
document calls invalid would be accepted. Every route with a body gets this check as a router
dependency (komagane_kit.service): a value of another JSON type than the route's JSON Schema
declares is a 422 like any other invalid field. Only JSON types are checked here; the model
still checks everything else (ranges, patterns, formats, windows).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from pydantic import TypeAdapter

from komagane_kit.errors import is_json

Schema = dict[str, Any]
_SCHEMAS: dict[int, Schema | None] = {}
_JSON_TYPES: dict[str, tuple[type, ...]] = {
    "boolean": (bool,),
    "integer": (int,),
    "number": (int, float),
    "string": (str,),
    "array": (list,),
    "object": (dict,),
    "null": (type(None),),
}


def _schema(route: APIRoute) -> Schema | None:
    """The JSON Schema of the route's body (with its $defs); None when it takes no single body."""
    key = id(route)
    if key not in _SCHEMAS:
        field = route.body_field
        annotation: Any = getattr(getattr(field, "field_info", None), "annotation", None) if field is not None else None
        single = annotation is not None and len(route.dependant.body_params) == 1
        _SCHEMAS[key] = TypeAdapter(annotation).json_schema(mode="validation") if single else None
    return _SCHEMAS[key]


def _of_type(value: Any, name: str) -> bool:
    if isinstance(value, bool) and name in ("integer", "number"):
        return False  # JSON true is no number, whatever Python says
    if name == "integer" and isinstance(value, float):
        return value.is_integer()  # to JSON Schema, 18.0 is an integer
    return isinstance(value, _JSON_TYPES.get(name, (object,)))


def type_errors(value: Any, schema: Schema, defs: Schema, where: tuple[str | int, ...] = ()) -> Iterator[tuple[tuple[str | int, ...], str]]:
    """Places in `value` whose JSON type is not one `schema` allows, with the expected types."""
    while "$ref" in schema:
        schema = defs.get(schema["$ref"].rsplit("/", 1)[1], {})
    options = schema.get("anyOf") or schema.get("oneOf")
    if options:
        if all(any(True for _ in type_errors(value, option, defs, where)) for option in options):
            allowed = sorted({t for option in options for t in _types(option, defs)})
            yield where, " or ".join(allowed) or "another type"
        return
    declared = schema.get("type")
    names = [declared] if isinstance(declared, str) else list(declared or [])
    if names and not any(_of_type(value, name) for name in names):
        yield where, " or ".join(names)
        return
    if isinstance(value, dict):
        properties: Schema = schema.get("properties", {})
        extra = schema.get("additionalProperties")
        for name, item in value.items():
            child = properties.get(name, extra if isinstance(extra, dict) else None)
            if child is not None:
                yield from type_errors(item, child, defs, (*where, name))
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for index, item in enumerate(value):
            yield from type_errors(item, schema["items"], defs, (*where, index))


def _types(schema: Schema, defs: Schema) -> list[str]:
    while "$ref" in schema:
        schema = defs.get(schema["$ref"].rsplit("/", 1)[1], {})
    declared = schema.get("type")
    return [declared] if isinstance(declared, str) else list(declared or [])


async def strict_json_body(request: Request) -> None:
    route = request.scope.get("route")
    if not isinstance(route, APIRoute) or route.body_field is None or not is_json(request.headers.get("content-type")):
        return
    schema = _schema(route)
    raw = await request.body()
    if schema is None or not raw:
        return  # no body: the route's own validation says it is missing
    try:
        value = json.loads(raw)
    except ValueError:
        return  # not JSON: the route's own reading answers 400
    errors = [
        {"loc": ("body", *where), "msg": f"must be of JSON type {expected}", "type": "json_type", "input": None}
        for where, expected in type_errors(value, schema, schema.get("$defs", {}))
    ]
    if errors:
        raise RequestValidationError(errors)
