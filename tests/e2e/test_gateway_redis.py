"""The gateway's Redis features against the running platform: rate limits (token bucket),
Idempotency-Key on POST, and the profile/KPI read cache kept valid by the read model's version."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import httpx
import redis.asyncio as aioredis

from komagane_contracts.readmodels import city_kpis_key, profile_key
from komagane_devstack.stack import Stack
from tests.support.gateways import extra_gateway
from tests.support.platform import gateway_client

HUB = {"name_ja": "冪等テスト館", "kind": "COMMUNITY_HALL", "area": "中央"}


def profile_json(person_id: str, version: int, *, places: list[str]) -> str:
    belonging = {"places": places, "regularity_12w": 0.5, "category_bands": {}, "groups": []}
    return httpx.Response(
        200,
        json={"person_id": person_id, "version": version, "updated_at": "2026-11-01T10:00:00+09:00", "consents": ["PROFILE"], "belonging": belonging},
    ).text


async def test_rate_limit_is_a_shared_token_bucket_per_client_and_route_class(stack: Stack, tmp_path: Path) -> None:
    env = {"RATE_LIMIT_READ_PER_SECOND": "0.01", "RATE_LIMIT_READ_BURST": "5"}
    client_id = f"rl-{uuid.uuid4().hex[:8]}"
    token = stack.mint_token("staff", subject=client_id)
    with extra_gateway(stack, tmp_path, **env) as gateway:
        async with httpx.AsyncClient(base_url=gateway.url, timeout=30, headers={"Authorization": f"Bearer {token}"}) as client:
            first = await client.get("/v1/hubs")
            assert first.status_code == 200
            assert first.headers["ratelimit-limit"] == "5" and first.headers["ratelimit-remaining"] == "4"
            assert int(first.headers["ratelimit-reset"]) >= 1
            # Concurrent requests: the Lua script takes tokens atomically, so exactly 4 more pass.
            answers = await asyncio.gather(*(client.get("/v1/hubs") for _ in range(12)))
            assert sorted(a.status_code for a in answers) == [200] * 4 + [429] * 8
            refused = next(a for a in answers if a.status_code == 429)
            assert refused.headers["content-type"] == "application/problem+json"
            assert refused.json()["type"].endswith("/rate-limited")
            assert int(refused.headers["retry-after"]) >= 1
            assert refused.headers["ratelimit-remaining"] == "0"
            # Another route class of the same client has its own bucket ...
            other_class = await client.get("/v1/engagements")
            assert other_class.status_code == 200 and other_class.headers["ratelimit-remaining"] == "4"
        # ... and so has another client.
        other = stack.mint_token("staff", subject=f"{client_id}-other")
        async with httpx.AsyncClient(base_url=gateway.url, timeout=30, headers={"Authorization": f"Bearer {other}"}) as client:
            assert (await client.get("/v1/hubs")).status_code == 200


async def test_the_stack_gateway_reports_its_generous_limits(stack: Stack) -> None:
    async with gateway_client(stack, "city", subject="rl-city") as client:
        answer = await client.get("/v1/hubs")
    assert answer.status_code == 200
    assert int(answer.headers["ratelimit-limit"]) >= 100 and int(answer.headers["ratelimit-remaining"]) > 0


async def test_idempotency_key_on_post_replays_locks_and_is_scoped_per_caller(stack: Stack) -> None:
    key = f"idem-{uuid.uuid4()}"
    async with gateway_client(stack, "staff", subject="idem-staff-1") as staff, gateway_client(stack, "staff", subject="idem-staff-2") as colleague:
        # Two identical requests at once: one reaches the service, the other waits and replays.
        both = await asyncio.gather(*(staff.post("/v1/hubs", json=HUB, headers={"Idempotency-Key": key}) for _ in range(2)))
        assert [a.status_code for a in both] == [201, 201], [a.text for a in both]
        assert both[0].json()["id"] == both[1].json()["id"]
        assert sorted(a.headers.get("idempotent-replayed", "") for a in both) == ["", "true"]
        later = await staff.post("/v1/hubs", json=HUB, headers={"Idempotency-Key": key})
        assert later.status_code == 201 and later.json()["id"] == both[0].json()["id"]
        assert later.headers["idempotent-replayed"] == "true" and later.headers["content-type"] == "application/json"

        different = await staff.post("/v1/hubs", json={**HUB, "name_ja": "別の館"}, headers={"Idempotency-Key": key})
        assert different.status_code == 422
        assert different.json()["type"].endswith("/idempotency-key-reused")

        # The same key from another caller is another request altogether.
        theirs = await colleague.post("/v1/hubs", json=HUB, headers={"Idempotency-Key": key})
        assert theirs.status_code == 201 and theirs.json()["id"] != both[0].json()["id"]
        assert "idempotent-replayed" not in theirs.headers

        # A request the service refuses (4xx) is stored too; no key means no idempotency.
        bad_key = f"idem-{uuid.uuid4()}"
        refused = await staff.post("/v1/hubs", json={"kind": "NOPE"}, headers={"Idempotency-Key": bad_key})
        again = await staff.post("/v1/hubs", json={"kind": "NOPE"}, headers={"Idempotency-Key": bad_key})
        assert refused.status_code == again.status_code == 422 and again.headers["idempotent-replayed"] == "true"
        assert (await staff.post("/v1/hubs", json=HUB)).json()["id"] != both[0].json()["id"]
        too_long = await staff.post("/v1/hubs", json=HUB, headers={"Idempotency-Key": "k" * 201})
        assert too_long.status_code == 400


async def test_profile_and_kpi_reads_follow_the_read_models_version(stack: Stack) -> None:
    person = f"cache-{uuid.uuid4().hex[:12]}"
    redis = aioredis.Redis.from_url(stack.redis.url)
    try:
        await redis.set(profile_key(person), profile_json(person, 1, places=["hub:a"]))
        async with gateway_client(stack, "staff", subject="cache-staff") as client:
            first = await client.get(f"/v1/profiles/{person}")
            assert first.status_code == 200 and first.json()["version"] == 1 and first.headers["etag"] == '"1"'
            assert (await client.get(f"/v1/profiles/{person}")).json() == first.json()  # from the cache
            unchanged = await client.get(f"/v1/profiles/{person}", headers={"If-None-Match": '"1"'})
            assert unchanged.status_code == 304

            await redis.set(profile_key(person), profile_json(person, 2, places=["hub:a", "hub:b"]))
            second = await client.get(f"/v1/profiles/{person}")
            assert second.json()["version"] == 2 and second.json()["belonging"]["places"] == ["hub:a", "hub:b"]
            assert (await client.get(f"/v1/profiles/{person}", headers={"If-None-Match": '"1"'})).status_code == 200

            await redis.delete(profile_key(person))  # consent withdrawn: erased everywhere
            assert (await client.get(f"/v1/profiles/{person}")).status_code == 404

            month = "2031-02"
            kpis = await client.get("/v1/kpis", params={"month": month})
            assert kpis.status_code == 404
    finally:
        await redis.delete(city_kpis_key("2031-02"))
        await redis.aclose()
