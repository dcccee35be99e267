"""Health signals in the profile, end to end (issue 7, guarantee 4): a person with PROFILE and
HEALTH consent uploads activity data to the health service; their profile shows a coarse steps
band (never the count); withdrawing HEALTH consent removes it within seconds from the read
model and from the compacted profiles topic.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import httpx

from komagane_contracts.topics import PROFILES
from komagane_devstack.stack import Stack
from komagane_kit.clock import now, tokyo_date
from tests.e2e.test_health import register
from tests.support.kafka import read_topic
from tests.support.waiting import eventually

STEPS = 6_123


async def test_health_signals_appear_with_both_consents_and_go_within_seconds_of_withdrawal(stack: Stack, gateway: httpx.AsyncClient) -> None:
    [person] = await register(gateway, stack, 1, consent=True)
    assert (await gateway.put(f"/v1/people/{person}/consents/PROFILE")).status_code == 200
    yesterday = (tokyo_date(now()) - timedelta(days=1)).isoformat()
    uploaded = await gateway.post(
        "/v1/health/daily-activity", json={"rows": [{"person_id": person, "day": yesterday, "steps": STEPS, "brisk_walk_minutes": 25}]}
    )
    assert uploaded.status_code == 200, uploaded.text

    async def profile(ready: Any) -> dict[str, Any] | None:
        response = await gateway.get(f"/v1/profiles/{person}")
        body = response.json() if response.status_code == 200 else None
        return body if body is not None and ready(body) else None

    shown = await eventually(lambda: profile(lambda b: (b.get("health") or {}).get("steps_band_28d") == "5000-7999"), timeout=60, what="the steps band")
    assert str(STEPS) not in json.dumps(shown)

    async def published_health() -> Any:
        records = [r for r in await read_topic(stack.kafka.bootstrap, PROFILES.name) if r.key == person.encode()]
        latest = max(records, key=lambda r: (r.partition, r.offset)) if records else None
        return json.loads(latest.value).get("health") if latest is not None and latest.value else None

    assert await eventually(published_health, timeout=30, what="the band on the compacted topic")
    assert (await gateway.delete(f"/v1/people/{person}/consents/HEALTH")).status_code == 204

    gone = await eventually(lambda: profile(lambda b: b.get("health") is None), timeout=15, interval=0.2, what="the health signals gone from the read model")
    assert "HEALTH" not in gone["consents"] and gone["version"] > shown["version"]

    async def erased_on_topic() -> bool:
        return await published_health() is None

    await eventually(erased_on_topic, timeout=15, interval=0.2, what="the health signals gone from the compacted topic")
