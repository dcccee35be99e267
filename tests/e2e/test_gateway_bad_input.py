"""Bad input through the gateway, as an outside client sends it: the services' 400, 415, 405 (with
their `Allow`) and 422 reach the client as problem+json, and the gateway's own routes answer the
same way. Every service's own answers are in tests/integration/test_bad_input.py."""

from __future__ import annotations

import base64
import json

import httpx

from komagane_kit.errors import PROBLEM_JSON

FORGED_CURSORS = ["WzEsMiwzXQ==", base64.urlsafe_b64encode(json.dumps(["x", "y"]).encode()).decode()]


def kind_of(response: httpx.Response) -> tuple[int, str]:
    assert response.headers["content-type"] == PROBLEM_JSON, response.text
    return response.status_code, str(response.json()["type"]).rsplit("/", 1)[1]


async def test_bad_bodies_methods_times_and_cursors_are_problems_through_the_gateway(gateway: httpx.AsyncClient) -> None:
    hub = await gateway.post("/v1/hubs", json={"name_ja": "ぱとな", "kind": "CIVIC_CENTRE", "area": "赤穂"})
    assert hub.status_code == 201, hub.text
    visits = f"/v1/hubs/{hub.json()['id']}/visits"
    person = "00000000-0000-4000-8000-000000000001"

    broken = await gateway.post(visits, content=b'{"person_id": ', headers={"Content-Type": "application/json"})
    assert kind_of(broken) == (400, "malformed-json") and broken.json()["title"] == "JSON として読めません"
    plain = await gateway.post(visits, content=json.dumps({"person_id": person}).encode(), headers={"Content-Type": "text/plain"})
    assert kind_of(plain) == (415, "unsupported-media-type")
    year_one = await gateway.post(visits, json={"person_id": person, "visited_at": "0001-01-01T00:00:00"}, headers={"Accept-Language": "en"})
    assert kind_of(year_one) == (422, "validation-error") and year_one.json()["errors"][0]["field"] == "visited_at"

    undeclared = await gateway.delete("/v1/hubs")  # forwarded: the exchange service's Allow
    assert kind_of(undeclared) == (405, "method-not-allowed") and undeclared.headers["allow"] == "GET, POST"
    own = await gateway.put("/v1/kpis", json={})  # one of the gateway's own routes
    assert kind_of(own) == (405, "method-not-allowed") and own.headers["allow"] == "GET"
    odd_reason = await gateway.get("/v1/hubs", headers={"X-Access-Reason": "ab"})  # given, so checked
    assert kind_of(odd_reason) == (422, "validation-error"), odd_reason.text
    newline = await gateway.get("/v1/people/a%0Ab")  # no route's pattern takes a newline: nothing is there
    assert kind_of(newline)[0] == 404, newline.text
    lax = await gateway.post("/v1/people", json={"display_name": "花子", "birth_year": 1950, "residency_status": "RESIDENT", "lives_alone": 0})
    assert kind_of(lax) == (422, "validation-error") and lax.json()["errors"][0]["field"] == "lives_alone"  # JSON types as declared

    for path in ("/v1/sessions", "/v1/migration-cases", "/v1/hubs"):
        for cursor in FORGED_CURSORS:
            assert kind_of(await gateway.get(path, params={"cursor": cursor})) == (400, "invalid-cursor"), path
