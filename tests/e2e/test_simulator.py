"""The town simulator against the running platform: a small town loads through the gateway
alone, its back-dated history reaches the profiles, and back-dating stays a staff matter."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from komagane_devstack.stack import Stack
from komagane_simulator import load_town, plan_history, plan_town, today
from tests.support.platform import gateway_client, register_people
from tests.support.waiting import eventually

SEED, PEOPLE, DAYS = 11, 60, 14


async def test_a_small_town_loads_through_the_gateway_and_profiles_appear(stack: Stack, gateway: httpx.AsyncClient) -> None:
    assert stack.gateway is not None
    loaded = await load_town(stack.gateway.url, lambda: stack.mint_token("admin", subject="town-simulator"), seed=SEED, population=PEOPLE, history_days=DAYS)

    assert loaded.stats.failed.total() == 0, dict(loaded.stats.failed)
    town = plan_town(SEED, PEOPLE, today())
    assert all(p.key in loaded.ids for p in town.people)
    history = plan_history(town, DAYS)
    # Someone opted in who took part during the history: their profile shows it, dated in the past.
    attended = {p for day in history for s in day.sessions for p, _ in s.attendees}
    person = next(p for p in town.people if "PROFILE" in p.consents and p.key in attended)

    async def profile() -> dict[str, Any] | None:
        response = await gateway.get(f"/v1/profiles/{loaded.ids[person.key]}")
        body = response.json() if response.status_code == 200 else None
        return body if body and body["belonging"]["last_participation"] else None

    shown = await eventually(profile, timeout=90, what="the simulated person's profile with their participation")
    last = datetime.fromisoformat(shown["belonging"]["last_participation"]).date()
    assert history[0].day <= last < today()
    # Nobody without PROFILE consent has a profile.
    outsider = next(p for p in town.people if "PROFILE" not in p.consents)
    assert (await gateway.get(f"/v1/profiles/{loaded.ids[outsider.key]}")).status_code == 404


async def test_back_dated_attendance_is_for_staff_and_within_the_session(stack: Stack, gateway: httpx.AsyncClient) -> None:
    [person] = await register_people(gateway, stack, known_to="exchange", count=1)
    hub = (await gateway.post("/v1/hubs", json={"name_ja": "東伊那公民館", "kind": "COMMUNITY_HALL", "area": "東伊那"})).json()
    activity = (
        await gateway.post(
            "/v1/activities",
            json={"hub_id": hub["id"], "title": "お茶のみ会", "category": "KAYOINOBA", "organiser_kind": "ORGANISATION", "organiser_name": "JOCA"},
        )
    ).json()
    starts = datetime.now(UTC) - timedelta(days=20)
    past = {"starts_at": starts.isoformat(), "ends_at": (starts + timedelta(hours=2)).isoformat(), "capacity": 10}
    sessions = f"/v1/activities/{activity['id']}/sessions"
    assert (await gateway.post(sessions, json=past)).status_code == 422, "sessions are scheduled ahead unless entered afterwards"
    future = {**past, "starts_at": (starts + timedelta(days=30)).isoformat(), "ends_at": (starts + timedelta(days=30, hours=2)).isoformat()}
    assert (await gateway.post(sessions, json={**future, "recorded_after": True})).status_code == 422
    session = (await gateway.post(sessions, json={**past, "recorded_after": True})).json()
    path = f"/v1/sessions/{session['id']}/attendance"
    proxy = {"staff_id": "s-1", "reason": "紙の出席簿"}

    outside = await gateway.post(path, json={"person_id": person, "proxy": proxy, "attended_at": (starts + timedelta(hours=3)).isoformat()})
    assert outside.status_code == 422 and outside.json()["errors"][0]["field"] == "attended_at"
    self_check_in = await gateway.post(path, json={"person_id": person, "check_in_code": "000000", "attended_at": starts.isoformat()})
    assert self_check_in.status_code == 422
    async with gateway_client(stack, "resident", subject=person) as resident:
        refused = await resident.post(path, json={"person_id": person, "proxy": proxy, "attended_at": starts.isoformat()})
    assert refused.status_code == 403
    recorded = await gateway.post(path, json={"person_id": person, "proxy": proxy, "attended_at": (starts + timedelta(minutes=10)).isoformat()})
    assert recorded.status_code == 201, recorded.text
    assert datetime.fromisoformat(recorded.json()["attended_at"]) == starts + timedelta(minutes=10)
    # Without attended_at a session 20 days ago is closed, as before.
    late = await gateway.post(path, json={"person_id": (await register_people(gateway, stack, known_to="exchange", count=1))[0], "proxy": proxy})
    assert late.status_code == 409
