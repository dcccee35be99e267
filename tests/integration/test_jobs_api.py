"""The jobs service against real databases (SQLite and PostgreSQL): rules, events, sensitivity.

People are put straight into the service's replica table, as its consumer would from Kafka.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from komagane_jobs.main import MIGRATIONS, build_app
from komagane_jobs.settings import JobsSettings
from komagane_kit.clock import now, tokyo_date
from komagane_kit.db import make_engine, run_migrations
from komagane_kit.outbox import OutboxMessage
from komagane_kit.people_replica import KnownPerson
from tests.support.internal import INTERNAL_SECRET, as_gateway

PEOPLE = [f"00000000-0000-4000-8000-{i:012d}" for i in range(6)]
STRANGER = "99999999-0000-4000-8000-000000000000"
TODAY = tokyo_date(now())


def ago(days: int) -> str:
    return (TODAY - timedelta(days=days)).isoformat()


@pytest.fixture
def client(db_url: str) -> Iterator[TestClient]:
    settings = JobsSettings(database_url=db_url, kafka_bootstrap_servers="127.0.0.1:9", outbox_backoff_max_seconds=60, internal_token_secret=INTERNAL_SECRET)
    app = build_app(settings)
    with TestClient(app, headers=as_gateway()) as test_client:
        with Session(app.state.engine) as session:
            for person_id in PEOPLE:
                session.add(KnownPerson(person_id=person_id, age_band="40-64", residency_status="RESIDENT", registered_at=datetime.now(UTC)))
            session.commit()
        yield test_client


def events(client: TestClient) -> list[tuple[str, dict[str, Any], dict[str, str]]]:
    with Session(client.app.state.engine) as session:  # type: ignore[attr-defined]
        rows = session.exec(select(OutboxMessage).order_by(OutboxMessage.id)).all()  # type: ignore[arg-type]
        return [(r.event_type.split(".")[-2], json.loads(r.payload), dict(json.loads(r.headers))) for r in rows]


def emits(client: TestClient, expected: list[str], method: str, path: str, body: object = None, status: int = 201) -> dict[str, Any]:
    """Run one command and check exactly which events it added."""
    before = len(events(client))
    response = client.request(method, path, json=body)
    assert response.status_code == status, response.text
    assert [e[0] for e in events(client)[before:]] == expected
    return dict(response.json())


def emits_one(client: TestClient, event: str, method: str, path: str, body: object = None, status: int = 201) -> dict[str, Any]:
    return emits(client, [event], method, path, body, status)


def refused(client: TestClient, method: str, path: str, body: object, status: int, kind: str, field: str | None = None) -> dict[str, Any]:
    """A refused command answers problem+json, names the field, and writes and publishes nothing."""
    before = len(events(client))
    response = client.request(method, path, json=body)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = dict(response.json())
    assert problem["type"].endswith("/" + kind), problem
    if field is not None:
        assert field in [e["field"] for e in problem["errors"]], problem
    assert len(events(client)) == before
    return problem


def last_sensitivity(client: TestClient) -> str:
    return events(client)[-1][2]["ce_sensitivity"]


def opportunity(client: TestClient, arrangement: str = "PART_TIME", **extra: Any) -> dict[str, Any]:
    body = {
        "title": "カフェのホール",
        "organisation": "GOTCHA!WELLNESS 駒ケ根",
        "area": "赤穂",
        "arrangement": arrangement,
        "paid": arrangement != "VOLUNTEER",
        "weekly_slots": [{"weekday": 0, "start": "09:00", "end": "12:00"}, {"weekday": 2, "start": "09:00", "end": "12:00"}],
        "min_weekly_hours": 3,
        "skills_wanted": ["接客", "Cooking"],
        "accommodations": ["QUIET_ROOM"],
        **extra,
    }
    return emits_one(client, "opportunity-posted", "POST", "/v1/opportunities", body)


def engagement(client: TestClient, opportunity_id: str, person_id: str = PEOPLE[0], **extra: Any) -> dict[str, Any]:
    body = {"opportunity_id": opportunity_id, "person_id": person_id, "starts_on": ago(30), **extra}
    return emits_one(client, "engagement-started", "POST", "/v1/engagements", body)


def test_migration_from_empty_is_repeatable(db_url: str) -> None:
    engine = make_engine(db_url)
    run_migrations(engine, MIGRATIONS)
    run_migrations(engine, MIGRATIONS)  # already at head: nothing to do, no error
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar() == "0002"
        assert conn.exec_driver_sql("SELECT count(*) FROM seminar_enrollment").scalar() == 0
    engine.dispose()


def test_opportunities_normalise_skills_validate_and_list(client: TestClient) -> None:
    posted = opportunity(client)
    assert posted["skills_wanted"] == ["sales", "cooking"] and posted["status"] == "OPEN"
    assert events(client)[-1][1]["skills_wanted"] == ["sales", "cooking"]
    assert last_sensitivity(client) == "S0"

    paid_volunteering = {"title": "草刈り", "organisation": "中沢区", "arrangement": "VOLUNTEER", "paid": True}
    refused(client, "POST", "/v1/opportunities", paid_volunteering, 422, "validation-error", "paid")
    backwards_slot = {**paid_volunteering, "paid": False, "weekly_slots": [{"weekday": 1, "start": "12:00", "end": "09:00"}]}
    refused(client, "POST", "/v1/opportunities", backwards_slot, 422, "validation-error", "weekly_slots.0.end")
    too_many_hours = {**paid_volunteering, "paid": False, "weekly_slots": [{"weekday": 1, "start": "09:00", "end": "10:00"}], "min_weekly_hours": 2}
    refused(client, "POST", "/v1/opportunities", too_many_hours, 422, "validation-error", "min_weekly_hours")

    ids = sorted([posted["id"], opportunity(client, "WELFARE_B")["id"], opportunity(client, "VOLUNTEER")["id"]])
    first = client.get("/v1/opportunities", params={"limit": 2}).json()
    second = client.get("/v1/opportunities", params={"limit": 2, "cursor": first["next_cursor"]}).json()
    assert [o["id"] for o in first["items"] + second["items"]] == ids and second["next_cursor"] is None
    assert [o["arrangement"] for o in client.get("/v1/opportunities", params={"arrangement": "WELFARE_B"}).json()["items"]] == ["WELFARE_B"]

    closed = emits_one(client, "opportunity-closed", "POST", f"/v1/opportunities/{posted['id']}/close", {}, status=200)
    assert closed["status"] == "CLOSED" and closed["closed_on"] == TODAY.isoformat()
    refused(client, "POST", f"/v1/opportunities/{posted['id']}/close", {}, 409, "opportunity-closed")
    assert len(client.get("/v1/opportunities", params={"status": "OPEN"}).json()["items"]) == 2


def test_applications_and_decisions(client: TestClient) -> None:
    welfare = opportunity(client, "WELFARE_B")
    path = f"/v1/opportunities/{welfare['id']}/applications"
    application = emits_one(client, "application-submitted", "POST", path, {"person_id": PEOPLE[0], "message": "週2日から"})
    assert last_sensitivity(client) == "S2"  # applying for B型 work implies a disability
    refused(client, "POST", path, {"person_id": PEOPLE[0]}, 409, "already-applied")
    refused(client, "POST", path, {"person_id": STRANGER}, 422, "unknown-person", "person_id")
    refused(client, "POST", "/v1/opportunities/nope/applications", {"person_id": PEOPLE[1]}, 404, "opportunity-not-found")

    decided = emits_one(client, "application-decided", "POST", f"/v1/applications/{application['id']}/decision", {"decision": "ACCEPTED"}, status=200)
    assert decided["status"] == "ACCEPTED" and events(client)[-1][1]["decision"] == "ACCEPTED" and last_sensitivity(client) == "S2"
    refused(client, "POST", f"/v1/applications/{application['id']}/decision", {"decision": "DECLINED"}, 409, "application-decided")
    refused(client, "POST", f"/v1/applications/{application['id']}/decision", {"decision": "MAYBE"}, 422, "validation-error", "decision")

    general = opportunity(client, "GENERAL")
    emits_one(client, "application-submitted", "POST", f"/v1/opportunities/{general['id']}/applications", {"person_id": PEOPLE[1]})
    assert last_sensitivity(client) == "S1"
    emits_one(client, "opportunity-closed", "POST", f"/v1/opportunities/{general['id']}/close", {}, status=200)
    refused(client, "POST", f"/v1/opportunities/{general['id']}/applications", {"person_id": PEOPLE[2]}, 409, "opportunity-closed")


def test_engagement_needs_a_known_person_an_open_opportunity_and_an_accepted_application(client: TestClient) -> None:
    open_one = opportunity(client)
    refused(
        client, "POST", "/v1/engagements", {"opportunity_id": open_one["id"], "person_id": STRANGER, "starts_on": ago(1)}, 422, "unknown-person", "person_id"
    )
    refused(
        client, "POST", "/v1/engagements", {"opportunity_id": "nope", "person_id": PEOPLE[0], "starts_on": ago(1)}, 422, "validation-error", "opportunity_id"
    )
    backwards = {"opportunity_id": open_one["id"], "person_id": PEOPLE[0], "starts_on": ago(1), "ends_on": ago(2)}
    refused(client, "POST", "/v1/engagements", backwards, 422, "validation-error", "ends_on")

    application = emits_one(client, "application-submitted", "POST", f"/v1/opportunities/{open_one['id']}/applications", {"person_id": PEOPLE[0]})
    pending = {"opportunity_id": open_one["id"], "person_id": PEOPLE[0], "starts_on": ago(1), "application_id": application["id"]}
    refused(client, "POST", "/v1/engagements", pending, 409, "application-not-accepted")
    refused(client, "POST", "/v1/engagements", {**pending, "person_id": PEOPLE[1]}, 422, "validation-error", "application_id")
    emits_one(client, "application-decided", "POST", f"/v1/applications/{application['id']}/decision", {"decision": "ACCEPTED"}, status=200)
    started = engagement(client, open_one["id"], application_id=application["id"])
    assert (started["status"], started["arrangement"], started["paid"]) == ("ACTIVE", "PART_TIME", True)
    assert last_sensitivity(client) == "S1"
    refused(client, "POST", "/v1/engagements", {**pending, "starts_on": ago(0)}, 409, "already-engaged")

    emits_one(client, "opportunity-closed", "POST", f"/v1/opportunities/{open_one['id']}/close", {}, status=200)
    refused(client, "POST", "/v1/engagements", {"opportunity_id": open_one["id"], "person_id": PEOPLE[2], "starts_on": ago(1)}, 409, "opportunity-closed")
    assert [e["id"] for e in client.get("/v1/engagements", params={"person_id": PEOPLE[0]}).json()["items"]] == [started["id"]]


def test_shifts_stay_within_the_engagement_and_a_day_has_24_hours(client: TestClient) -> None:
    first = engagement(client, opportunity(client)["id"], ends_on=ago(5))
    second = engagement(client, opportunity(client, "WELFARE_A")["id"], starts_on=ago(60))
    shifts = f"/v1/engagements/{first['id']}/shifts"
    refused(client, "POST", shifts, {"worked_on": ago(31), "hours": 3}, 422, "validation-error", "worked_on")  # before it started
    refused(client, "POST", shifts, {"worked_on": ago(4), "hours": 3}, 422, "validation-error", "worked_on")  # after its planned end
    refused(client, "POST", shifts, {"worked_on": ago(10), "hours": 25}, 422, "validation-error", "hours")
    refused(
        client, "POST", f"/v1/engagements/{second['id']}/shifts", {"worked_on": (TODAY + timedelta(days=1)).isoformat(), "hours": 1}, 422, "validation-error"
    )
    refused(client, "POST", "/v1/engagements/nope/shifts", {"worked_on": ago(10), "hours": 1}, 404, "engagement-not-found")

    shift = emits_one(client, "shift-worked", "POST", shifts, {"worked_on": ago(10), "hours": 16})
    assert shift["hours"] == 16 and last_sensitivity(client) == "S1"
    # The same person's other engagement shares the day's 24 hours.
    problem = refused(client, "POST", f"/v1/engagements/{second['id']}/shifts", {"worked_on": ago(10), "hours": 8.5}, 422, "validation-error", "hours")
    assert "16" in problem["detail"]
    emits_one(client, "shift-worked", "POST", f"/v1/engagements/{second['id']}/shifts", {"worked_on": ago(10), "hours": 8})
    assert last_sensitivity(client) == "S2" and events(client)[-1][1]["arrangement"] == "WELFARE_A"


def test_steps_up_the_ladder_backwards_only_with_a_reason_and_ending_once(client: TestClient) -> None:
    started = engagement(client, opportunity(client, "WELFARE_B")["id"])
    steps, end = f"/v1/engagements/{started['id']}/steps", f"/v1/engagements/{started['id']}/end"
    emits_one(client, "shift-worked", "POST", f"/v1/engagements/{started['id']}/shifts", {"worked_on": ago(25), "hours": 4})

    stepped = emits_one(client, "arrangement-stepped", "POST", steps, {"to_arrangement": "WELFARE_A", "stepped_on": ago(20)}, status=200)
    assert stepped["arrangement"] == "WELFARE_A" and last_sensitivity(client) == "S2"
    assert events(client)[-1][1] | {"person_id": None} == {
        "person_id": None,
        "engagement_id": started["id"],
        "from_arrangement": "WELFARE_B",
        "to_arrangement": "WELFARE_A",
        "stepped_on": ago(20),
        "backwards": False,
    }
    refused(client, "POST", steps, {"to_arrangement": "WELFARE_A", "stepped_on": ago(19)}, 422, "validation-error", "to_arrangement")
    refused(client, "POST", steps, {"to_arrangement": "WELFARE_B", "stepped_on": ago(15)}, 422, "validation-error", "reason")
    refused(client, "POST", steps, {"to_arrangement": "GENERAL", "stepped_on": ago(21)}, 422, "validation-error", "stepped_on")  # before the last step
    refused(client, "POST", steps, {"to_arrangement": "VOLUNTEER", "stepped_on": ago(15)}, 422, "validation-error", "to_arrangement")
    emits_one(client, "arrangement-stepped", "POST", steps, {"to_arrangement": "WELFARE_B", "stepped_on": ago(15), "reason": "体調に合わせて"}, status=200)
    assert events(client)[-1][1]["backwards"] is True
    emits_one(client, "arrangement-stepped", "POST", steps, {"to_arrangement": "GENERAL", "stepped_on": ago(10)}, status=200)
    assert last_sensitivity(client) == "S2"  # stepping out of welfare work still reveals it

    # A shift recorded late carries the arrangement of its own day, and its sensitivity.
    emits_one(client, "shift-worked", "POST", f"/v1/engagements/{started['id']}/shifts", {"worked_on": ago(12), "hours": 4})
    assert events(client)[-1][1]["arrangement"] == "WELFARE_B" and last_sensitivity(client) == "S2"
    emits_one(client, "shift-worked", "POST", f"/v1/engagements/{started['id']}/shifts", {"worked_on": ago(8), "hours": 4})
    assert events(client)[-1][1]["arrangement"] == "GENERAL" and last_sensitivity(client) == "S1"

    refused(client, "POST", end, {"ended_on": ago(9), "reason": "MOVED_ON"}, 422, "validation-error", "ended_on")  # before the last shift
    refused(client, "POST", end, {"ended_on": ago(5), "reason": "BORED"}, 422, "validation-error", "reason")
    ended = emits_one(client, "engagement-ended", "POST", end, {"ended_on": ago(5), "reason": "MOVED_ON"}, status=200)
    assert (ended["status"], ended["ended_on"], ended["end_reason"]) == ("ENDED", ago(5), "MOVED_ON")
    refused(client, "POST", end, {"ended_on": ago(4), "reason": "COMPLETED"}, 409, "engagement-ended")
    refused(client, "POST", steps, {"to_arrangement": "PART_TIME", "stepped_on": ago(4), "reason": "x"}, 409, "engagement-ended")
    refused(client, "POST", f"/v1/engagements/{started['id']}/shifts", {"worked_on": ago(4), "hours": 2}, 422, "validation-error", "worked_on")
    emits_one(client, "shift-worked", "POST", f"/v1/engagements/{started['id']}/shifts", {"worked_on": ago(6), "hours": 2})  # late, but in range


def test_volunteering_has_no_ladder(client: TestClient) -> None:
    started = engagement(client, opportunity(client, "VOLUNTEER")["id"])
    refused(client, "POST", f"/v1/engagements/{started['id']}/steps", {"to_arrangement": "GENERAL", "stepped_on": ago(1)}, 409, "not-on-ladder")


def test_skills_are_normalised_and_accessibility_needs_stay_in_the_service(client: TestClient) -> None:
    body = {
        "skills": ["料理", " ＣＯＯＫＩＮＧ ", "接客", "そば打ち"],
        "languages": ["ja", "pt-BR"],
        "availability": [{"weekday": 0, "start": "09:00", "end": "12:00"}, {"weekday": 0, "start": "11:00", "end": "13:00"}],
        "accessibility_needs": ["WHEELCHAIR_ACCESS"],
        "area": "赤穂",
    }
    declared = emits_one(client, "skill-declared", "PUT", f"/v1/people/{PEOPLE[0]}/skills", body, status=200)
    assert declared["skills"] == ["cooking", "sales", "そば打ち"] and declared["weekly_available_hours"] == 4.0
    _, payload, headers = events(client)[-1]
    assert payload == {"person_id": PEOPLE[0], "skills": ["cooking", "sales", "そば打ち"], "languages": ["ja", "pt-BR"], "weekly_available_hours": 4.0}
    assert headers["ce_sensitivity"] == "S1"
    assert client.get(f"/v1/people/{PEOPLE[0]}/skills").json()["accessibility_needs"] == ["WHEELCHAIR_ACCESS"]
    refused(client, "PUT", f"/v1/people/{STRANGER}/skills", body, 404, "person-not-found")
    refused(client, "PUT", f"/v1/people/{PEOPLE[0]}/skills", {**body, "languages": ["日本語"]}, 422, "validation-error", "languages")
    refused(client, "GET", f"/v1/people/{PEOPLE[1]}/matches", None, 404, "skills-not-declared")


def test_matches_rank_open_opportunities_with_reasons_and_proposals_are_recorded(client: TestClient) -> None:
    slot = [{"weekday": 0, "start": "09:00", "end": "12:00"}]
    skills = {"skills": ["料理"], "languages": ["ja"], "availability": slot, "accessibility_needs": ["WHEELCHAIR_ACCESS"], "area": "赤穂"}
    emits_one(client, "skill-declared", "PUT", f"/v1/people/{PEOPLE[0]}/skills", skills, status=200)
    common = {"weekly_slots": slot, "min_weekly_hours": 3, "languages": ["ja"]}
    best = opportunity(client, "WELFARE_A", skills_wanted=["調理"], accommodations=["WHEELCHAIR_ACCESS"], **common)
    middle = opportunity(client, "PART_TIME", skills_wanted=["調理", "運転"], accommodations=["WHEELCHAIR_ACCESS"], area="東伊那", **common)
    worst = opportunity(client, "GENERAL", skills_wanted=["IT"], accommodations=[], area="中沢", **common)
    closed = opportunity(client, "GENERAL", skills_wanted=["料理"], accommodations=["WHEELCHAIR_ACCESS"], **common)
    emits_one(client, "opportunity-closed", "POST", f"/v1/opportunities/{closed['id']}/close", {}, status=200)

    ranked = client.get(f"/v1/people/{PEOPLE[0]}/matches").json()
    assert [m["opportunity_id"] for m in ranked["items"]] == [best["id"], middle["id"], worst["id"]]
    assert [m["score"] for m in ranked["items"]] == [100.0, 78.5, 38.0]
    reasons = {c["name"]: c["reason"] for c in ranked["items"][1]["components"]}
    assert reasons["skills"] == "has 1 of 2 wanted skills: cooking; not: driving"
    assert reasons["distance"] == "東伊那 is 1 area border from 赤穂"
    page = client.get(f"/v1/people/{PEOPLE[0]}/matches", params={"limit": 2}).json()
    rest = client.get(f"/v1/people/{PEOPLE[0]}/matches", params={"limit": 2, "cursor": page["next_cursor"]}).json()
    assert [m["opportunity_id"] for m in page["items"] + rest["items"]] == [best["id"], middle["id"], worst["id"]] and rest["next_cursor"] is None
    only = client.get(f"/v1/people/{PEOPLE[0]}/matches", params={"arrangement": ["GENERAL", "PART_TIME"]}).json()
    assert [m["opportunity_id"] for m in only["items"]] == [middle["id"], worst["id"]]

    proposal = emits_one(client, "match-proposed", "POST", f"/v1/people/{PEOPLE[0]}/matches", {"opportunity_id": best["id"], "staff_id": "staff-kato"})
    assert proposal["score"] == 100.0 and events(client)[-1][1]["score"] == 100.0 and last_sensitivity(client) == "S2"
    refused(client, "POST", f"/v1/people/{PEOPLE[0]}/matches", {"opportunity_id": closed["id"], "staff_id": "staff-kato"}, 409, "opportunity-closed")
    refused(client, "POST", f"/v1/people/{PEOPLE[0]}/matches", {"opportunity_id": "nope", "staff_id": "s"}, 422, "validation-error", "opportunity_id")


def test_seminar_capacity_waitlist_and_holding_a_session(client: TestClient) -> None:
    instructor = PEOPLE[5]
    body = {"title": "はじめての珈琲焙煎", "organisation": "駒ヶ根珈琲店", "instructor_person_id": instructor, "area": "赤穂", "capacity": 2}
    refused(client, "POST", "/v1/seminars", {**body, "instructor_person_id": STRANGER}, 422, "unknown-person", "instructor_person_id")
    seminar = emits_one(client, "seminar-course-registered", "POST", "/v1/seminars", body)
    assert last_sensitivity(client) == "S0" and instructor not in json.dumps(events(client)[-1][1])
    path = f"/v1/seminars/{seminar['id']}/enrollments"
    outcomes = [emits_one(client, "seminar-enrolled", "POST", path, {"person_id": p}) for p in PEOPLE[:4]]
    assert [(o["status"], o["waitlist_position"]) for o in outcomes] == [("ENROLLED", None), ("ENROLLED", None), ("WAITLISTED", 1), ("WAITLISTED", 2)]
    refused(client, "POST", path, {"person_id": PEOPLE[0]}, 409, "already-enrolled")
    refused(client, "POST", path, {"person_id": instructor}, 409, "instructor-cannot-enroll")
    refused(client, "POST", path, {"person_id": STRANGER}, 422, "unknown-person")
    assert client.get(f"/v1/seminars/{seminar['id']}").json()["enrolled_count"] == 2
    assert [e["waitlist_position"] for e in client.get(path).json()] == [None, None, 1, 2]

    sessions = f"/v1/seminars/{seminar['id']}/sessions"
    refused(client, "POST", sessions, {"held_on": ago(0), "hours": 1.5, "attendee_ids": [PEOPLE[0], STRANGER]}, 422, "unknown-person", "attendee_ids.1")
    refused(client, "POST", sessions, {"held_on": ago(0), "hours": 1.5, "attendee_ids": [instructor]}, 422, "validation-error", "attendee_ids.0")
    refused(client, "POST", sessions, {"held_on": ago(-1), "hours": 1.5, "attendee_ids": []}, 422, "validation-error", "held_on")
    refused(client, "POST", sessions, {"held_on": ago(0), "hours": 1.5, "attendee_ids": [PEOPLE[0], PEOPLE[0]]}, 422, "validation-error", "attendee_ids")
    held = emits(
        client,
        ["seminar-held", "seminar-taught", "seminar-attended", "seminar-attended"],
        "POST",
        sessions,
        {"held_on": ago(0), "hours": 1.5, "attendee_ids": PEOPLE[:2]},
    )
    assert held["instructor_person_id"] == instructor and held["attendee_ids"] == PEOPLE[:2]
    published = events(client)[-4:]
    assert [e[2].get("ce_subject") for e in published] == [seminar["id"], instructor, PEOPLE[0], PEOPLE[1]]
    assert published[0][1]["attendees"] == 2 and published[1][1]["hours"] == 1.5
    assert [e[2]["ce_sensitivity"] for e in published] == ["S0", "S1", "S1", "S1"]


def test_cooperator_term_commissioned_and_completed_once(client: TestClient) -> None:
    body = {"person_id": PEOPLE[0], "mission": "空き家活用", "area": "赤穂", "term_starts_on": ago(700), "term_ends_on": ago(-300)}
    refused(client, "POST", "/v1/cooperators", {**body, "term_ends_on": ago(-500)}, 422, "validation-error", "term_ends_on")  # over three years
    refused(client, "POST", "/v1/cooperators", {**body, "person_id": STRANGER}, 422, "unknown-person", "person_id")
    cooperator = emits_one(client, "cooperator-commissioned", "POST", "/v1/cooperators", body)
    assert events(client)[-1][2]["ce_controller"] == "city"
    refused(client, "POST", "/v1/cooperators", body, 409, "already-commissioned")
    completion = f"/v1/cooperators/{cooperator['id']}/completion"
    refused(client, "POST", completion, {"completed_on": ago(-1), "settled": True, "started_business": False}, 422, "validation-error", "completed_on")
    done = emits_one(client, "cooperator-term-completed", "POST", completion, {"completed_on": ago(0), "settled": True, "started_business": True}, status=200)
    assert (done["status"], done["settled"], done["started_business"]) == ("COMPLETED", True, True)
    refused(client, "POST", completion, {"completed_on": ago(0), "settled": False, "started_business": False}, 409, "term-completed")
    assert [c["id"] for c in client.get("/v1/cooperators", params={"status": "COMPLETED"}).json()["items"]] == [cooperator["id"]]


def test_idempotency_key_replays_a_command(client: TestClient) -> None:
    body = {"title": "農作業", "organisation": "JA上伊那", "arrangement": "SHORT_TIME", "paid": True}
    first = client.post("/v1/opportunities", json=body, headers={"Idempotency-Key": "jobs-1"})
    again = client.post("/v1/opportunities", json=body, headers={"Idempotency-Key": "jobs-1"})
    assert first.status_code == again.status_code == 201 and again.json() == first.json()
    assert [e[0] for e in events(client)] == ["opportunity-posted"]
