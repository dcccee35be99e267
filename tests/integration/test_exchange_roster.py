"""A session's roster for hub staff: reservations in order, the waitlist, check-ins and the code."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.integration.test_exchange_api import PEOPLE, activity, client, emits_one, hub, session_

__all__ = ["client"]  # the fixture, shared with the exchange API tests


def test_the_roster_lists_reserved_then_waiting_in_order_and_who_checked_in(client: TestClient) -> None:
    s = session_(client, activity(client, hub(client)), capacity=2)
    for p in PEOPLE[:4]:
        emits_one(client, "session-reserved", "POST", f"/v1/sessions/{s['id']}/reservations", {"person_id": p})
    emits_one(client, "reservation-cancelled", "DELETE", f"/v1/sessions/{s['id']}/reservations/{PEOPLE[0]}", status=204)
    proxy = {"person_id": PEOPLE[1], "proxy": {"staff_id": "staff-1", "reason": "スマートフォンなし"}}
    emits_one(client, "participant-attended", "POST", f"/v1/sessions/{s['id']}/attendance", proxy)

    roster = client.get(f"/v1/sessions/{s['id']}/roster").json()
    assert [(e["person_id"], e["status"], e["waitlist_position"]) for e in roster["reservations"]] == [
        (PEOPLE[1], "RESERVED", None),
        (PEOPLE[2], "RESERVED", None),  # promoted when PEOPLE[0] cancelled
        (PEOPLE[3], "WAITLISTED", 1),
    ]
    assert [(a["person_id"], a["recorded_by"]) for a in roster["attendance"]] == [(PEOPLE[1], "staff-1")]
    assert roster["session"]["check_in_code"] == s["check_in_code"] and roster["session"]["capacity"] == 2


def test_the_roster_of_an_unknown_session_is_a_404_problem(client: TestClient) -> None:
    response = client.get("/v1/sessions/no-such-session/roster")
    assert response.status_code == 404 and response.headers["content-type"] == "application/problem+json"
