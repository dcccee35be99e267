"""A migration case follows its trial stays and moves (SQLite and PostgreSQL), never backwards,
with staff still setting stages by hand."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.integration.test_housing_api import VISITOR, VISITOR_2, book, client, day, emits, events, residence

__all__ = ["client"]  # the fixture, shared with test_housing_api


def open_case(client: TestClient, person: str) -> str:
    return str(emits(client, ["migration-case-opened"], "POST", "/v1/migration-cases", {"person_id": person, "recorded_by": "staff-sato"})["id"])


def stage_of(client: TestClient, case_id: str) -> str:
    return str(client.get(f"/v1/migration-cases/{case_id}").json()["stage"])


def test_the_case_follows_its_stay_and_move(client: TestClient) -> None:
    case_id = open_case(client, VISITOR)
    stay = book(client, residence(client), 0, 3, case_id=case_id)
    assert stage_of(client, case_id) == "INQUIRY"  # a booking may still be cancelled

    emits(client, ["trial-stay-started", "migration-stage-changed"], "POST", f"/v1/trial-stays/{stay['id']}/check-in", status=200)
    changed = events(client)[-1][1]
    assert (changed["previous_stage"], changed["stage"], changed["case_id"], changed["occurred_on"]) == ("INQUIRY", "TRIAL", case_id, day(0))
    assert changed["recorded_by"] == f"system:trial-stay/{stay['id']}"
    case = client.get(f"/v1/migration-cases/{case_id}").json()
    assert case["stage"] == "TRIAL" and case["history"][-1]["recorded_by"] == f"system:trial-stay/{stay['id']}"

    emits(client, ["trial-stay-completed"], "POST", f"/v1/trial-stays/{stay['id']}/completion", status=200)  # finishing a trial is not deciding
    assert stage_of(client, case_id) == "TRIAL"

    # Staff still set a stage by hand; then the move brings the case to MOVED.
    emits(client, ["migration-stage-changed"], "POST", f"/v1/migration-cases/{case_id}/stage", {"stage": "DECIDED", "recorded_by": "staff-ito"}, 200)
    move = {"person_id": VISITOR, "case_id": case_id, "household_size": 2, "origin": "13", "channel": "TRIAL_STAY", "area": "赤穂", "moved_in_on": day(-400)}
    moved = emits(client, ["household-moved-in", "migration-stage-changed"], "POST", "/v1/moves", move)
    assert (events(client)[-1][1]["previous_stage"], events(client)[-1][1]["stage"]) == ("DECIDED", "MOVED")
    emits(client, ["settlement-confirmed", "migration-stage-changed"], "POST", f"/v1/moves/{moved['id']}/settlement", {"recorded_by": "staff-ito"}, 200)
    assert [(h["stage"], h["recorded_by"].split("/")[0]) for h in client.get(f"/v1/migration-cases/{case_id}").json()["history"]] == [
        ("INQUIRY", "staff-sato"), ("TRIAL", "system:trial-stay"), ("DECIDED", "staff-ito"), ("MOVED", "system:move"), ("SETTLED", "system:move"),
    ]  # fmt: skip


def test_a_case_never_moves_back_for_a_stay(client: TestClient) -> None:
    case_id = open_case(client, VISITOR_2)
    for stage in ("CONSULTED", "DECIDED"):
        emits(client, ["migration-stage-changed"], "POST", f"/v1/migration-cases/{case_id}/stage", {"stage": stage, "recorded_by": "staff-sato"}, 200)
    stay = book(client, residence(client), 0, 2, person=VISITOR_2, case_id=case_id)
    emits(client, ["trial-stay-started"], "POST", f"/v1/trial-stays/{stay['id']}/check-in", status=200)
    emits(client, ["trial-stay-completed"], "POST", f"/v1/trial-stays/{stay['id']}/completion", status=200)
    assert stage_of(client, case_id) == "DECIDED"
    # A move without a case leaves every case alone.
    move = {"person_id": VISITOR_2, "household_size": 1, "origin": "ABROAD", "channel": "OTHER", "area": "赤穂", "moved_in_on": day(-1)}
    emits(client, ["household-moved-in"], "POST", "/v1/moves", move)
    assert stage_of(client, case_id) == "DECIDED"
