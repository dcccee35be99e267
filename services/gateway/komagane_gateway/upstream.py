"""Forwarding requests to pillar services, with timeouts and a problem+json answer on failure."""

from __future__ import annotations

import logging

import httpx
from fastapi import Request, Response

from komagane_kit.errors import Problem

log = logging.getLogger(__name__)

# Headers a service needs to see; everything else (cookies, hop-by-hop) stays at the edge.
# x-actor / x-actor-role: the caller seam the health audit uses until authentication arrives.
FORWARDED_REQUEST_HEADERS = ("content-type", "accept", "accept-language", "idempotency-key", "x-actor", "x-actor-role")
FORWARDED_RESPONSE_HEADERS = ("content-type", "location", "retry-after", "etag")


class Upstream:
    """One pillar service behind the gateway."""

    def __init__(self, name: str, base_url: str, timeout_seconds: float) -> None:
        self.name = name
        self.client = httpx.AsyncClient(base_url=base_url, timeout=timeout_seconds)

    async def forward(self, request: Request, path: str) -> Response:
        headers = {k: v for k, v in request.headers.items() if k.lower() in FORWARDED_REQUEST_HEADERS}
        body = await request.body()
        try:
            upstream = await self.client.request(request.method, path, params=request.query_params, content=body, headers=headers)
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.RemoteProtocolError) as exc:
            log.warning("%s unavailable: %s", self.name, exc)
            raise Problem(503, "service-unavailable", f"The {self.name} service is unavailable; try again shortly.", headers={"Retry-After": "5"}) from exc
        except httpx.TimeoutException as exc:
            raise Problem(504, "upstream-timeout", f"The {self.name} service did not answer in time.", headers={"Retry-After": "5"}) from exc
        response_headers = {k: v for k, v in upstream.headers.items() if k.lower() in FORWARDED_RESPONSE_HEADERS}
        return Response(content=upstream.content, status_code=upstream.status_code, headers=response_headers)

    async def ready(self) -> bool:
        response = await self.client.get("/readyz", timeout=2.0)
        return response.status_code == 200

    async def close(self) -> None:
        await self.client.aclose()
