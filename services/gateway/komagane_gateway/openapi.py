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


def _declare_bearer_auth(document: dict[str, Any]) -> None:
    """Every operation needs a bearer token except the public ones (access.py); each may answer
    401 (no or invalid token) and 403 (the access matrix)."""
    document["components"]["securitySchemes"] = {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}}
    document["security"] = [{"bearer": []}]
    problem = {"application/problem+json": {"schema": {"type": "object"}}}
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if not isinstance(operation, dict) or method.upper() not in ANY:
                continue
            rc, _ = route_class(method.upper(), path)
            if rc.public or not path.startswith(("/v1/", "/asyncapi")):
                operation["security"] = []
                continue
            responses = operation.setdefault("responses", {})
            responses.setdefault("401", {"description": "No or an invalid bearer token", "content": problem})
            responses.setdefault("403", {"description": f"The caller's role may not use {rc.name} routes (docs/access-matrix.md)", "content": problem})


async def fetch_upstream_docs(app: FastAPI) -> None:
    """Fetch each service's /openapi.json; a service that is down is simply left out for now."""
    docs: dict[str, dict[str, Any]] = {}
    for name, upstream in app.state.upstreams.items():
        try:
            response = await upstream.client.get("/openapi.json", timeout=5.0)
            response.raise_for_status()
            docs[name] = response.json()
        except Exception as exc:
            log.warning("OpenAPI of %s not available yet: %s", name, exc)
    app.state.upstream_openapi = docs
