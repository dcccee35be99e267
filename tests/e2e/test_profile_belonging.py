"""Belonging and role in the profile, from real exchange events through Kafka and faust."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from komagane_contracts.topics import ALERTS
from komagane_devstack.stack import Stack
from tests.e2e.test_exchange import people, post, upcoming_session
from tests.support.kafka import header, read_topic
from tests.support.waiting import eventually


async def test_participation_shows_in_the_profile_only_after_opt_in(stack: Stack, gateway: httpx.AsyncClient) -> None:
    [person, bystander] = await people(gateway, stack, 2)
    session = await upcoming_session(gateway, capacity=5)
    # Before opting in, participation is not profiled at all.
    await post(gateway, f"/v1/sessions/{session['id']}/attendance", {"person_id": person, "check_in_code": session["check_in_code"], "mode": "TEACH"})
    assert (await gateway.put(f"/v1/people/{person}/consents/PROFILE")).status_code == 200
    await post(gateway, f"/v1/sessions/{session['id']}/attendance", {"person_id": bystander, "check_in_code": session["check_in_code"]})
    today = datetime.now(UTC).date()
    await post(gateway, "/v1/volunteer-shifts", {"person_id": person, "hub_id": session["hub_id"], "worked_on": today.isoformat(), "hours": 2.5})

    async def with_role() -> dict[str, Any] | None:
        response = await gateway.get(f"/v1/profiles/{person}")
        body = response.json() if response.status_code == 200 else None
        return body if body and body["role"] and body["role"]["role_types"] else None

    profile = await eventually(with_role, timeout=60, what="the volunteer shift in the profile")
    assert profile["role"]["role_types"] == ["VOLUNTEER"]  # the TEACH before opt-in is not there
    assert profile["role"]["contribution_hours_this_month"] == 2.5
    assert profile["role"]["reciprocity_90d"] is False
    assert len(profile["role"]["explanations"]) == 1
    belonging = profile["belonging"]
    assert belonging["category_bands"] == {"VOLUNTEER": "1-3/month"}
    assert belonging["regularity_12w"] == round(1 / 12, 4)
    assert belonging["places"] == []  # one month of history is not yet a 居場所
    assert belonging["last_participation"] in {today.isoformat(), (today + timedelta(days=1)).isoformat()}
    assert (await gateway.get(f"/v1/profiles/{bystander}")).status_code == 404


async def test_hub_mix_counts_age_bands_of_attendees(stack: Stack, gateway: httpx.AsyncClient) -> None:
    session = await upcoming_session(gateway, capacity=20)
    attendees = await people(gateway, stack, 10)  # birth years spread over several bands
    for person_id in attendees:
        await post(gateway, f"/v1/sessions/{session['id']}/attendance", {"person_id": person_id, "check_in_code": session["check_in_code"]})

    async def counted() -> dict[str, Any] | None:
        response = await gateway.get(f"/v1/hubs/{session['hub_id']}/mix")
        if response.status_code != 200:
            return None
        months = response.json()["months"]
        month = next(iter(months.values()), None)
        return month if month and month["attendances"] == 10 else None

    month = await eventually(counted, timeout=60, what="ten attendances in the hub mix")
    assert month["sessions"] == 1 and month["suppressed"] is False
    assert 0.5 < month["mix_index"] <= 1.0 and month["mixed_session_share"] == 1.0
    assert (await gateway.get("/v1/hubs/unknown-hub/mix")).status_code == 404


async def test_lapse_alert_once_for_care_staff_and_cleared_on_return(stack: Stack, gateway: httpx.AsyncClient) -> None:
    [drifted, later] = await people(gateway, stack, 2)
    today = datetime.now(UTC).date()
    for person_id, days_ago in ((drifted, 100), (later, 60)):
        assert (await gateway.put(f"/v1/people/{person_id}/consents/PROFILE")).status_code == 200
        for extra in (7, 0):  # weekly, then nothing since
            worked_on = (today - timedelta(days=days_ago + extra)).isoformat()
            await post(gateway, "/v1/volunteer-shifts", {"person_id": person_id, "worked_on": worked_on, "hours": 1})

    async def alerted(person_id: str) -> dict[str, Any] | None:
        alerts = (await gateway.get("/v1/alerts/lapses")).json()
        return next((a for a in alerts if a["person_id"] == person_id), None)

    alert = await eventually(lambda: alerted(drifted), timeout=60, what="the lapse alert")
    assert alert["days_since"] >= 100 and alert["threshold_days"] == 28
    await eventually(lambda: alerted(later), timeout=60, what="the second lapse alert")

    async def published() -> list[Any] | None:  # Redis is told first, the topic a moment later
        return [r for r in await read_topic(stack.kafka.bootstrap, ALERTS.name) if r.key == drifted.encode()] or None

    records = await eventually(published, timeout=60, what="the lapse alert on its topic")
    assert len(records) == 1, "one alert per lapse, however many checks ran since"
    assert header(records[0], "ce_sensitivity") == "S3"

    session = await upcoming_session(gateway, capacity=5)
    await post(gateway, f"/v1/sessions/{session['id']}/attendance", {"person_id": drifted, "check_in_code": session["check_in_code"]})

    async def cleared() -> bool:
        return await alerted(drifted) is None

    await eventually(cleared, timeout=60, what="the alert cleared on return")


async def test_roles_and_living_come_from_the_jobs_and_housing_pillars(stack: Stack, gateway: httpx.AsyncClient) -> None:
    from tests.e2e import test_housing, test_jobs

    [instructor, learner] = await test_jobs.people(gateway, stack, 2)
    [prospect] = await test_housing.people(gateway, stack, ["RELATIONSHIP"])
    for person_id in (instructor, prospect):
        assert (await gateway.put(f"/v1/people/{person_id}/consents/PROFILE")).status_code == 200
    seminar = await post(gateway, "/v1/seminars", {"title": "そば打ち入門", "organisation": "そば処 中沢", "instructor_person_id": instructor, "capacity": 5})
    await post(gateway, f"/v1/seminars/{seminar['id']}/enrollments", {"person_id": learner})
    today = datetime.now(UTC).date().isoformat()
    await post(gateway, f"/v1/seminars/{seminar['id']}/sessions", {"held_on": today, "hours": 2, "attendee_ids": [learner]})
    await post(gateway, "/v1/migration-cases", {"person_id": prospect, "recorded_by": "staff-kato", "origin": "13", "household_size": 2})

    async def profile_where(person_id: str, ready: Any) -> dict[str, Any] | None:
        response = await gateway.get(f"/v1/profiles/{person_id}")
        body = response.json() if response.status_code == 200 else None
        return body if body and ready(body) else None

    taught = await eventually(lambda: profile_where(instructor, lambda b: b["role"]["role_types"]), timeout=60, what="the seminar taught")
    assert taught["role"]["role_types"] == ["TEACH"] and taught["role"]["contribution_hours_this_month"] == 2.0
    moving = await eventually(lambda: profile_where(prospect, lambda b: b["living"]["journey"]), timeout=60, what="the migration case")
    assert [step["step"] for step in moving["living"]["journey"]] == ["MIGRATION_INQUIRY"]
