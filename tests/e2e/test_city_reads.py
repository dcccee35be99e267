"""The city office's and partners' reads through the gateway: KPIs over a range of months, every
hub compared, and a partner's own agreements, consent counts and provision records. Bad months
are 422 problems (never a 500); suppressed figures stay null, never 0; a partner sees only its own."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import datetime
from typing import Any

import httpx
import redis.asyncio as aioredis

from komagane_contracts.events.profiles import CityKpisUpdated, HubMixUpdated, HubMonthMix
from komagane_contracts.readmodels import city_kpis_key, hub_mix_key
from komagane_devstack.stack import Stack
from komagane_kit.clock import TOKYO
from komagane_kit.errors import PROBLEM_JSON
from komagane_kit.months import shift, this_month
from tests.e2e.test_partner_feeds import ATTENDED, agreement, visit
from tests.support.platform import gateway_client, register_people
from tests.support.waiting import eventually


def kpis(month: str, visitors: int | None) -> CityKpisUpdated:
    fields: dict[str, Any] = dict.fromkeys(name for name in CityKpisUpdated.model_fields if name not in ("month", "suppressed"))
    fields.update(hub_visits=None if visitors is None else visitors * 2, hub_visitors=visitors, registered_65_plus=120, kayoinoba_rate_65_plus=0.0)
    suppressed = ["hub_visits", "hub_visitors"] if visitors is None else []
    return CityKpisUpdated(month=month, suppressed=suppressed, **fields)


def problem(response: httpx.Response) -> tuple[int, str]:
    assert response.headers["content-type"] == PROBLEM_JSON, response.text
    return response.status_code, str(response.json()["type"]).rsplit("/", 1)[-1]


async def test_kpis_over_a_range_of_months_with_suppressed_figures_null_and_bad_months_refused(stack: Stack) -> None:
    months = ["2031-01", "2031-02", "2031-03"]
    redis = aioredis.Redis.from_url(stack.redis.url)
    try:
        await redis.set(city_kpis_key("2031-01"), kpis("2031-01", 40).model_dump_json())
        await redis.set(city_kpis_key("2031-03"), kpis("2031-03", None).model_dump_json())
        async with gateway_client(stack, "city", subject="e2e-city") as city:
            answer = await city.get("/v1/kpis", params={"from": months[0], "to": months[-1]})
            assert answer.status_code == 200, answer.text
            body = answer.json()
            assert (body["from"], body["to"], body["not_counted"]) == ("2031-01", "2031-03", ["2031-02"])
            january, march = body["months"]
            assert (january["month"], january["hub_visitors"], january["hub_visits"]) == ("2031-01", 40, 80)
            assert january["kayoinoba_rate_65_plus"] == 0.0  # a real zero stays a zero
            assert march["hub_visitors"] is None and "hub_visitors" in march["suppressed"]  # suppressed: null, never 0
            one = await city.get("/v1/kpis", params={"month": "2031-01"})  # the one-month form as before
            assert one.status_code == 200 and one.json() == january
            assert problem(await city.get("/v1/kpis", params={"month": "2031-02"})) == (404, "kpis-not-found")

            bad: list[dict[str, str]] = [
                {"month": "2031-13"},
                {"month": "0001-01"},
                {"month": "9999-12"},
                {"month": "2031-1"},
                {"month": "２０３１-01"},
                {"from": "2031-05", "to": "2031-04"},  # reversed
                {"from": "2029-01", "to": "2031-01"},  # 25 months
                {"from": "0001-01", "to": "0001-03"},
                {"from": "9999-01", "to": "9999-12"},
                {"from": "2031-01"},
                {"to": "2031-01"},
                {"month": "2031-01", "from": "2031-01", "to": "2031-02"},
                {},
                {"month": "x" * 500},
            ]
            for params in bad:
                refused = await city.get("/v1/kpis", params=params)
                assert problem(refused) == (422, "validation-error"), (params, refused.text)
            full = await city.get("/v1/kpis", params={"from": "2029-02", "to": "2031-01"})  # exactly 24 months
            assert full.status_code == 200 and len(full.json()["not_counted"]) == 23

        async with gateway_client(stack, "resident", subject="e2e-kpi-resident") as resident:
            assert problem(await resident.get("/v1/kpis", params={"from": months[0], "to": months[-1]}))[0] == 403
    finally:
        await redis.delete(city_kpis_key("2031-01"), city_kpis_key("2031-03"))
        await redis.aclose()


async def test_every_hub_compared_with_visits_visitors_mix_and_trend(stack: Stack) -> None:
    month = this_month(datetime.now(TOKYO).date())
    async with gateway_client(stack, "admin", subject="e2e-admin") as admin:
        busy = (await admin.post("/v1/hubs", json={"name_ja": "比較テスト館", "name_en": "Compared", "kind": "COMMUNITY_HALL", "area": "中央"})).json()["id"]
        quiet = (await admin.post("/v1/hubs", json={"name_ja": "比較テスト分館", "kind": "COMMUNITY_HALL", "area": "中央"})).json()["id"]
        people = await register_people(admin, stack, known_to="exchange", count=13, name="比較")
        for person in people[:10]:
            await visit(admin, busy, person)
        await visit(admin, busy, people[0])  # 11 visits by 10 people
        for person in people[10:]:
            await visit(admin, quiet, person)  # 3 people: suppressed
    mix = HubMixUpdated(hub_id=busy, months={month: HubMonthMix(sessions=3, attendances=30, mix_index=0.71, mixed_session_share=0.5, suppressed=False)})
    redis = aioredis.Redis.from_url(stack.redis.url)
    await redis.set(hub_mix_key(busy), mix.model_dump_json())
    try:
        async with gateway_client(stack, "city", subject="e2e-city") as city:
            answer = await city.get("/v1/hubs/compared", params={"month": month})
            assert answer.status_code == 200, answer.text
            assert answer.json()["previous_month"] == shift(month, -1)
            hubs = {item["hub_id"]: item for item in answer.json()["items"]}
            first, second = hubs[busy], hubs[quiet]
            assert (first["name_ja"], first["visits"], first["visitors"], first["mix_index"]) == ("比較テスト館", 11, 10, 0.71)
            assert first["previous_visits"] is None and first["visits_change"] is None and "previous_visits" in first["suppressed"]
            assert second["visits"] is None and second["visitors"] is None and "visits" in second["suppressed"]
            for params in ({"month": "2031-13"}, {"month": "0001-01"}, {}, {"month": "9999-01"}):
                assert problem(await city.get("/v1/hubs/compared", params=params)) == (422, "validation-error"), params
        async with gateway_client(stack, "resident", subject=people[0]) as resident:
            assert problem(await resident.get("/v1/hubs/compared", params={"month": month}))[0] == 403
    finally:
        await redis.delete(hub_mix_key(busy))
        await redis.aclose()


async def test_a_partner_sees_its_own_agreements_consent_counts_and_provision_records_only(stack: Stack) -> None:
    suffix = uuid.uuid4().hex[:6]
    mine, theirs = f"chamber-{suffix}", f"college-{suffix}"
    async with gateway_client(stack, "admin", subject="e2e-admin") as admin:
        # Two feeds of one partner never share an event type here: the partners service derives a
        # message's id from the partner and the event alone, so two feeds carrying the same event
        # would collide in its outbox (reported, not changed here).
        attendance_only = {"event_types": [ATTENDED], "fields": ["age_decade", "category"]}
        for partner, feed, extra in ((mine, "participation", {}), (mine, "classes", attendance_only), (theirs, "participation", {})):
            response = await admin.post("/v1/partners/agreements", json=agreement(partner, feed=feed, purpose=f"{feed} of {partner}", **extra))
            assert response.status_code == 201, response.text
        hub = (await admin.post("/v1/hubs", json={"name_ja": "ぱとな", "kind": "CIVIC_CENTRE", "area": "赤穂"})).json()["id"]
        people = await register_people(admin, stack, known_to="exchange", count=3)
        for person in people[:2]:
            assert (await admin.put(f"/v1/people/{person}/consents/PARTNER:{mine}")).status_code == 200
        assert (await admin.put(f"/v1/people/{people[2]}/consents/PARTNER:{theirs}")).status_code == 200

        async with gateway_client(stack, "partner", subject=mine) as partner_api:

            async def consented() -> dict[str, Any] | None:
                overview: dict[str, Any] = (await partner_api.get("/v1/partner/agreements")).json()
                return overview if all(a["consent_count"] == 2 for a in overview["agreements"]) else None

            overview = await eventually(consented, timeout=60, what="the consents counted for the partner")
            assert overview["partner_id"] == mine
            assert sorted(a["feed"] for a in overview["agreements"]) == ["classes", "participation"]
            assert all(a["partner_id"] == mine and a["active"] and a["purpose"].endswith(mine) for a in overview["agreements"])
            assert overview["connection"]["sasl_username"] == f"partner-{mine}" and overview["connection"]["bootstrap_servers"]
            assert overview["connection"]["asyncapi"] == "/v1/partner/asyncapi.json"
            assert "person_id" not in str(overview) and people[0] not in str(overview)  # a count, no individuals

            await visit(admin, hub, people[0])
            await visit(admin, hub, people[2])

            async def recorded() -> list[dict[str, Any]] | None:
                items: list[dict[str, Any]] = (await partner_api.get("/v1/partner/provision-records")).json()["items"]
                return items or None  # the visit, on the participation feed

            # Through Kafka to the partners service, and summed up every few seconds (slow on a busy machine).
            records = await eventually(recorded, timeout=240, what="the partner's provision records")
            assert {r["partner_id"] for r in records} == {mine}
            exported = await partner_api.get("/v1/partner/provision-records.csv")
            assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
            assert {row["partner_id"] for row in csv.DictReader(io.StringIO(exported.text))} == {mine}

            for path in ("/v1/partner/agreements", "/v1/partner/provision-records", "/v1/partner/provision-records.csv"):
                assert problem(await partner_api.get(path, params={"partner_id": theirs}))[0] == 403, path
            assert problem(await partner_api.get("/v1/partner/agreements", params={"partner_id": "NOT a slug"}))[0] == 422
        async with gateway_client(stack, "resident", subject=people[0]) as resident:
            assert problem(await resident.get("/v1/partner/agreements"))[0] == 403
