"""The gateway's OpenAPI document: its own routes plus the public paths of every service.

Services describe their own request and response models; the gateway merges those documents
(only the paths it routes to them) so clients see one complete contract.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from komagane_gateway.access import ANY, route_class
from komagane_kit.errors import PROBLEM_BASE

log = logging.getLogger(__name__)


def merged_openapi(app: FastAPI, owner_of: Callable[[str], str | None]) -> Callable[[], dict[str, Any]]:
    def build() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        document = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
        components = document.setdefault("components", {}).setdefault("schemas", {})
        upstream_docs: dict[str, dict[str, Any]] = getattr(app.state, "upstream_openapi", {})
        for service, upstream_doc in upstream_docs.items():
            for path, operations in upstream_doc.get("paths", {}).items():
                if owner_of(path) == service and path not in document["paths"]:
                    document["paths"][path] = operations
            for name, schema in upstream_doc.get("components", {}).get("schemas", {}).items():
                components.setdefault(name, schema)
        _declare_bearer_auth(document)
        if len(upstream_docs) == len(getattr(app.state, "upstreams", {})):
            app.openapi_schema = document  # complete: cache it
        return document

    return build


PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "RFC 9457 problem details; title and detail in Japanese or English by Accept-Language",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string", "format": "uri"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
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


def _problem(status: int, kind: str, title: str, detail: str, **extra: Any) -> dict[str, Any]:
    example = {"type": PROBLEM_BASE + kind, "title": title, "status": status, "detail": detail, **extra}
    return {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}, "example": example}}


RETRY_AFTER = {"Retry-After": {"description": "Seconds to wait before retrying", "schema": {"type": "integer"}}}
RATE_LIMIT_HEADERS = {
    name: {"description": description, "schema": {"type": "integer"}}
    for name, description in (
        ("RateLimit-Limit", "Requests allowed in a burst for this client and route class"),
        ("RateLimit-Remaining", "Requests left in the bucket now"),
        ("RateLimit-Reset", "Seconds until the bucket is full again"),
    )
}


def _declare_bearer_auth(document: dict[str, Any]) -> None:
    """Every operation needs a bearer token except the public ones (access.py); each documents
    its problem answers: 401 (no or invalid token), 403 (the access matrix), 422 (validation,
    as problem+json rather than FastAPI's default shape), 429 (rate limit), 503 (a service
    unavailable), with examples."""
    document["components"]["securitySchemes"] = {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}}
    document["components"]["schemas"]["Problem"] = PROBLEM_SCHEMA
    document["security"] = [{"bearer": []}]
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if not isinstance(operation, dict) or method.upper() not in ANY:
                continue
            rc, _ = route_class(method.upper(), path)
            responses = operation.setdefault("responses", {})
            if "422" in responses:
                responses["422"] = {
                    "description": "Invalid request: each field is named in `errors`",
                    "content": _problem(
                        422,
                        "validation-error",
                        "入力内容に誤りがあります",
                        "入力内容に誤りがあります: birth_year",
                        errors=[{"field": "birth_year", "message": "…"}],
                    ),
                }
            if rc.public or not path.startswith(("/v1/", "/asyncapi")):
                operation["security"] = []
                continue
            responses.setdefault(
                "401",
                {
                    "description": "No or an invalid bearer token",
                    "content": _problem(401, "unauthorized", "認証が必要です", "有効なベアラートークンが必要です。"),
                },
            )
            responses.setdefault(
                "403",
                {
                    "description": f"The caller's role may not use {rc.name} routes (docs/access-matrix.md)",
                    "content": _problem(403, "forbidden", "この操作は許可されていません", f"この役割では {rc.name} の操作はできません。", route_class=rc.name),
                },
            )
            responses.setdefault(
                "429",
                {
                    "description": "Rate limit of this client and route class reached",
                    "headers": {**RETRY_AFTER, **RATE_LIMIT_HEADERS},
                    "content": _problem(429, "rate-limited", "リクエストが多すぎます", "しばらく待ってから再試行してください。", route_class=rc.name),
                },
            )
            responses.setdefault(
                "503",
                {
                    "description": "A service behind the gateway is unavailable (or its circuit is open)",
                    "headers": RETRY_AFTER,
                    "content": _problem(503, "service-unavailable", "サービスを利用できません", "しばらくしてから再試行してください。", service="jobs"),
                },
            )


async def fetch_upstream_docs(app: FastAPI) -> None:
    """Fetch each service's /openapi.json; a service that is down is simply left out for now."""
    docs: dict[str, dict[str, Any]] = {}
    for name, upstream in app.state.upstreams.items():
        try:
            answer = await upstream.fetch("/openapi.json", timeout=5.0)
            if answer.status_code != 200:
                raise RuntimeError(f"status {answer.status_code}")
            docs[name] = answer.json()
        except Exception as exc:
            log.warning("OpenAPI of %s not available yet: %s", name, exc)
    app.state.upstream_openapi = docs
