"""The access matrix against the running gateway, and the services refusing anyone but the gateway.

Walks every route class (access.ACCESS, the table docs/access-matrix.md is generated from) with
every role: allowed means the gateway let the request through (the service may still answer
404 or 422 for the made-up ids and empty bodies), denied means the gateway's 403.
"""

from __future__ import annotations

import httpx
import pytest

from komagane_devstack.stack import Stack
from komagane_gateway.access import ACCESS, RouteClass
from komagane_gateway.tokens import ROLES
from komagane_kit.internal_auth import internal_headers

RESIDENT = "resident-e2e-0001"
SOMEONE_ELSE = "resident-e2e-0002"


def example(rc: RouteClass, person: str) -> tuple[str, str, dict[str, str] | None]:
    method, path = rc.example
    body = {"person_id": person} if method in ("POST", "PUT", "PATCH") else None
    return method, path.replace("{person}", person), body


def denied_by_gateway(response: httpx.Response) -> bool:
    return response.status_code == 403 and "route_class" in response.json()


async def test_every_route_class_with_every_role(stack: Stack) -> None:
    assert stack.gateway is not None
    outcomes: dict[tuple[str, str], str] = {}
    expected: dict[tuple[str, str], str] = {}
    async with httpx.AsyncClient(base_url=stack.gateway.url, timeout=60) as client:
        for role in ROLES:
            token = stack.mint_token(role, subject=RESIDENT if role == "resident" else None)
            for rc in ACCESS:
                method, path, body = example(rc, RESIDENT)
                response = await client.request(method, path, json=body, headers={"Authorization": f"Bearer {token}"})
                assert response.status_code != 401 and response.status_code < 500, (role, rc.name, response.text)
                outcomes[(rc.name, role)] = "denied" if denied_by_gateway(response) else "allowed"
                expected[(rc.name, role)] = "allowed" if rc.allows(role) else "denied"
    assert outcomes == expected


async def test_without_a_valid_token_only_public_routes_answer(stack: Stack) -> None:
    assert stack.gateway is not None
    async with httpx.AsyncClient(base_url=stack.gateway.url, timeout=60) as client:
        for rc in ACCESS:
            method, path, body = example(rc, RESIDENT)
            response = await client.request(method, path, json=body)
            if rc.public:
                assert response.status_code == 200, (rc.name, response.text)
                continue
            assert response.status_code == 401, (rc.name, response.text)
            assert response.headers["content-type"] == "application/problem+json"
            assert response.headers["www-authenticate"] == 'Bearer realm="komagane"'
        forged = stack.mint_token("admin", ttl_seconds=-120)  # expired
        for token in (forged, "not-a-jwt"):
            response = await client.get("/v1/hubs", headers={"Authorization": f"Bearer {token}"})
            assert response.status_code == 401 and 'error="invalid_token"' in response.headers["www-authenticate"]
        basic = await client.get("/v1/hubs", headers={"Authorization": "Basic YWRtaW46YWRtaW4="})
        assert basic.status_code == 401
        for public in ("/livez", "/readyz", "/openapi.json"):
            assert (await client.get(public)).status_code == 200


@pytest.mark.parametrize("rc", [rc for rc in ACCESS if rc.own], ids=lambda rc: rc.name)
async def test_a_resident_may_not_act_for_someone_else(stack: Stack, rc: RouteClass) -> None:
    assert stack.gateway is not None
    token = stack.mint_token("resident", subject=RESIDENT)
    method, path, body = example(rc, SOMEONE_ELSE)
    async with httpx.AsyncClient(base_url=stack.gateway.url, timeout=60, headers={"Authorization": f"Bearer {token}"}) as client:
        response = await client.request(method, path, json=body)
    assert denied_by_gateway(response), response.text


async def test_the_openapi_document_declares_bearer_auth(stack: Stack) -> None:
    assert stack.gateway is not None
    async with httpx.AsyncClient(base_url=stack.gateway.url, timeout=60) as client:
        document = (await client.get("/openapi.json")).json()
    assert document["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    assert "401" in document["paths"]["/v1/hubs"]["get"]["responses"]
    assert document["paths"]["/asyncapi.json"]["get"]["security"] == []


async def test_a_service_called_directly_refuses_without_the_gateways_internal_token(stack: Stack) -> None:
    for name, service in stack.pillars.items():
        async with httpx.AsyncClient(base_url=service.url, timeout=30) as client:
            refused = await client.get("/v1/hubs" if name == "exchange" else "/v1/people/x")
            assert refused.status_code == 401, (name, refused.text)
            assert refused.headers["content-type"] == "application/problem+json"
            assert refused.json()["type"].endswith("/internal-token-required")
            forged = await client.get("/v1/people/x", headers=internal_headers("f" * 48))
            assert forged.status_code == 401, name
            token = stack.mint_token("admin")  # a caller's bearer token is not an internal token either
            assert (await client.get("/v1/people/x", headers={"Authorization": f"Bearer {token}", "X-Internal-Token": token})).status_code == 401
            assert (await client.get("/livez")).status_code == 200
