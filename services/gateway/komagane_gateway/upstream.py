"""Forwarding requests to pillar services, with timeouts and a problem+json answer on failure."""

from __future__ import annotations

import logging

import httpx
from fastapi import Request, Response

from komagane_gateway.tokens import Principal
from komagane_kit.errors import Problem
from komagane_kit.internal_auth import INTERNAL_TOKEN_HEADER, Identity, mint_internal_token

log = logging.getLogger(__name__)

# Headers a service needs to see; everything else (cookies, hop-by-hop, the caller's bearer
# token, any X-Actor or X-Internal-Token a client made up) stays at the edge. The caller's
# verified identity travels in the internal token, and in X-Actor / X-Actor-Role for the
# health audit log.
FORWARDED_REQUEST_HEADERS = ("content-type", "accept", "accept-language", "idempotency-key")
FORWARDED_RESPONSE_HEADERS = ("content-type", "location", "retry-after", "etag")


class Upstream:
    """One pillar service behind the gateway."""

    def __init__(self, name: str, base_url: str, timeout_seconds: float, *, internal_secret: str, internal_ttl_seconds: int = 60) -> None:
        self.name = name
        self.client = httpx.AsyncClient(base_url=base_url, timeout=timeout_seconds)
        self.internal_secret = internal_secret
        self.internal_ttl_seconds = internal_ttl_seconds

    def identity_headers(self, principal: Principal) -> dict[str, str]:
        identity = Identity(subject=principal.subject, roles=principal.roles, hub_id=principal.hub_id)
        token = mint_internal_token(self.internal_secret, identity, ttl_seconds=self.internal_ttl_seconds)
        return {INTERNAL_TOKEN_HEADER: token, "X-Actor": principal.subject, "X-Actor-Role": principal.role}

    async def forward(self, request: Request, path: str) -> Response:
        principal: Principal = request.state.principal  # set by auth.authorize on every routed request
        headers = {k: v for k, v in request.headers.items() if k.lower() in FORWARDED_REQUEST_HEADERS}
        headers.update(self.identity_headers(principal))
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
