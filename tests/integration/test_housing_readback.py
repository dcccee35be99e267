"""What the housing service records can be read back (SQLite and PostgreSQL): each POST's
`Location` leads to the resource as it was answered, and lists page with an opaque cursor."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.integration.test_housing_api import RELATIONSHIP, RESIDENT, VISITOR, VISITOR_2, client, day, emits, residence
from tests.support.readback import every_page, recorded

__all__ = ["client"]  # the fixture, shared with test_housing_api


def test_relocations_read_back(client: TestClient) -> None:
    body = {"person_id": RESIDENT, "from_area": "東伊那", "to_area": "赤穂", "into_town_centre": True, "relocated_on": day(-2)}
    first = recorded(client, "/v1/relocations", body)
    second = recorded(client, "/v1/relocations", {**body, "person_id": VISITOR, "into_town_centre": False})
    assert every_page(client, "/v1/relocations") == sorted([first["id"], second["id"]])
    assert [r["id"] for r in client.get("/v1/relocations", params={"person_id": VISITOR}).json()["items"]] == [second["id"]]
    assert client.get("/v1/relocations/nope").json()["type"].endswith("/relocation-not-found")
    assert client.get("/v1/relocations", params={"cursor": "WzEsMiwzXQ"}).status_code == 400


def test_workation_stays_read_back(client: TestClient) -> None:
    body = {"person_id": VISITOR, "started_on": day(-5), "ended_on": day(-1), "purpose": "テレワーク"}
    stay = recorded(client, "/v1/workation-stays", {**body, "property_id": residence(client, kind="GUEST_HOUSE")})
    assert stay["nights"] == 4
    other = recorded(client, "/v1/workation-stays", {**body, "person_id": VISITOR_2})
    assert every_page(client, "/v1/workation-stays") == sorted([stay["id"], other["id"]])
    assert [s["id"] for s in client.get("/v1/workation-stays", params={"person_id": VISITOR}).json()["items"]] == [stay["id"]]
    assert client.get("/v1/workation-stays/nope").status_code == 404


def test_relationships_read_back(client: TestClient) -> None:
    former = recorded(client, "/v1/relationships", {"person_id": RELATIONSHIP, "kind": "FORMER_RESIDENT"})
    donor = recorded(client, "/v1/relationships", {"person_id": RELATIONSHIP, "kind": "FURUSATO_DONOR"})
    assert every_page(client, "/v1/relationships", person_id=RELATIONSHIP) == sorted([former["id"], donor["id"]])
    assert [r["id"] for r in client.get("/v1/relationships", params={"kind": "FURUSATO_DONOR"}).json()["items"]] == [donor["id"]]
    assert client.get("/v1/relationships", params={"kind": "NOT_A_KIND"}).status_code == 422
    assert client.get("/v1/relationships/nope").json()["type"].endswith("/relationship-not-found")


def test_moves_are_listed(client: TestClient) -> None:
    move = {"person_id": VISITOR, "household_size": 2, "origin": "13", "channel": "COUNCIL", "area": "赤穂", "moved_in_on": day(-30)}
    first = emits(client, ["household-moved-in"], "POST", "/v1/moves", move)
    second = emits(client, ["household-moved-in"], "POST", "/v1/moves", {**move, "person_id": VISITOR_2})
    assert client.get(f"/v1/moves/{first['id']}").json() == first
    assert every_page(client, "/v1/moves") == sorted([first["id"], second["id"]])
    assert [m["id"] for m in client.get("/v1/moves", params={"person_id": VISITOR_2}).json()["items"]] == [second["id"]]
    assert client.get("/v1/moves", params={"limit": 0}).status_code == 422
