"""The gateway's OpenAPI document: its own routes plus the public operations of every service.

Services describe their own request and response models and their problem answers (the kit's
`komagane_kit.openapi`); the gateway merges those documents operation by operation (only the
paths it routes to each service, so a route a service adds appears without a change here) and
then declares, for every operation, what the gateway itself answers (`_declare_gateway_answers`):
401, 403, 422 (NUL characters, a missing access reason), 429, for forwarded operations 503 and
504, and for every POST the `Idempotency-Key` header with its 400, 409 and 422.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from komagane_gateway.access import ANY, WRITE, route_class
from komagane_gateway.auth import authorize
from komagane_gateway.idempotency import MAX_KEY_LENGTH
from komagane_gateway.staff_rules import REASON_HEADER, REASON_MAX, REASON_MIN, S2_READ_CLASSES
from komagane_gateway.upstream import FORWARDED_REQUEST_HEADERS, Upstream
from komagane_kit.openapi import Scan, add_problem, declare_problems, problem_answer

log = logging.getLogger(__name__)

SCHEMA_REF = "#/components/schemas/"


def merged_openapi(app: FastAPI, owner_of: Callable[[str], str | None]) -> Callable[[], dict[str, Any]]:
    def build() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        document = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
        # `authorize`'s answers are declared below, per route class; calls to a service are followed.
        declare_problems(document, list(app.routes), Scan(methods_of=(Upstream,), skip=(authorize,)))
        own = {(path, method) for path, operations in document["paths"].items() for method in operations}
        upstream_docs: dict[str, dict[str, Any]] = getattr(app.state, "upstream_openapi", {})
        for service, upstream_doc in upstream_docs.items():
            merge_service_document(document, service, upstream_doc, owner_of)
        _declare_gateway_answers(document, own)
        if len(upstream_docs) == len(getattr(app.state, "upstreams", {})):
            app.openapi_schema = document  # complete: cache it
        return document

    return build


def merge_service_document(document: dict[str, Any], service: str, upstream_doc: dict[str, Any], owner_of: Callable[[str], str | None]) -> None:
    """Add `service`'s operations on the paths the gateway routes to it (without the header
    parameters the gateway does not forward), and the schemas they use; a schema name another document already took with other content is renamed
    `<service>_<name>` (with every reference to it in `upstream_doc`)."""
    upstream_doc = json.loads(json.dumps(upstream_doc))  # renamed below: leave the caller's intact
    components = document.setdefault("components", {}).setdefault("schemas", {})
    renames = {
        name: f"{service}_{name}"
        for name, schema in upstream_doc.get("components", {}).get("schemas", {}).items()
        if name in components and components[name] != schema
    }
    if renames:
        text = json.dumps(upstream_doc)
        for old, new in renames.items():
            text = text.replace(json.dumps(SCHEMA_REF + old), json.dumps(SCHEMA_REF + new))
        upstream_doc = json.loads(text)
    for name, schema in upstream_doc.get("components", {}).get("schemas", {}).items():
        components.setdefault(renames.get(name, name), schema)
    for path, operations in upstream_doc.get("paths", {}).items():
        if owner_of(path) != service:
            continue
        merged = document["paths"].setdefault(path, {})
        for method, operation in operations.items():
            if isinstance(operation, dict) and "parameters" in operation:
                # Headers the gateway does not pass on (X-Actor, …) are set by the gateway itself.
                operation["parameters"] = [p for p in operation["parameters"] if p.get("in") != "header" or p["name"].lower() in FORWARDED_REQUEST_HEADERS]
            merged.setdefault(method, operation)


RETRY_AFTER = {"Retry-After": {"description": "Seconds to wait before retrying", "schema": {"type": "integer", "minimum": 0}}}
RATE_LIMIT_HEADERS = {
    name: {"description": description, "schema": {"type": "integer", "minimum": 0}}
    for name, description in (
        ("RateLimit-Limit", "Requests allowed in a burst for this client and route class"),
        ("RateLimit-Remaining", "Requests left in the bucket now"),
        ("RateLimit-Reset", "Seconds until the bucket is full again"),
    )
}
WWW_AUTHENTICATE = {"WWW-Authenticate": {"description": "The bearer challenge (RFC 6750)", "required": True, "schema": {"type": "string"}}}
IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "Makes the POST safe to retry: the first answer is stored per caller and replayed (`Idempotent-Replayed: true`)",
    "schema": {"type": "string", "minLength": 1, "maxLength": MAX_KEY_LENGTH, "pattern": r"^[!-~]([ -~]*[!-~])?$"},
}
ACCESS_REASON = {
    "name": REASON_HEADER,
    "in": "header",
    "required": False,
    "description": (
        f"Why the caller acts for someone else ({REASON_MIN}–{REASON_MAX} characters; Japanese percent-encoded as UTF-8): "
        "required of staff acting for a person, and of care staff reading S2 health data (audited)"
    ),
    "schema": {"type": "string", "minLength": REASON_MIN, "maxLength": REASON_MAX, "pattern": r"^[!-~]([ -~]*[!-~])?$"},
}


def _declare_gateway_answers(document: dict[str, Any], own: set[tuple[str, str]]) -> None:
    """Every operation needs a bearer token except the public ones (access.py); each declares what
    the gateway answers before or instead of the service: 401 (no or an invalid token), 403 (the
    access matrix, a staff member's hubs), 422 (NUL characters, a missing access reason), 429 (rate
    limit), 503/504 (the owning service unavailable or slow: operations not in `own`, the
    gateway's own), and on POST the idempotency key's."""
    document["components"]["securitySchemes"] = {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}}
    document["security"] = [{"bearer": []}]
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if not isinstance(operation, dict) or method.upper() not in ANY:
                continue
            rc, _ = route_class(method.upper(), path)
            responses = operation.setdefault("responses", {})
            if not path.startswith(("/v1/", "/asyncapi")):  # the probes
                operation["security"] = []
                continue
            limited = "Rate limit of this client and route class reached"
            responses["429"] = problem_answer(429, limited, "rate-limited", headers={**RETRY_AFTER, **RATE_LIMIT_HEADERS})
            if rc.public:  # no token: rate-limited by address, NUL characters refused
                operation["security"] = []
                add_problem(responses, 422, "Invalid request: NUL characters")
                continue
            responses["401"] = problem_answer(401, "No or an invalid bearer token", "unauthorized", headers=WWW_AUTHENTICATE)
            add_problem(responses, 403, f"The caller's role may not use {rc.name} routes (docs/access-matrix.md), or staff write outside their hubs")
            add_problem(responses, 422, "Invalid request: NUL characters, or a missing X-Access-Reason where one is required")
            if (path, method) not in own:
                add_problem(responses, 503, "The owning service is unavailable (or its circuit is open); retry after Retry-After")
                responses["503"]["headers"] = RETRY_AFTER
                add_problem(responses, 504, "The owning service did not answer in time")
            parameters = operation.setdefault("parameters", [])
            if method.upper() == "POST":
                parameters.append(IDEMPOTENCY_KEY)
                add_problem(responses, 400, "Idempotency-Key empty or too long", {"invalid-idempotency-key"})
                add_problem(responses, 409, "A request with this Idempotency-Key is still being processed", {"idempotency-key-in-progress"})
                add_problem(responses, 422, "Idempotency-Key used before with a different request", {"idempotency-key-reused"})
            if (rc.own and method.upper() in WRITE) or rc.name in S2_READ_CLASSES:
                parameters.append(ACCESS_REASON)
            if not parameters:
                del operation["parameters"]


async def fetch_upstream_docs(app: FastAPI) -> bool:
    """Fetch the /openapi.json of each service not fetched yet; a service that is down (or slow)
    is left out for now. True when every service's document is there."""
    docs: dict[str, dict[str, Any]] = dict(getattr(app.state, "upstream_openapi", {}))
    for name, upstream in app.state.upstreams.items():
        if name in docs:
            continue
        try:
            answer = await upstream.fetch("/openapi.json", timeout=5.0)
            if answer.status_code != 200:
                raise RuntimeError(f"status {answer.status_code}")
            docs[name] = answer.json()
            app.openapi_schema = None  # rebuilt with it on the next request
        except Exception as exc:
            log.warning("OpenAPI of %s not available yet: %s", name, exc)
    app.state.upstream_openapi = docs
    return len(docs) == len(app.state.upstreams)


async def complete_upstream_docs(app: FastAPI, interval_seconds: float = 2.0, max_interval_seconds: float = 60.0) -> None:
    """Keeps fetching the documents missing at start-up until the merged document is complete
    (a task for the life of the gateway): a service slow to start must not stay undocumented.
    The interval doubles up to `max_interval_seconds`."""
    while not await fetch_upstream_docs(app):
        await asyncio.sleep(interval_seconds)
        interval_seconds = min(interval_seconds * 2, max_interval_seconds)
