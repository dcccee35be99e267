"""What the exchange service records can be read back (SQLite and PostgreSQL): volunteer shifts
and a session's attendance, each POST's `Location` leading to the resource as answered."""

from __future__ import annotations

from datetime import datetime, timedelta

from fastapi.testclient import TestClient

from komagane_kit.clock import TOKYO
from tests.integration.test_exchange_api import PEOPLE, activity, client, emits_one, hub, session_
from tests.support.readback import every_page, recorded

__all__ = ["client"]  # the fixture, shared with test_exchange_api


def test_volunteer_shifts_read_back(client: TestClient) -> None:
    hub_id = hub(client)
    shifts = "/v1/volunteer-shifts"
    at_hub = recorded(client, shifts, {"person_id": PEOPLE[0], "hub_id": hub_id, "worked_on": "2026-01-10", "hours": 2.5}, shifts)
    elsewhere = recorded(client, shifts, {"person_id": PEOPLE[1], "worked_on": "2026-01-11", "hours": 1, "description": "雪かき"}, shifts)
    assert every_page(client, shifts) == sorted([at_hub["id"], elsewhere["id"]])
    assert [s["id"] for s in client.get(shifts, params={"hub_id": hub_id}).json()["items"]] == [at_hub["id"]]
    assert [s["id"] for s in client.get(shifts, params={"person_id": PEOPLE[1]}).json()["items"]] == [elsewhere["id"]]
    assert client.get(f"{shifts}/nope").json()["type"].endswith("/volunteer-shift-not-found")
    assert client.get(shifts, params={"cursor": "WzEsMiwzXQ"}).status_code == 400


def test_attendance_of_a_session_reads_back(client: TestClient) -> None:
    activity_id = activity(client, hub(client))
    s = session_(client, activity_id)
    path = f"/v1/sessions/{s['id']}/attendance"
    self_check_in = recorded(client, path, {"person_id": PEOPLE[0], "check_in_code": s["check_in_code"], "mode": "LEARN"}, path)
    proxy = {"person_id": PEOPLE[1], "mode": "VOLUNTEER", "proxy": {"staff_id": "staff-tanaka", "reason": "no smartphone"}}
    by_staff = recorded(client, path, proxy, path)
    assert by_staff["recorded_by"] == "staff-tanaka"
    assert every_page(client, path) == sorted([self_check_in["id"], by_staff["id"]])
    assert client.get(path.replace(s["id"], "nope")).json()["type"].endswith("/session-not-found")
    other = session_(client, activity_id, starts_in=timedelta(minutes=5))
    assert client.get(f"/v1/sessions/{other['id']}/attendance").json()["items"] == []
    assert client.get(f"/v1/sessions/{other['id']}/attendance/{by_staff['id']}").status_code == 404  # not at that session


def test_attendance_from_a_paper_register_reads_back_at_the_same_moment(client: TestClient) -> None:
    starts = (datetime.now(TOKYO) - timedelta(days=2)).replace(hour=10, minute=0, second=0, microsecond=0, tzinfo=None)
    body = {"starts_at": starts.isoformat(), "ends_at": (starts + timedelta(hours=2)).isoformat(), "capacity": 5, "recorded_after": True}
    past = emits_one(client, "session-scheduled", "POST", f"/v1/activities/{activity(client, hub(client))}/sessions", body)
    path = f"/v1/sessions/{past['id']}/attendance"
    when = starts + timedelta(minutes=30)  # Tokyo wall-clock time, as typed from the register
    register = {"person_id": PEOPLE[2], "attended_at": when.isoformat(), "proxy": {"staff_id": "staff-sato", "reason": "paper register"}}
    created = recorded(client, path, register, path)
    assert datetime.fromisoformat(created["attended_at"]) == when.replace(tzinfo=TOKYO)
