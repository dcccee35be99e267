"""The health service against real databases (SQLite and PostgreSQL): consent gate, batch ingest,
audit, programmes and points.

People and HEALTH consent are put straight into the service's replica tables, as its consumer
would from Kafka; the consumer's handler is called directly for consent withdrawal.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session, func, select

from komagane_contracts.envelope import CloudEvent
from komagane_contracts.events.people import ConsentGranted, ConsentWithdrawn, PersonErased, PersonRegistered
from komagane_contracts.vocabulary import AgeBand, ResidencyStatus
from komagane_health.audit import AuditEntry
from komagane_health.consent import HealthConsent, replicate_people_and_consent
from komagane_health.main import MIGRATIONS, build_app
from komagane_health.models import DailyActivity, Measurement
from komagane_health.settings import HealthSettings
from komagane_kit.clock import now, tokyo_date
from komagane_kit.db import make_engine, run_migrations, transaction
from komagane_kit.outbox import OutboxMessage
from komagane_kit.people_replica import KnownPerson
from tests.support.internal import INTERNAL_SECRET, as_gateway

PEOPLE = [f"00000000-0000-4000-8000-{i:012d}" for i in range(8)]
CONSENTING = PEOPLE[:6]  # PEOPLE[6] and PEOPLE[7] are registered without HEALTH consent
STRANGER = "99999999-0000-4000-8000-000000000000"
STAFF = {"X-Actor": "staff-kimura", "X-Actor-Role": "physiotherapist"}
CARE = {"X-Actor": "care-sato", "X-Actor-Role": "care"}
INTERNAL, PUBLIC = "health.internal.v1", "health.v1"


@pytest.fixture
def client(db_url: str) -> Iterator[TestClient]:
    settings = HealthSettings(database_url=db_url, kafka_bootstrap_servers="127.0.0.1:9", outbox_backoff_max_seconds=60, internal_token_secret=INTERNAL_SECRET)
    app = build_app(settings)
    with TestClient(app, headers=as_gateway()) as test_client:
        with Session(app.state.engine) as session:
            for person_id in PEOPLE:
                session.add(KnownPerson(person_id=person_id, age_band="65-74", residency_status="RESIDENT", registered_at=datetime.now(UTC)))
            for person_id in CONSENTING:
                session.add(HealthConsent(person_id=person_id, granted=True, changed_at=datetime.now(UTC)))
            session.commit()
        yield test_client


def events(client: TestClient) -> list[tuple[str, str, dict[str, Any], dict[str, str]]]:
    """(kind, topic, body, headers) of every outbox row, oldest first."""
    with Session(client.app.state.engine) as session:  # type: ignore[attr-defined]
        rows = session.exec(select(OutboxMessage).order_by(OutboxMessage.id)).all()  # type: ignore[arg-type]
        return [(r.event_type.split(".")[-2], r.topic, json.loads(r.payload), dict(json.loads(r.headers))) for r in rows]


def count(client: TestClient, model: type[Any]) -> int:
    with Session(client.app.state.engine) as session:  # type: ignore[attr-defined]
        return int(session.exec(select(func.count()).select_from(model)).one())


def emits_one(client: TestClient, event: str, method: str, path: str, body: object = None, status: int = 201) -> dict[str, Any]:
    before = len(events(client))
    response = client.request(method, path, json=body)
    assert response.status_code == status, response.text
    assert [e[0] for e in events(client)[before:]] == [event]
    return dict(response.json())


def refused(client: TestClient, method: str, path: str, body: object, status: int, kind: str, **kwargs: Any) -> dict[str, Any]:
    """A refused request answers problem+json and writes and publishes nothing."""
    before = len(events(client))
    response = client.request(method, path, json=body, **kwargs)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = dict(response.json())
    assert problem["type"].endswith("/" + kind), problem
    assert len(events(client)) == before
    return problem


def days_ago(n: int) -> str:
    return (tokyo_date(now()) - timedelta(days=n)).isoformat()


def weight(person_id: str, kg: float = 61.4) -> dict[str, Any]:
    return {"person_id": person_id, "kind": "WEIGHT", "measured_at": "2026-01-10T09:30:00", "weight_kg": kg, "recorded_by": "staff-kimura"}


def consent_event(body: ConsentGranted | ConsentWithdrawn | PersonRegistered) -> CloudEvent:
    return CloudEvent.of(body)


def handle(client: TestClient, event: CloudEvent) -> None:
    """What the service's people-topic consumer does with one message."""
    with transaction(client.app.state.engine) as session:  # type: ignore[attr-defined]
        replicate_people_and_consent(event, session)


def test_migration_from_empty_is_repeatable(db_url: str) -> None:
    engine = make_engine(db_url)
    run_migrations(engine, MIGRATIONS)
    run_migrations(engine, MIGRATIONS)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar() == "0002"
    engine.dispose()


# -- consent ---------------------------------------------------------------------------------
def test_s2_intake_needs_health_consent(client: TestClient) -> None:
    recorded = emits_one(client, "measurement-recorded", "POST", "/v1/health/measurements", weight(PEOPLE[0]))
    assert recorded["measured_at"] == "2026-01-10T09:30:00+09:00"
    _, topic, body, headers = events(client)[-1]
    assert (topic, headers["ce_sensitivity"], body["weight_kg"]) == (INTERNAL, "S2", 61.4)

    problem = refused(client, "POST", "/v1/health/measurements", weight(PEOPLE[6]), 403, "health-consent-required")
    assert problem["errors"][0]["field"] == "person_id"
    refused(client, "POST", "/v1/health/measurements", weight(STRANGER), 422, "unknown-person")
    bad = {**weight(PEOPLE[0]), "kind": "BLOOD_PRESSURE"}  # blood pressure without its values
    refused(client, "POST", "/v1/health/measurements", bad, 422, "validation-error")
    assert count(client, Measurement) == 1


def test_consent_from_the_people_topic_and_withdrawal_stops_intake_at_once(client: TestClient) -> None:
    newcomer = "11111111-0000-4000-8000-000000000000"
    handle(
        client,
        consent_event(
            PersonRegistered(
                person_id=newcomer,
                age_band=AgeBand.SENIOR_75_PLUS,
                residency_status=ResidencyStatus.RESIDENT,
                preferred_language="ja",
                lives_alone=True,
                registered_at=datetime.now(UTC),
            )
        ),
    )
    refused(client, "POST", "/v1/health/measurements", weight(newcomer), 403, "health-consent-required")
    handle(client, consent_event(ConsentGranted(person_id=newcomer, purpose="PROFILE", granted_at=datetime.now(UTC))))  # another purpose
    refused(client, "POST", "/v1/health/measurements", weight(newcomer), 403, "health-consent-required")
    handle(client, consent_event(ConsentGranted(person_id=newcomer, purpose="HEALTH", granted_at=datetime.now(UTC))))
    emits_one(client, "measurement-recorded", "POST", "/v1/health/measurements", weight(newcomer))

    withdrawal = consent_event(ConsentWithdrawn(person_id=newcomer, purpose="HEALTH", withdrawn_at=datetime.now(UTC)))
    before = len(events(client))
    handle(client, withdrawal)
    announced = events(client)[before:]
    assert [(e[0], e[1], e[2]["person_id"]) for e in announced] == [("health-data-consent-withdrawn", PUBLIC, newcomer)]
    handle(client, consent_event(ConsentWithdrawn(person_id=newcomer, purpose="HEALTH", withdrawn_at=datetime.now(UTC))))
    assert len(events(client)) == before + 1, "only a real change is announced"

    refused(client, "POST", "/v1/health/measurements", weight(newcomer), 403, "health-consent-required")
    report = client.post("/v1/health/daily-activity", json={"rows": [{"person_id": newcomer, "day": days_ago(1), "steps": 4000}]})
    assert report.status_code == 422 and report.json()["errors"][0]["message"].startswith("no HEALTH consent")


# -- daily activity --------------------------------------------------------------------------
def test_batch_with_good_and_bad_rows_stores_the_good_ones_and_reports_the_rest(client: TestClient) -> None:
    tomorrow = (tokyo_date(now()) + timedelta(days=1)).isoformat()
    rows: list[Any] = [
        {"person_id": PEOPLE[0], "day": days_ago(1), "steps": 9120, "brisk_walk_minutes": 35},  # 1 good, reaches the goal
        {"person_id": PEOPLE[0], "day": days_ago(2), "steps": -5, "brisk_walk_minutes": 0},  # 2 negative
        {"person_id": PEOPLE[1], "day": days_ago(1), "steps": 100_001},  # 3 impossible
        {"person_id": PEOPLE[1], "day": tomorrow, "steps": 3000},  # 4 future
        {"person_id": STRANGER, "day": days_ago(1), "steps": 3000},  # 5 unknown person
        {"person_id": PEOPLE[6], "day": days_ago(1), "steps": 3000},  # 6 no HEALTH consent
        {"person_id": PEOPLE[1], "day": days_ago(3), "steps": 4200},  # 7 good
        {"person_id": PEOPLE[0], "day": days_ago(1), "steps": 100},  # 8 duplicate of row 1
        "not a row",  # 9
        {"person_id": PEOPLE[2], "day": "yesterday", "steps": 10},  # 10 not a date
    ]
    response = client.post("/v1/health/daily-activity", json={"rows": rows})
    assert response.status_code == 200, response.text
    report = response.json()
    assert (report["received"], report["stored"], report["rejected"], report["points_awarded"]) == (10, 2, 8, 1)
    assert [(e["row"], e["field"]) for e in report["errors"]] == [
        (2, "steps"), (3, "steps"), (4, "day"), (5, "person_id"), (6, "person_id"), (8, "day"), (9, "row"), (10, "day"),
    ]  # fmt: skip
    assert count(client, DailyActivity) == 2
    published = events(client)
    assert sorted(e[0] for e in published) == ["daily-activity-summarized", "daily-activity-summarized", "health-points-awarded"]
    assert {e[1] for e in published if e[0] == "daily-activity-summarized"} == {INTERNAL}
    award = next(e for e in published if e[0] == "health-points-awarded")
    assert award[1] == PUBLIC and "steps" not in award[2] and award[2]["awarded_for"] == days_ago(1)


def test_re_sending_replaces_and_never_double_counts(client: TestClient) -> None:
    batch = {"rows": [{"person_id": p, "day": days_ago(d), "steps": 8000 + d, "brisk_walk_minutes": 20} for p in CONSENTING[:3] for d in range(1, 5)]}
    first = client.post("/v1/health/daily-activity", json=batch).json()
    assert (first["stored"], first["points_awarded"]) == (12, 12)
    published = len(events(client))

    again = client.post("/v1/health/daily-activity", json=batch).json()
    assert (again["stored"], again["unchanged"], again["points_awarded"]) == (0, 12, 0)
    assert len(events(client)) == published, "an identical re-send publishes nothing"
    assert client.get(f"/v1/health/people/{CONSENTING[0]}/points").json()["balance"] == 4 * 10

    corrected = {"rows": [{"person_id": CONSENTING[0], "day": days_ago(1), "steps": 12_345, "brisk_walk_minutes": 50}]}
    report = client.post("/v1/health/daily-activity", json=corrected).json()
    assert (report["stored"], report["points_awarded"]) == (1, 0)
    [(kind, _, body, _)] = events(client)[published:]
    assert (kind, body["steps"], body["replaced"]) == ("daily-activity-summarized", 12_345, True)
    assert count(client, DailyActivity) == 12
    read = client.get(f"/v1/health/people/{CONSENTING[0]}/daily-activity", params={"reason": "monthly advice"}, headers=STAFF).json()
    assert [(d["day"], d["steps"]) for d in read["items"]] == [(days_ago(4), 8004), (days_ago(3), 8003), (days_ago(2), 8002), (days_ago(1), 12_345)]


def test_csv_upload(client: TestClient) -> None:
    csv = "\ufeffperson_id,day,steps,brisk_walk_minutes\n" + "\n".join(
        [f"{PEOPLE[0]},{days_ago(1)},7000,12", f"{PEOPLE[1]},{days_ago(1)},,3", f"{PEOPLE[2]},{days_ago(1)},500,"]
    )
    response = client.post("/v1/health/daily-activity.csv", content=csv.encode(), headers={"Content-Type": "text/csv; charset=utf-8"})
    assert response.status_code == 200, response.text
    report = response.json()
    assert (report["stored"], report["rejected"], [(e["row"], e["field"]) for e in report["errors"]]) == (2, 1, [(2, "steps")])

    refused(client, "POST", "/v1/health/daily-activity.csv", None, 415, "unsupported-media-type", content=csv.encode(), headers={"Content-Type": "text/plain"})
    problem = refused(
        client,
        "POST",
        "/v1/health/daily-activity.csv",
        None,
        422,
        "validation-error",
        content=b"person,day,steps\nx,2026-01-01,1",
        headers={"Content-Type": "text/csv"},
    )
    assert [e["field"] for e in problem["errors"]] == ["person_id"]


def test_a_batch_without_any_good_row_is_a_problem_and_stores_nothing(client: TestClient) -> None:
    problem = refused(
        client, "POST", "/v1/health/daily-activity", {"rows": [{"person_id": PEOPLE[0], "day": days_ago(1), "steps": 200_000}]}, 422, "validation-error"
    )
    assert problem["errors"][0]["field"] == "rows[0].steps"
    refused(client, "POST", "/v1/health/daily-activity", {"rows": []}, 422, "validation-error")
    assert count(client, DailyActivity) == 0


# -- audit -------------------------------------------------------------------------------------
def test_every_s2_read_is_audited_and_needs_a_reason(client: TestClient) -> None:
    emits_one(client, "measurement-recorded", "POST", "/v1/health/measurements", weight(PEOPLE[0]))
    path = f"/v1/health/people/{PEOPLE[0]}/measurements"
    assert client.get(path, headers=STAFF).json()["errors"][0]["field"] == "reason"
    assert client.get(path, params={"reason": "follow-up"}).status_code == 401
    assert client.get(path, params={"reason": "follow-up"}, headers={"X-Actor": "x", "X-Actor-Role": "partner"}).status_code == 403
    assert count(client, AuditEntry) == 0

    shown = client.get(path, params={"reason": "monthly advice session", "purpose": "HEALTH_GUIDANCE"}, headers=STAFF)
    assert shown.status_code == 200 and [m["weight_kg"] for m in shown.json()["items"]] == [61.4]
    via_query = client.get(path, params={"reason": "care plan review", "actor": "care-sato", "actor_role": "care"})
    assert via_query.status_code == 200
    client.get(f"/v1/health/people/{PEOPLE[1]}/daily-activity", params={"reason": "steps check"}, headers=STAFF)

    assert client.get("/v1/health/audit", headers=STAFF).status_code == 403  # physiotherapists read data, not the log
    entries = client.get("/v1/health/audit", headers=CARE).json()["items"]
    assert [(e["actor"], e["actor_role"], e["person_id"], e["resource"], e["reason"], e["records"]) for e in entries] == [
        ("staff-kimura", "physiotherapist", PEOPLE[0], "measurements", "monthly advice session", 1),
        ("care-sato", "care", PEOPLE[0], "measurements", "care plan review", 1),
        ("staff-kimura", "physiotherapist", PEOPLE[1], "daily-activity", "steps check", 0),
    ]
    only = client.get("/v1/health/audit", params={"person_id": PEOPLE[1]}, headers=CARE).json()["items"]
    assert [e["resource"] for e in only] == ["daily-activity"]


def test_the_audit_log_cannot_be_altered(client: TestClient) -> None:
    client.get(f"/v1/health/people/{PEOPLE[0]}/measurements", params={"reason": "follow-up"}, headers=STAFF)
    original = client.get("/v1/health/audit", headers=CARE).json()["items"]
    entry_id = original[0]["id"]
    for method in ("PUT", "PATCH", "DELETE"):
        for path in ("/v1/health/audit", f"/v1/health/audit/{entry_id}"):
            response = client.request(method, path, json={"reason": "nothing to see"}, headers=CARE)
            assert response.status_code in (404, 405), (method, path, response.status_code)
            assert response.headers["content-type"] == "application/problem+json"
    assert client.get("/v1/health/audit", headers=CARE).json()["items"] == original

    engine = client.app.state.engine  # type: ignore[attr-defined]
    for statement in ("UPDATE audit_entry SET reason = 'rewritten'", "DELETE FROM audit_entry"):
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
            conn.execute(text(statement))
    assert client.get("/v1/health/audit", headers=CARE).json()["items"] == original


def test_an_erasure_keeps_the_audit_facts_and_cuts_their_link_to_the_person(client: TestClient) -> None:
    client.get(f"/v1/health/people/{PEOPLE[0]}/measurements", params={"reason": "follow-up"}, headers=STAFF)
    client.get(f"/v1/health/people/{PEOPLE[1]}/measurements", params={"reason": "follow-up"}, headers=STAFF)
    before = client.get("/v1/health/audit", headers=CARE).json()["items"]
    engine = client.app.state.engine  # type: ignore[attr-defined]
    with Session(engine) as session:
        replicate_people_and_consent(CloudEvent.of(PersonErased(person_id=PEOPLE[0], erased_at=datetime.now(UTC))), session)
        session.commit()
    after = client.get("/v1/health/audit", headers=CARE).json()["items"]
    assert len(after) == len(before) and PEOPLE[0] not in json.dumps(after)  # the facts stay, the link goes
    assert [e for e in after if e["person_id"] == PEOPLE[1]] == [e for e in before if e["person_id"] == PEOPLE[1]]
    # Outside an erasure the log is as append-only as ever.
    with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
        conn.execute(text("UPDATE audit_entry SET reason = 'rewritten'"))


# -- station, advice, programmes and points ----------------------------------------------------
def test_groups_of_five_enrolment_and_advice_sessions(client: TestClient) -> None:
    problem = refused(client, "POST", "/v1/health/groups", {"name": "赤穂南 歩こう会", "area": "赤穂", "person_ids": PEOPLE[:4]}, 422, "validation-error")
    assert problem["errors"][0]["field"] == "person_ids"
    refused(client, "POST", "/v1/health/groups", {"name": "赤穂南 歩こう会", "area": "赤穂", "person_ids": [*PEOPLE[:4], STRANGER]}, 422, "unknown-person")
    before = len(events(client))
    response = client.post("/v1/health/groups", json={"name": "赤穂南 歩こう会", "area": "赤穂", "person_ids": PEOPLE[:5]})
    assert response.status_code == 201, response.text
    group = response.json()
    assert group["members"] == 5
    # The group's event, then each founder's enrolment (person-keyed: what profiles and feeds follow).
    published = events(client)[before:]
    assert [kind for kind, *_ in published] == ["health-station-group-registered"] + ["health-station-enrolled"] * 5
    assert [body["person_id"] for _, _, body, _ in published[1:]] == PEOPLE[:5]
    assert {body["group_id"] for _, _, body, _ in published[1:]} == {group["id"]}
    refused(client, "POST", "/v1/health/enrollments", {"person_id": PEOPLE[0], "group_id": group["id"]}, 409, "already-enrolled")
    refused(client, "POST", "/v1/health/enrollments", {"person_id": PEOPLE[5], "group_id": "nope"}, 422, "validation-error")
    emits_one(client, "health-station-enrolled", "POST", "/v1/health/enrollments", {"person_id": PEOPLE[5], "group_id": group["id"]})

    advice = {
        "group_id": group["id"],
        "held_on": days_ago(0),
        "physiotherapist": "pt-yamada",
        "attendees": [{"person_id": PEOPLE[0], "advice": "膝に負担の少ない歩き方"}, {"person_id": PEOPLE[6], "advice": "水分補給"}],
    }
    problem = refused(client, "POST", "/v1/health/advice-sessions", advice, 403, "health-consent-required")
    assert [e["field"] for e in problem["errors"]] == ["attendees[1].person_id"]
    advice["attendees"] = advice["attendees"][:1]
    emits_one(client, "advice-session-held", "POST", "/v1/health/advice-sessions", advice)
    _, topic, body, headers = events(client)[-1]
    assert (topic, headers["ce_sensitivity"], body["attendee_ids"]) == (INTERNAL, "S2", [PEOPLE[0]])
    assert "膝" not in json.dumps(body, ensure_ascii=False), "the advice itself stays in the service"


def test_programmes_completion_and_points_balance(client: TestClient) -> None:
    today = date.fromisoformat(days_ago(0))
    body = {
        "name": "食と健康の町ステイ",
        "kind": "FOOD_HEALTH_STAY",
        "starts_on": days_ago(10),
        "ends_on": (today + timedelta(days=20)).isoformat(),
        "completion_points": 300,
    }
    program = emits_one(client, "health-program-published", "POST", "/v1/health/programs", body)
    assert events(client)[-1][3]["ce_sensitivity"] == "S0"
    refused(client, "POST", "/v1/health/programs", {**body, "ends_on": days_ago(30)}, 422, "validation-error")
    path = f"/v1/health/programs/{program['id']}"
    refused(client, "POST", f"{path}/completions", {"person_id": PEOPLE[0]}, 409, "not-enrolled")
    emits_one(client, "health-program-enrolled", "POST", f"{path}/enrollments", {"person_id": PEOPLE[0]})
    refused(client, "POST", f"{path}/enrollments", {"person_id": PEOPLE[0]}, 409, "already-enrolled")
    refused(client, "POST", f"{path}/enrollments", {"person_id": STRANGER}, 422, "unknown-person")
    completed = emits_one(client, "health-program-completed", "POST", f"{path}/completions", {"person_id": PEOPLE[0]})
    assert completed["completed_on"] == days_ago(0) and events(client)[-1][2]["points_awarded"] == 300
    refused(client, "POST", f"{path}/completions", {"person_id": PEOPLE[0]}, 409, "already-completed")
    assert client.get("/v1/health/programs", params={"kind": "FOOD_HEALTH_STAY"}).json()["items"][0]["enrolled"] == 1

    client.post(
        "/v1/health/daily-activity",
        json={"rows": [{"person_id": PEOPLE[0], "day": days_ago(1), "steps": 8000}, {"person_id": PEOPLE[0], "day": days_ago(2), "steps": 7999}]},
    )
    points = client.get(f"/v1/health/people/{PEOPLE[0]}/points").json()
    assert points["balance"] == 310
    assert [(a["reason"], a["points"], a["balance"]) for a in points["awards"]] == [("ACTIVITY_GOAL", 10, 10), ("PROGRAM_COMPLETION", 300, 310)]
    assert client.get(f"/v1/health/people/{STRANGER}/points").status_code == 404


def test_idempotency_key_replays_a_batch(client: TestClient) -> None:
    batch = {"rows": [{"person_id": PEOPLE[0], "day": days_ago(1), "steps": 5000}]}
    first = client.post("/v1/health/daily-activity", json=batch, headers={"Idempotency-Key": "meter-upload-1"})
    again = client.post("/v1/health/daily-activity", json=batch, headers={"Idempotency-Key": "meter-upload-1"})
    assert first.json() == again.json() and again.headers["idempotent-replayed"] == "true"
    assert len(events(client)) == 1
