"""The jobs service in the running platform: events on Kafka, and seminar capacity under concurrency."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from typing import Any

import httpx
from jsonschema import Draft202012Validator

from komagane_contracts.schemas import published, schema_filename
from komagane_contracts.topics import JOBS
from komagane_devstack.stack import Stack
from komagane_kit.clock import now, tokyo_date
from tests.support.kafka import header, read_topic
from tests.support.platform import register_people
from tests.support.waiting import eventually


async def people(gateway: httpx.AsyncClient, stack: Stack, count: int) -> list[str]:
    """Register people and wait until the jobs service's replica knows them all."""
    years = [1940 + (i * 11) % 70 for i in range(count)]
    return await register_people(gateway, stack, known_to="jobs", count=count, birth_years=years, name="働き手")


async def call(gateway: httpx.AsyncClient, method: str, path: str, body: dict[str, Any], status: int = 201) -> dict[str, Any]:
    response = await gateway.request(method, path, json=body)
    assert response.status_code == status, response.text
    return dict(response.json())


def ago(days: int) -> str:
    return (tokyo_date(now()) - timedelta(days=days)).isoformat()


async def test_thirty_simultaneous_enrollments_for_eight_seats(stack: Stack, gateway: httpx.AsyncClient) -> None:
    [instructor, *learners] = await people(gateway, stack, 31)
    seminar = await call(
        gateway, "POST", "/v1/seminars", {"title": "信州味噌づくり", "organisation": "駒ヶ根の味噌蔵", "instructor_person_id": instructor, "capacity": 8}
    )
    path = f"/v1/seminars/{seminar['id']}/enrollments"
    responses = await asyncio.gather(*(gateway.post(path, json={"person_id": p}) for p in learners))

    assert [r.status_code for r in responses] == [201] * 30
    outcomes = [r.json() for r in responses]
    assert sum(o["status"] == "ENROLLED" for o in outcomes) == 8
    assert sorted(o["waitlist_position"] for o in outcomes if o["status"] == "WAITLISTED") == list(range(1, 23))
    assert (await gateway.get(f"/v1/seminars/{seminar['id']}")).json()["enrolled_count"] == 8
    listed = (await gateway.get(path)).json()
    assert [e["status"] for e in listed] == ["ENROLLED"] * 8 + ["WAITLISTED"] * 22


async def test_every_command_publishes_its_events_with_the_right_sensitivity(stack: Stack, gateway: httpx.AsyncClient) -> None:
    [worker, learner, instructor, cooperator_person] = await people(gateway, stack, 4)
    slot = [{"weekday": 1, "start": "09:00", "end": "15:00"}]
    welfare = await call(
        gateway,
        "POST",
        "/v1/opportunities",
        {
            "title": "軽作業",
            "organisation": "JOCA 駒ヶ根",
            "area": "赤穂",
            "arrangement": "WELFARE_B",
            "paid": True,
            "weekly_slots": slot,
            "skills_wanted": ["検品"],
        },
    )
    application = await call(gateway, "POST", f"/v1/opportunities/{welfare['id']}/applications", {"person_id": worker})
    await call(gateway, "POST", f"/v1/applications/{application['id']}/decision", {"decision": "ACCEPTED"}, status=200)
    skills = {"skills": ["軽作業"], "availability": slot, "accessibility_needs": ["QUIET_ROOM"], "area": "赤穂"}
    await call(gateway, "PUT", f"/v1/people/{worker}/skills", skills, status=200)
    matches = (await gateway.get(f"/v1/people/{worker}/matches", params={"arrangement": "WELFARE_B"})).json()["items"]
    assert matches[0]["opportunity_id"] == welfare["id"] and matches[0]["components"][0]["reason"] == "has 1 of 1 wanted skills: light assembly"
    await call(gateway, "POST", f"/v1/people/{worker}/matches", {"opportunity_id": welfare["id"], "staff_id": "staff-ito"})
    engagement = await call(
        gateway, "POST", "/v1/engagements", {"opportunity_id": welfare["id"], "person_id": worker, "application_id": application["id"], "starts_on": ago(20)}
    )
    engagement_path = f"/v1/engagements/{engagement['id']}"
    await call(gateway, "POST", f"{engagement_path}/shifts", {"worked_on": ago(14), "hours": 5})
    await call(gateway, "POST", f"{engagement_path}/steps", {"to_arrangement": "WELFARE_A", "stepped_on": ago(7)}, status=200)
    await call(gateway, "POST", f"{engagement_path}/end", {"ended_on": ago(1), "reason": "COMPLETED"}, status=200)
    refused = await gateway.post(f"{engagement_path}/end", json={"ended_on": ago(0), "reason": "COMPLETED"})
    assert refused.status_code == 409 and refused.headers["content-type"] == "application/problem+json"
    await call(gateway, "POST", f"/v1/opportunities/{welfare['id']}/close", {}, status=200)

    seminar = await call(
        gateway, "POST", "/v1/seminars", {"title": "そば打ち入門", "organisation": "そば処 中沢", "instructor_person_id": instructor, "capacity": 5}
    )
    await call(gateway, "POST", f"/v1/seminars/{seminar['id']}/enrollments", {"person_id": learner})
    await call(gateway, "POST", f"/v1/seminars/{seminar['id']}/sessions", {"held_on": ago(0), "hours": 2, "attendee_ids": [learner]})
    cooperator = await call(
        gateway,
        "POST",
        "/v1/cooperators",
        {"person_id": cooperator_person, "mission": "空き家活用", "term_starts_on": ago(400), "term_ends_on": ago(-300)},
    )
    await call(
        gateway, "POST", f"/v1/cooperators/{cooperator['id']}/completion", {"completed_on": ago(0), "settled": True, "started_business": False}, status=200
    )

    expected = {
        ("opportunity-posted", welfare["id"], "S0"),
        ("application-submitted", worker, "S2"),
        ("application-decided", worker, "S2"),
        ("skill-declared", worker, "S1"),
        ("match-proposed", worker, "S2"),
        ("engagement-started", worker, "S2"),
        ("shift-worked", worker, "S2"),
        ("arrangement-stepped", worker, "S2"),
        ("engagement-ended", worker, "S2"),
        ("opportunity-closed", welfare["id"], "S0"),
        ("seminar-course-registered", seminar["id"], "S0"),
        ("seminar-enrolled", learner, "S1"),
        ("seminar-held", seminar["id"], "S0"),
        ("seminar-taught", instructor, "S1"),
        ("seminar-attended", learner, "S1"),
        ("cooperator-commissioned", cooperator_person, "S1"),
        ("cooperator-term-completed", cooperator_person, "S1"),
    }
    subjects = {subject for _, subject, _ in expected}

    async def mine() -> list[Any] | None:
        records = [r for r in await read_topic(stack.kafka.bootstrap, JOBS.name) if r.key and r.key.decode() in subjects]
        return records if len(records) >= len(expected) else None

    records = await eventually(mine, timeout=60, what="the jobs events")
    seen = [(str(header(r, "ce_type")).split(".")[-2], r.key.decode(), str(header(r, "ce_sensitivity"))) for r in records]
    assert sorted(seen) == sorted(expected), "exactly one event per command (three for a held seminar session)"
    for record in records:
        event_type = str(header(record, "ce_type"))
        assert header(record, "ce_specversion") == "1.0" and header(record, "ce_source") == "/komagane/jobs"
        assert header(record, "ce_subject") == record.key.decode() and header(record, "traceparent")
        schema = published(schema_filename(event_type))
        assert schema is not None, event_type
        body = json.loads(record.value)
        assert list(Draft202012Validator(schema).iter_errors(body)) == [], event_type
        # Welfare arrangements raise a person-level event above its type's default, never lower.
        assert str(header(record, "ce_sensitivity")) >= schema["x-sensitivity"]
        assert "QUIET_ROOM" not in record.value.decode()  # accessibility needs never leave the service


async def test_simultaneous_shifts_share_one_day_and_a_decision_is_made_once(stack: Stack, gateway: httpx.AsyncClient) -> None:
    [worker] = await people(gateway, stack, 1)
    engagements = []
    for title in ("朝の清掃", "カフェ"):
        posted = await call(gateway, "POST", "/v1/opportunities", {"title": title, "organisation": "ぱとな", "arrangement": "SHORT_TIME", "paid": True})
        engagements.append(await call(gateway, "POST", "/v1/engagements", {"opportunity_id": posted["id"], "person_id": worker, "starts_on": ago(10)}))
    shifts = [gateway.post(f"/v1/engagements/{engagements[i % 2]['id']}/shifts", json={"worked_on": ago(3), "hours": 5}) for i in range(7)]
    responses = await asyncio.gather(*shifts)
    assert sorted(r.status_code for r in responses) == [201] * 4 + [422] * 3  # 20 h fit in the day, a fifth 5 h shift does not

    application = await call(gateway, "POST", f"/v1/opportunities/{posted['id']}/applications", {"person_id": worker})
    path = f"/v1/applications/{application['id']}/decision"
    decisions = await asyncio.gather(*(gateway.post(path, json={"decision": d}) for d in ("ACCEPTED", "DECLINED", "ACCEPTED")))
    assert sorted(r.status_code for r in decisions) == [200, 409, 409]
