"""Staff write only for their hubs; acting for a person, and reading S2 data, needs a reason."""

from __future__ import annotations

import uuid
from urllib.parse import quote

import httpx

from komagane_devstack.stack import Stack
from tests.support.platform import gateway_client

HEADCOUNT = {"counted_on": "2026-11-03", "count": 120, "occasion": "駒ヶ根高原 festival"}


async def make_hub(admin: httpx.AsyncClient, name: str) -> str:
    answer = await admin.post("/v1/hubs", json={"name_ja": name, "kind": "COMMUNITY_HALL", "area": "中央"})
    assert answer.status_code == 201, answer.text
    return str(answer.json()["id"])


async def test_staff_write_only_for_their_hubs(stack: Stack, gateway: httpx.AsyncClient) -> None:
    mine, theirs = await make_hub(gateway, "自分の館"), await make_hub(gateway, "よその館")
    other_group = await gateway.post("/v1/groups", json={"name": "よその会", "kind": "CLUB", "hub_id": theirs})
    assert other_group.status_code == 201, other_group.text
    async with gateway_client(stack, "staff", subject="hub-staff", hub_id=mine) as staff:
        assert (await staff.post(f"/v1/hubs/{mine}/headcounts", json=HEADCOUNT)).status_code == 201
        refused = await staff.post(f"/v1/hubs/{theirs}/headcounts", json=HEADCOUNT)
        assert refused.status_code == 403 and refused.json()["type"].endswith("/wrong-hub"), refused.text
        # The hub named in the body ...
        assert (await staff.post("/v1/groups", json={"name": "会", "kind": "CLUB", "hub_id": theirs})).status_code == 403
        assert (await staff.post("/v1/groups", json={"name": "会", "kind": "CLUB", "hub_id": mine})).status_code == 201
        # ... and the hub a group belongs to (the gateway asks the exchange service).
        join = await staff.post(f"/v1/groups/{other_group.json()['id']}/members", json={"person_id": "p-x"})
        assert join.status_code == 403 and join.json()["hubs"] == [theirs]
        # A write that is not hub-scoped is not restricted.
        assert (await staff.post("/v1/hubs", json={"name_ja": "新館", "kind": "OTHER", "area": "赤穂"})).status_code == 201
    async with gateway_client(stack, "staff", subject="joca-staff") as hubless:
        assert (await hubless.post(f"/v1/hubs/{mine}/headcounts", json=HEADCOUNT)).status_code == 403
    async with gateway_client(stack, "staff", subject="two-hubs", hub_id=f"{mine} {theirs}") as both:
        assert (await both.post(f"/v1/hubs/{theirs}/headcounts", json=HEADCOUNT)).status_code == 201
    assert (await gateway.post(f"/v1/hubs/{theirs}/headcounts", json=HEADCOUNT)).status_code == 201  # admin


async def test_acting_for_a_person_needs_a_reason(stack: Stack, gateway: httpx.AsyncClient) -> None:
    registered = await gateway.post("/v1/people", json={"display_name": "代理 太郎", "birth_year": 1940, "residency_status": "RESIDENT"})
    person = registered.json()["id"]
    async with gateway_client(stack, "staff", subject=f"proxy-{uuid.uuid4().hex[:6]}") as staff:
        missing = await staff.put(f"/v1/people/{person}/consents/OUTREACH")
        assert missing.status_code == 422, missing.text
        assert missing.json()["type"].endswith("/reason-required") and missing.json()["errors"][0]["field"] == "X-Access-Reason"
        given = await staff.put(f"/v1/people/{person}/consents/OUTREACH", headers={"X-Access-Reason": quote("電話で本人から依頼")})
        assert given.status_code in (200, 201), given.text
    async with gateway_client(stack, "resident", subject=person) as resident:  # for oneself: no reason
        assert (await resident.delete(f"/v1/people/{person}/consents/OUTREACH")).status_code == 204

    async with gateway_client(stack, "care", subject="care-reason") as care:
        unexplained = await care.get(f"/v1/health/people/{person}/measurements")
        assert unexplained.status_code == 422 and unexplained.json()["type"].endswith("/reason-required")
        # The header reaches the health service's audit as its `reason` parameter.
        explained = await care.get(f"/v1/health/people/{person}/measurements", headers={"X-Access-Reason": quote("見守り訪問の準備")})
        assert explained.status_code != 422, explained.text
        audit = await care.get("/v1/health/audit")
        assert audit.status_code == 200
        assert "見守り訪問の準備" in [entry["reason"] for entry in audit.json()["items"]] or explained.status_code in (403, 404)
