"""Every problem an operation can answer, declared in its OpenAPI document by mechanism.

FastAPI documents the success answer and a 422 in its own shape; what the kit and the routes
add (problem+json errors) it does not know. `document_problems(app)` makes the document say,
for every operation, each error status it can answer with the `Problem` schema:

- from the route's shape: 404 with a path parameter (an unknown id), 422 with any parameter
  or body (validation, as problem+json), 400 (not JSON), 413 (too large) and 415 (not the
  declared media type) with a body, 400 with a `cursor` (one this API did not return);
- from the code: each `Problem(<status>, "<kind>", …)` the endpoint, its dependencies and the
  komagane functions they call construct (`raised_problems`), with the kinds in the description
  — so a 409 a route raises, or a 404 of a helper it calls, is declared without restating it.

New routes are covered as they are written; the gateway adds what only it answers (401, 403,
429, 503) when it merges the services' documents (komagane_gateway.openapi).
"""

from __future__ import annotations

import ast
import inspect
import json
import textwrap
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute, iter_route_contexts

from komagane_kit.errors import PROBLEM_BASE, PROBLEM_JSON

PROBLEM_REF = "#/components/schemas/Problem"
PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "RFC 9457 problem details; title and detail in Japanese or English by Accept-Language",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string", "format": "uri"},
        "title": {"type": "string"},
        "status": {"type": "integer", "minimum": 400, "maximum": 599},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "errors": {
            "type": "array",
            "description": "Validation errors, one per field",
            "items": {"type": "object", "properties": {"field": {"type": "string"}, "message": {"type": "string"}}},
        },
    },
    "additionalProperties": True,
}

# Why an operation of a given shape can answer a status; the kinds found in the code follow.
SHAPE_REASONS: dict[int, str] = {
    400: "The body is not JSON, or a cursor is not one this API returned",
    404: "No such resource (an id in the path is unknown)",
    413: "The request body is too large (MAX_BODY_BYTES)",
    415: "The body is not of the declared media type",
    422: "Invalid request: each field is named in `errors`",
}


def problem_content(status: int, kind: str | None = None, **extra: Any) -> dict[str, Any]:
    """The `content` of a problem answer, with an example when `kind` is given."""
    media: dict[str, Any] = {"schema": {"$ref": PROBLEM_REF}}
    if kind is not None:
        media["example"] = {"type": PROBLEM_BASE + kind, "title": HTTPStatus(status).phrase, "status": status, "detail": "…", **extra}
    return {PROBLEM_JSON: media}


def problem_answer(status: int, description: str, kind: str | None = None, headers: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    answer: dict[str, Any] = {"description": description, "content": problem_content(status, kind, **extra)}
    if headers:
        answer["headers"] = headers
    return answer


def add_problem(responses: dict[str, Any], status: int, description: str, kinds: set[str] | frozenset[str] = frozenset()) -> None:
    """Declare `status` as a problem answer, or add to the description of one declared already."""
    text = description + (f" ({', '.join(sorted(kinds))})" if kinds else "")
    existing = responses.get(str(status))
    if existing is None or existing.get("description") in (None, "Validation Error", "Successful Response"):
        responses[str(status)] = problem_answer(status, text, next(iter(sorted(kinds)), None))
    elif text not in existing["description"]:
        existing["description"] = f"{existing['description']}; {text}"
        existing.setdefault("content", problem_content(status))


# --- what the code raises ------------------------------------------------------------------


# Whose functions are followed: the platform's own code, not the libraries it calls.
OWN_PACKAGES = ("komagane_",)


def raised_problems(*roots: Callable[..., Any], packages: tuple[str, ...] = OWN_PACKAGES, methods_of: tuple[type, ...] = ()) -> dict[int, set[str]]:
    """Status → problem kinds of every `Problem(<status>, "<kind>", …)` constructed in `roots`
    and in the functions of `packages` they call (followed by name, transitively). A method call
    (`x.forward(…)`) is followed when a class of `methods_of` has a method of that name."""
    found: dict[int, set[str]] = {}
    seen: set[Any] = set()
    pending = [inspect.unwrap(root) for root in roots]
    while pending:
        function = pending.pop()
        if function in seen:
            continue
        seen.add(function)
        tree = _tree_of(function, packages)
        if tree is None:
            continue
        namespace = getattr(function, "__globals__", {})
        for call in (node for node in ast.walk(tree) if isinstance(node, ast.Call)):
            name = _called_name(call)
            if name == "Problem" and call.args and isinstance(call.args[0], ast.Constant) and isinstance(call.args[0].value, int):
                kinds = found.setdefault(call.args[0].value, set())
                if len(call.args) > 1 and isinstance(call.args[1], ast.Constant) and isinstance(call.args[1].value, str):
                    kinds.add(call.args[1].value)
                continue
            callee = _resolve(call.func, namespace, methods_of)
            if callee is not None:
                pending.append(callee)
    return found


def _tree_of(function: Any, packages: tuple[str, ...]) -> ast.AST | None:
    if not (inspect.isfunction(function) and str(getattr(function, "__module__", "")).startswith(packages)):
        return None
    try:
        return ast.parse(textwrap.dedent(inspect.getsource(function)))
    except (OSError, TypeError, SyntaxError):
        return None


def _called_name(call: ast.Call) -> str | None:
    if isinstance(call.func, ast.Name):
        return call.func.id
    if isinstance(call.func, ast.Attribute):
        return call.func.attr
    return None


def _resolve(node: ast.expr, namespace: dict[str, Any], methods_of: tuple[type, ...]) -> Any:
    if isinstance(node, ast.Name):
        return namespace.get(node.id)
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):  # module.function
        owner = namespace.get(node.value.id)
        if inspect.ismodule(owner):
            return getattr(owner, node.attr, None)
    if isinstance(node, ast.Attribute):  # object.method, for the classes named
        return next((getattr(cls, node.attr) for cls in methods_of if inspect.isfunction(getattr(cls, node.attr, None))), None)
    return None


def _dependency_calls(dependant: Dependant) -> Iterator[Callable[..., Any]]:
    for dependency in dependant.dependencies:
        if dependency.call is not None:
            yield dependency.call
        yield from _dependency_calls(dependency)


# --- the document ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Scan:
    """How far `raised_problems` follows a route's code: the packages whose functions it reads,
    the classes whose methods it follows, the dependencies it leaves out (documented otherwise)."""

    packages: tuple[str, ...] = OWN_PACKAGES
    methods_of: tuple[type, ...] = ()
    skip: tuple[Callable[..., Any], ...] = ()


def route_problems(route: Any, scan: Scan = Scan()) -> dict[int, tuple[str, set[str]]]:
    """Status → (why, kinds) of every problem `route` (an APIRoute, or FastAPI's context of one
    included in an app) can answer (see the module docstring)."""
    problems: dict[int, tuple[str, set[str]]] = {}
    dependant = route.dependant
    has_body = route.body_field is not None
    if dependant.path_params:
        problems[404] = (SHAPE_REASONS[404], set())
    if has_body or dependant.path_params or dependant.query_params or dependant.header_params:
        problems[422] = (SHAPE_REASONS[422], set())
    if has_body:
        for status in (400, 413, 415):
            problems[status] = (SHAPE_REASONS[status], set())
    if any(param.alias == "cursor" for param in dependant.query_params):
        problems[400] = (SHAPE_REASONS[400], set())
    dependencies = [call for call in _dependency_calls(dependant) if call not in scan.skip]
    for status, kinds in raised_problems(route.endpoint, *dependencies, packages=scan.packages, methods_of=scan.methods_of).items():
        if status == 405 or (status >= 500 and status not in (503, 504)):
            continue  # 405 concerns other methods; a server fault is never part of the contract
        why, known = problems.get(status, (HTTPStatus(status).phrase, set()))
        problems[status] = (why, known | kinds)
    return problems


def declare_problems(document: dict[str, Any], routes: list[Any], scan: Scan = Scan()) -> dict[str, Any]:
    """Add every route's problem answers (route_problems) and the `Problem` schema to `document`."""
    document.setdefault("components", {}).setdefault("schemas", {})["Problem"] = PROBLEM_SCHEMA
    schemas = document["components"]["schemas"]
    for context in iter_route_contexts(routes):
        route: Any = context  # the route as included (prefix, dependencies), as FastAPI documents it
        if not isinstance(context.original_route, APIRoute) or not route.include_in_schema:
            continue
        operations = document.get("paths", {}).get(route.path_format, {})
        for method in route.methods or ():
            operation = operations.get(method.lower())
            if operation is None:
                continue
            responses = operation.setdefault("responses", {})
            for status, (why, kinds) in sorted(route_problems(route, scan).items()):
                if status == 422:
                    responses.pop("422", None)  # FastAPI's own shape: it is problem+json here
                add_problem(responses, status, why, kinds)
    for unused in ("HTTPValidationError", "ValidationError"):
        if not _referenced(document, f"#/components/schemas/{unused}"):
            schemas.pop(unused, None)
    return document


def _referenced(document: dict[str, Any], ref: str) -> bool:
    return json.dumps(ref) in json.dumps(document)


def document_problems(app: FastAPI, scan: Scan = Scan()) -> None:
    """Make `app.openapi()` declare every operation's problem answers (built once, then cached)."""

    def build() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
            app.openapi_schema = declare_problems(document, list(app.routes), scan)
        return app.openapi_schema

    app.openapi = build  # type: ignore[method-assign]
