"""Bad input never reaches a 500, on SQLite and PostgreSQL: every service answers out-of-window
times and dates, forged cursors, NUL characters and lone surrogates, huge numbers, bodies that are
not JSON, other media types and undeclared methods with a 4xx problem+json, and changes nothing
(no row in any table, no outbox event).

The windows are the kit's (komagane_kit.inputs): a body's validation happens before the route
looks anything up, so the path ids need not exist.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from komagane_partners.main import build_app as partners_app
from komagane_partners.settings import PartnersSettings
from sqlalchemy import inspect
from sqlmodel import Session

from komagane_exchange.main import build_app as exchange_app
from komagane_exchange.settings import ExchangeSettings
from komagane_health.consent import HealthConsent
from komagane_health.main import build_app as health_app
from komagane_health.settings import HealthSettings
from komagane_housing.main import build_app as housing_app
from komagane_housing.settings import HousingSettings
from komagane_jobs.main import build_app as jobs_app
from komagane_jobs.settings import JobsSettings
from komagane_kit.errors import PROBLEM_JSON
from komagane_kit.inputs import tokyo_today, years_from
from komagane_kit.people_replica import KnownPerson
from komagane_people.main import build_app as people_app
from komagane_people.settings import PeopleSettings
from tests.support.internal import INTERNAL_SECRET, as_gateway

PERSON = "00000000-0000-4000-8000-000000000001"
ANY = "00000000-0000-4000-8000-000000000009"  # an id nothing has: bodies are refused before lookups
S2 = {"X-Actor": "care-sato", "X-Actor-Role": "care"}
S2_QUERY = "reason=family%20consultation"
TODAY = tokyo_today()
NOW = datetime.now(UTC)

# Times and dates no window holds: the extremes (year 1 and 9999, with offsets that would carry
# them out of range when converted) and just outside the window on either side.
BAD_TIMES = [
    "0001-01-01T00:00:00",
    "0001-01-01T00:00:00+14:00",
    "9999-12-31T23:59:59",
    "9999-12-31T23:59:59-12:00",
    (NOW - timedelta(days=366 * 10 + 2)).isoformat(),
    (NOW + timedelta(days=366 * 2 + 2)).isoformat(),
]
# Just past each bound (tests/unit/test_inputs.py checks the bounds to the day), by a day more
# than needed at the far end: a run that crosses midnight in Tokyo moves that bound a day on.
BAD_DATES = ["0001-01-01", "9999-12-31", (years_from(TODAY, -10) - timedelta(days=1)).isoformat(), (years_from(TODAY, 2) + timedelta(days=2)).isoformat()]
BAD_TERMS = ["0001-01-01", "9999-12-31", (years_from(TODAY, -10) - timedelta(days=1)).isoformat(), (years_from(TODAY, 10) + timedelta(days=2)).isoformat()]


@dataclass(frozen=True)
class Service:
    build: Callable[[Any], FastAPI]
    settings: type[Any]
    health_consent: bool = False
    replica: bool = True  # keeps a replica of the people it serves (komagane_kit.people_replica)


SERVICES = {
    "exchange": Service(exchange_app, ExchangeSettings),
    "health": Service(health_app, HealthSettings, health_consent=True),
    "housing": Service(housing_app, HousingSettings),
    "jobs": Service(jobs_app, JobsSettings),
    "people": Service(people_app, PeopleSettings, replica=False),
    "partners": Service(partners_app, PartnersSettings, replica=False),
}


@pytest.fixture
def clients(db_url: str) -> Iterator[Callable[[str], TestClient]]:
    """Starts one service (by name) on the test's database, with PERSON known to it."""
    opened: list[TestClient] = []

    def client(name: str) -> TestClient:
        assert not opened, "one service per test: they share the test's database"
        service = SERVICES[name]
        settings = service.settings(
            database_url=db_url, kafka_bootstrap_servers="127.0.0.1:9", outbox_backoff_max_seconds=60, internal_token_secret=INTERNAL_SECRET
        )
        test_client = TestClient(service.build(settings), headers=as_gateway())
        test_client.__enter__()
        opened.append(test_client)
        if service.replica:
            with Session(test_client.app.state.engine) as session:  # type: ignore[attr-defined]
                session.add(KnownPerson(person_id=PERSON, age_band="65-74", residency_status="VISITOR", registered_at=NOW))
                if service.health_consent:
                    session.add(HealthConsent(person_id=PERSON, granted=True, changed_at=NOW))
                session.commit()
        return test_client

    yield client
    for test_client in opened:
        test_client.__exit__(None, None, None)


def table_counts(client: TestClient) -> dict[str, int]:
    engine = client.app.state.engine  # type: ignore[attr-defined]
    with engine.connect() as connection:
        return {table: int(connection.exec_driver_sql(f'SELECT count(*) FROM "{table}"').scalar_one()) for table in inspect(engine).get_table_names()}


def refused(client: TestClient, method: str, path: str, *, status: int, kind: str, field: str | None = None, **request: Any) -> dict[str, Any]:
    """The request answers `status` with a problem+json of `kind` (naming `field`) and changes nothing."""
    before = table_counts(client)
    response = client.request(method, path, **request)
    assert response.status_code == status, (method, path, request, response.status_code, response.text)
    assert response.headers["content-type"] == PROBLEM_JSON, response.headers
    problem: dict[str, Any] = response.json()
    assert problem["type"].rsplit("/", 1)[1] == kind and problem["status"] == status, problem
    if field is not None:
        fields = [error["field"] for error in problem.get("errors", [])]
        assert any(f == field or f.endswith("." + field) or f.endswith(field) for f in fields), (field, problem)
    assert table_counts(client) == before, (method, path)
    return problem


# -- times and dates: (service, path, field, kind of window, the rest of a plausible body) ----
WINDOWED: list[tuple[str, str, str, str, dict[str, Any]]] = [
    ("exchange", f"/v1/hubs/{ANY}/visits", "visited_at", "time", {"person_id": PERSON}),
    ("exchange", f"/v1/hubs/{ANY}/headcounts", "counted_on", "date", {"count": 10, "occasion": "festival"}),
    ("exchange", f"/v1/activities/{ANY}/sessions", "starts_at", "time", {"ends_at": NOW.isoformat(), "capacity": 5}),
    ("exchange", f"/v1/activities/{ANY}/sessions", "ends_at", "time", {"starts_at": NOW.isoformat(), "capacity": 5}),
    ("exchange", f"/v1/sessions/{ANY}/attendance", "attended_at", "time", {"person_id": PERSON, "proxy": {"staff_id": "s", "reason": "r"}}),
    ("exchange", "/v1/volunteer-shifts", "worked_on", "date", {"person_id": PERSON, "hours": 2}),
    ("health", "/v1/health/measurements", "measured_at", "time", {"person_id": PERSON, "kind": "WEIGHT", "weight_kg": 60, "recorded_by": "s"}),
    (
        "health",
        "/v1/health/advice-sessions",
        "held_on",
        "date",
        {"group_id": ANY, "physiotherapist": "pt", "attendees": [{"person_id": PERSON, "advice": "a"}]},
    ),
    ("health", "/v1/health/programs", "starts_on", "date", {"name": "p", "kind": "EXERCISE", "ends_on": TODAY.isoformat()}),
    ("health", "/v1/health/programs", "ends_on", "date", {"name": "p", "kind": "EXERCISE", "starts_on": TODAY.isoformat()}),
    ("housing", "/v1/trial-stays", "check_in", "date", {"property_id": ANY, "person_id": PERSON, "check_out": TODAY.isoformat()}),
    ("housing", "/v1/trial-stays", "check_out", "date", {"property_id": ANY, "person_id": PERSON, "check_in": TODAY.isoformat()}),
    ("housing", f"/v1/migration-cases/{ANY}/stage", "occurred_on", "date", {"stage": "CONSULTED", "recorded_by": "s"}),
    ("housing", "/v1/moves", "moved_in_on", "date", {"person_id": PERSON, "household_size": 1, "origin": "13", "channel": "TRIAL_STAY", "area": "赤穂"}),
    ("housing", f"/v1/moves/{ANY}/settlement", "confirmed_on", "date", {"recorded_by": "s"}),
    ("housing", "/v1/relocations", "relocated_on", "date", {"person_id": PERSON, "from_area": "a", "to_area": "b"}),
    ("housing", "/v1/workation-stays", "started_on", "date", {"person_id": PERSON, "ended_on": TODAY.isoformat()}),
    ("housing", "/v1/workation-stays", "ended_on", "date", {"person_id": PERSON, "started_on": (TODAY - timedelta(days=3)).isoformat()}),
    ("jobs", f"/v1/opportunities/{ANY}/close", "closed_on", "date", {}),
    ("jobs", "/v1/engagements", "starts_on", "date", {"opportunity_id": ANY, "person_id": PERSON}),
    ("jobs", "/v1/engagements", "ends_on", "term", {"opportunity_id": ANY, "person_id": PERSON, "starts_on": TODAY.isoformat()}),
    ("jobs", f"/v1/engagements/{ANY}/shifts", "worked_on", "date", {"hours": 2}),
    ("jobs", f"/v1/engagements/{ANY}/steps", "stepped_on", "date", {"to_arrangement": "PART_TIME"}),
    ("jobs", f"/v1/engagements/{ANY}/end", "ended_on", "date", {"reason": "COMPLETED"}),
    ("jobs", f"/v1/seminars/{ANY}/sessions", "held_on", "date", {"hours": 1}),
    ("jobs", "/v1/cooperators", "term_starts_on", "date", {"person_id": PERSON, "mission": "m", "term_ends_on": TODAY.isoformat()}),
    ("jobs", "/v1/cooperators", "term_ends_on", "term", {"person_id": PERSON, "mission": "m", "term_starts_on": TODAY.isoformat()}),
    ("jobs", f"/v1/cooperators/{ANY}/completion", "completed_on", "date", {"settled": True, "started_business": False}),
    ("partners", "/v1/partners/agreements", "starts_on", "date", {"partner_id": "chamber", "feed": "visits", "ends_on": TODAY.isoformat()}),
    ("partners", "/v1/partners/agreements", "ends_on", "term", {"partner_id": "chamber", "feed": "visits", "starts_on": TODAY.isoformat()}),
    ("partners", f"/v1/partners/agreements/{ANY}/end", "ends_on", "term", {}),
]
BAD_VALUES = {"time": BAD_TIMES, "date": BAD_DATES, "term": BAD_TERMS}


@pytest.mark.parametrize("service", sorted({case[0] for case in WINDOWED}))
def test_times_and_dates_outside_their_window_are_one_422_everywhere(clients: Callable[[str], TestClient], service: str) -> None:
    client = clients(service)
    for _, path, field, window, rest in (case for case in WINDOWED if case[0] == service):
        for value in BAD_VALUES[window]:
            problem = refused(client, "POST", path, json={**rest, field: value}, status=422, kind="validation-error", field=field)
            assert any("must be between" in error["message"] for error in problem["errors"]), problem


def test_a_daily_activity_row_outside_the_window_is_refused(clients: Callable[[str], TestClient]) -> None:
    client = clients("health")
    for value in BAD_DATES:
        rows = [{"person_id": PERSON, "day": value, "steps": 100}]
        refused(client, "POST", "/v1/health/daily-activity", json={"rows": rows}, status=422, kind="validation-error", field="rows[0].day")


def test_a_birth_year_from_1900_to_this_year(clients: Callable[[str], TestClient]) -> None:
    client = clients("people")
    person = {"display_name": "駒ヶ根 花子", "residency_status": "RESIDENT"}
    for year in (1899, 0, -1, TODAY.year + 1, 10**30, "MCML", 1950.5, None, [1950]):
        refused(client, "POST", "/v1/people", json={**person, "birth_year": year}, status=422, kind="validation-error", field="birth_year")


def test_the_window_is_stated_in_the_openapi_document(clients: Callable[[str], TestClient]) -> None:
    schemas = clients("exchange").get("/openapi.json").json()["components"]["schemas"]
    assert "10 years before to 2 years after today" in schemas["HeadcountCreate"]["properties"]["counted_on"]["description"]
    starts_at = schemas["SessionCreate"]["properties"]["starts_at"]["description"]
    assert starts_at.startswith("Asia/Tokyo when no offset is given") and "10 years before" in starts_at
    assert "\\u0000" in schemas["HubCreate"]["properties"]["name_ja"]["pattern"]


# -- query parameters ---------------------------------------------------------------------------
QUERIES = [
    ("exchange", "/v1/sessions?from=0001-01-01T00:00:00", "from"),
    ("exchange", "/v1/sessions?to=9999-12-31T23:59:59-12:00", "to"),
    ("exchange", f"/v1/sessions?limit={10**30}", "limit"),
    ("exchange", "/v1/hubs?limit=-1", "limit"),
    ("housing", "/v1/trial-stays?from=0001-01-01", "from"),
    ("housing", "/v1/trial-stays?to=9999-12-31", "to"),
    ("health", f"/v1/health/people/{PERSON}/daily-activity?{S2_QUERY}&from=0001-01-01", "from"),
    ("jobs", f"/v1/opportunities?limit={10**30}", "limit"),
    # A number where a time is meant: pydantic would read it as seconds since 1970.
    ("exchange", "/v1/sessions?to=0.5", "to"),
    ("housing", "/v1/trial-stays?to=1700000000", "to"),
]


@pytest.mark.parametrize("service", sorted({case[0] for case in QUERIES}))
def test_query_parameters_out_of_range_are_422(clients: Callable[[str], TestClient], service: str) -> None:
    client = clients(service)
    for _, path, field in (case for case in QUERIES if case[0] == service):
        refused(client, "GET", path, headers=S2, status=422, kind="validation-error", field=field)


# -- cursors --------------------------------------------------------------------------------------
def cursor(value: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode()


FORGED = [
    "WzEsMiwzXQ==",  # [1, 2, 3]
    cursor([]),
    cursor(["x", "y", "z"]),
    cursor([10**30]),
    cursor([-1]),
    cursor([None]),
    cursor({"id": 1}),
    cursor("0001-01-01"),
    cursor(["0001-01-01T00:00:00", "x"]),
    cursor(["9999-12-31", "x"]),
    cursor(["x\u0000"]),
    cursor([True]),
    "%%%",
    base64.urlsafe_b64encode(b"\xff\xfe").decode(),
]
LISTS = {
    "exchange": ["/v1/hubs", "/v1/activities", "/v1/sessions", "/v1/groups"],
    "health": ["/v1/health/programs", f"/v1/health/people/{PERSON}/measurements?{S2_QUERY}", f"/v1/health/people/{PERSON}/daily-activity?{S2_QUERY}"],
    "housing": ["/v1/properties", "/v1/migration-cases", "/v1/trial-stays"],
    "jobs": ["/v1/opportunities", "/v1/engagements", "/v1/seminars", "/v1/cooperators"],
    "partners": ["/v1/partners/agreements", "/v1/partners/provision-records"],
}


@pytest.mark.parametrize("service", sorted(LISTS))
def test_a_forged_cursor_is_400_on_every_list(clients: Callable[[str], TestClient], service: str) -> None:
    client = clients(service)
    for path in LISTS[service]:
        assert client.get(path, headers=S2).status_code == 200, path
        for forged in FORGED:
            joiner = "&" if "?" in path else "?"
            refused(client, "GET", f"{path}{joiner}cursor={forged}", headers=S2, status=400, kind="invalid-cursor", field="cursor")


def test_a_forged_cursor_on_matches_is_400(clients: Callable[[str], TestClient]) -> None:
    client = clients("jobs")
    assert client.put(f"/v1/people/{PERSON}/skills", json={"skills": ["料理"]}).status_code == 200
    for forged in [cursor(["1"]), cursor([-5]), cursor([10**30]), cursor([1, 2])]:
        refused(client, "GET", f"/v1/people/{PERSON}/matches?cursor={forged}", status=400, kind="invalid-cursor", field="cursor")


# -- what HTTP says about bodies and methods -----------------------------------------------------
POSTS = {
    "exchange": (f"/v1/hubs/{ANY}/visits", {"person_id": PERSON}),
    "health": ("/v1/health/measurements", {"person_id": PERSON}),
    "housing": ("/v1/relocations", {"person_id": PERSON}),
    "jobs": ("/v1/cooperators", {"person_id": PERSON}),
    "people": ("/v1/people", {"display_name": "x"}),
}


@pytest.mark.parametrize("service", sorted(POSTS))
def test_not_json_is_400_another_media_type_415_an_undeclared_method_405(clients: Callable[[str], TestClient], service: str) -> None:
    client = clients(service)
    path, body = POSTS[service]
    json_type = {"Content-Type": "application/json"}
    for broken in (b'{"person_id": ', b"\xff\xfe", b"[1, 2", b"NaN-ish"):
        refused(client, "POST", path, content=broken, headers=json_type, status=400, kind="malformed-json")
    raw = json.dumps(body).encode()
    for media in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "application/xml"):
        refused(client, "POST", path, content=raw, headers={"Content-Type": media}, status=415, kind="unsupported-media-type")
    problem = refused(client, "POST", path, data={"person_id": PERSON}, status=415, kind="unsupported-media-type")
    assert problem["errors"] == [{"field": "Content-Type", "message": "must be application/json"}]
    # A JSON body that is JSON but not the model's is still 422.
    refused(client, "POST", path, json=[body], status=422, kind="validation-error")
    for method in ("PUT", "PATCH", "DELETE"):
        response = client.request(method, path, json=body)
        assert response.status_code == 405 and response.headers["content-type"] == PROBLEM_JSON, (method, response.text)
        allow = response.headers["allow"].split(", ")
        assert "POST" in allow and method not in allow, response.headers


def test_allow_lists_every_method_of_the_path(clients: Callable[[str], TestClient]) -> None:
    client = clients("exchange")
    assert client.delete("/v1/hubs").headers["allow"] == "GET, POST"
    assert client.patch(f"/v1/hubs/{ANY}").headers["allow"] == "GET"
    assert client.post(f"/v1/sessions/{ANY}/reservations/{PERSON}").headers["allow"] == "DELETE"


# -- what a fuzzer sends -----------------------------------------------------------------------------
EXTREMES: list[tuple[str, str, dict[str, Any], str]] = [
    ("exchange", "/v1/hubs", {"name_ja": "a\u0000b", "kind": "CIVIC_CENTRE", "area": "赤穂"}, "name_ja"),
    ("exchange", "/v1/hubs", {"name_ja": "\ud800", "kind": "CIVIC_CENTRE", "area": "赤穂"}, "name_ja"),
    ("exchange", "/v1/hubs", {"name_ja": "x" * 5_000, "kind": "CIVIC_CENTRE", "area": "赤穂"}, "name_ja"),
    ("exchange", "/v1/hubs", {"name_ja": "", "kind": "CIVIC_CENTRE", "area": "赤穂"}, "name_ja"),
    ("exchange", "/v1/hubs", {"name_ja": 5, "kind": "CIVIC_CENTRE", "area": "赤穂"}, "name_ja"),
    ("exchange", "/v1/hubs", {"name_ja": "x", "kind": "CIVIC_CENTRE", "area": "赤穂", "capabilities": ["a\u0000"]}, "capabilities.0"),
    ("exchange", f"/v1/hubs/{ANY}/visits", {"person_id": "\u0000"}, "person_id"),
    ("exchange", f"/v1/hubs/{ANY}/headcounts", {"counted_on": TODAY.isoformat(), "count": 10**30, "occasion": "x"}, "count"),
    ("exchange", f"/v1/hubs/{ANY}/headcounts", {"counted_on": TODAY.isoformat(), "count": -1, "occasion": "x"}, "count"),
    ("exchange", f"/v1/activities/{ANY}/sessions", {"starts_at": NOW.isoformat(), "ends_at": NOW.isoformat(), "capacity": 10**30}, "capacity"),
    ("exchange", "/v1/volunteer-shifts", {"person_id": PERSON, "worked_on": TODAY.isoformat(), "hours": 1e308}, "hours"),
    ("exchange", "/v1/groups", {"name": "\ud83d", "kind": "CLUB"}, "name"),
    (
        "health",
        "/v1/health/measurements",
        {"person_id": PERSON, "kind": "WEIGHT", "measured_at": NOW.isoformat(), "weight_kg": 10**30, "recorded_by": "s"},
        "weight_kg",
    ),
    (
        "health",
        "/v1/health/measurements",
        {"person_id": PERSON, "kind": "WEIGHT", "measured_at": NOW.isoformat(), "weight_kg": 60, "recorded_by": "s\u0000"},
        "recorded_by",
    ),
    ("housing", "/v1/properties", {"title": "t\u0000", "kind": "AKIYA", "area": "a", "rooms": 1, "owner_kind": "ORGANISATION", "owner_name": "x"}, "title"),
    ("housing", "/v1/properties", {"title": "t", "kind": "AKIYA", "area": "a", "rooms": 10**30, "owner_kind": "ORGANISATION", "owner_name": "x"}, "rooms"),
    ("jobs", "/v1/opportunities", {"title": "t", "organisation": "o\u0000", "arrangement": "PART_TIME", "paid": True}, "organisation"),
    ("jobs", f"/v1/engagements/{ANY}/shifts", {"worked_on": TODAY.isoformat(), "hours": -1}, "hours"),
    ("people", "/v1/people", {"display_name": "花子\u0000", "birth_year": 1950, "residency_status": "RESIDENT"}, "display_name"),
    ("people", "/v1/people", {"display_name": "花子", "birth_year": 1950, "residency_status": "RESIDENT", "contact": "\udfff"}, "contact"),
    ("people", f"/v1/people/{ANY}/follow-ups", {"outcome": "CALLED", "note": "n\u0000"}, "note"),
    ("people", f"/v1/people/{ANY}/follow-ups", {"outcome": "CALLED", "note": "\udfff"}, "note"),
    ("people", f"/v1/people/{ANY}/follow-ups", {"outcome": "PHONED"}, "outcome"),
    *[("people", f"/v1/people/{ANY}/follow-ups", {"outcome": "CALLED", "followed_up_at": bad}, "followed_up_at") for bad in BAD_TIMES],
]


# Values of another JSON type than the document declares: lax conversion would accept them.
WRONG_TYPES: list[tuple[str, str, dict[str, Any], str]] = [
    ("people", "/v1/people", {"display_name": "花子", "birth_year": 1950, "residency_status": "RESIDENT", "lives_alone": 0}, "lives_alone"),
    ("people", "/v1/people", {"display_name": "花子", "birth_year": "1950", "residency_status": "RESIDENT"}, "birth_year"),
    ("people", f"/v1/people/{ANY}/follow-ups", {"outcome": "CALLED", "note": 5}, "note"),
    ("exchange", f"/v1/hubs/{ANY}/visits", {"person_id": PERSON, "visited_at": 1700000000}, "visited_at"),
    ("exchange", f"/v1/hubs/{ANY}/visits", {"person_id": PERSON, "visited_at": "1700000000"}, "visited_at"),
    ("exchange", "/v1/volunteer-shifts", {"person_id": PERSON, "worked_on": TODAY.isoformat(), "hours": "2"}, "hours"),
    ("jobs", "/v1/opportunities", {"title": "t", "organisation": "o", "arrangement": "PART_TIME", "paid": "yes"}, "paid"),
]
EXTREMES = EXTREMES + WRONG_TYPES


@pytest.mark.parametrize("service", sorted({case[0] for case in EXTREMES}))
def test_extremes_a_fuzzer_sends_are_422(clients: Callable[[str], TestClient], service: str) -> None:
    client = clients(service)
    for _, path, body, field in (case for case in EXTREMES if case[0] == service):
        refused(
            client,
            "POST",
            path,
            content=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
            status=422,
            kind="validation-error",
            field=field,
        )


def test_nul_in_a_path_or_query_is_422(clients: Callable[[str], TestClient]) -> None:
    client = clients("exchange")
    refused(client, "GET", "/v1/hubs/a%00b", status=422, kind="validation-error", field="hub_id")
    refused(client, "GET", "/v1/sessions?hub_id=a%00b", status=422, kind="validation-error", field="hub_id")
    refused(client, "POST", "/v1/hubs/a%00b/visits", json={"person_id": PERSON}, status=422, kind="validation-error", field="hub_id")
