"""The people's rights under APPI through the gateway, on the running platform: correction
(訂正) with `PersonUpdated` reaching every replica, a visitor who moves in becoming a resident,
and the disclosure export (開示) from every service, with who may ask and the audit it leaves."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import httpx
from psycopg import connect

from komagane_contracts.topics import PEOPLE
from komagane_devstack.stack import Stack
from tests.support.kafka import header, read_topic
from tests.support.platform import gateway_client, register_people
from tests.support.waiting import eventually

UPDATED = "jp.komagane.people.person-updated.v1"
MERGE_PATCH = {"Content-Type": "application/merge-patch+json"}


def db_value(stack: Stack, service: str, query: str, *args: object) -> Any:
    assert stack.postgres is not None
    with connect(stack.postgres.url(service)) as conn:
        row = conn.execute(query, args).fetchone()
    return None if row is None else row[0]


async def people_records(stack: Stack, person_id: str) -> list[Any]:
    return [r for r in await read_topic(stack.kafka.bootstrap, PEOPLE.name) if r.key and r.key.decode() == person_id]


async def updates_of(stack: Stack, person_id: str, count: int) -> list[dict[str, Any]]:
    async def found() -> list[dict[str, Any]] | None:
        records = [r for r in await people_records(stack, person_id) if header(r, "ce_type") == UPDATED]
        return [json.loads(r.value) for r in records] if len(records) >= count else None

    return await eventually(found, timeout=60, what=f"{count} PersonUpdated of {person_id}")


async def test_a_correction_reaches_every_replica_and_never_puts_a_name_on_kafka(stack: Stack, gateway: httpx.AsyncClient) -> None:
    [person] = await register_people(gateway, stack, known_to="housing", residencies=["VISITOR"], name="訂正 太郎")
    assert (await gateway.put(f"/v1/people/{person}/consents/PROFILE")).status_code == 200
    async with gateway_client(stack, "resident", subject=person) as own, gateway_client(stack, "resident", subject="someone-else") as other:
        invalid = await own.patch(f"/v1/people/{person}", content=json.dumps({"display_name": None, "lives_alone": False}), headers=MERGE_PATCH)
        assert invalid.status_code == 422 and {e["field"] for e in invalid.json()["errors"]} == {"display_name"}
        # A value of another JSON type is refused before the model reads it (komagane_kit.strict_body).
        mistyped = await own.patch(f"/v1/people/{person}", content=json.dumps({"lives_alone": "maybe"}), headers=MERGE_PATCH)
        assert mistyped.status_code == 422 and {e["field"] for e in mistyped.json()["errors"]} == {"lives_alone"}
        assert (await other.patch(f"/v1/people/{person}", json={"lives_alone": True})).status_code == 403
        patch = {"display_name": "訂正 一郎", "contact": "teisei@example.jp", "preferred_language": "en", "residency_status": "RELATIONSHIP"}
        corrected = await own.patch(f"/v1/people/{person}", content=json.dumps(patch), headers=MERGE_PATCH)
        assert corrected.status_code == 200, corrected.text
        assert {k: corrected.json()[k] for k in patch} == patch
    async with gateway_client(stack, "staff", subject="staff-e2e", hub_id="h-any") as staff, gateway_client(stack, "care", subject="care-e2e") as care:
        no_reason = await staff.patch(f"/v1/people/{person}", json={"lives_alone": True})
        assert no_reason.status_code == 422 and no_reason.json()["errors"][0]["field"] == "X-Access-Reason"
        assert (await care.patch(f"/v1/people/{person}", json={"lives_alone": True})).status_code == 403
        by_staff = await staff.patch(f"/v1/people/{person}", json={"lives_alone": True}, headers={"X-Access-Reason": quote("本人から電話で申出")})
        assert by_staff.status_code == 200 and by_staff.json()["lives_alone"] is True
    assert (await gateway.patch("/v1/people/00000000-0000-0000-0000-000000000000", json={"lives_alone": True})).status_code == 404
    document = (await gateway.get("/openapi.json")).json()
    body = document["paths"]["/v1/people/{person_id}"]["patch"]["requestBody"]["content"]
    assert set(body) == {"application/merge-patch+json", "application/json"}
    patchable = set(document["components"]["schemas"]["PersonPatch"]["properties"])
    assert patchable == {"display_name", "name_kana", "contact", "residency_status", "preferred_language", "lives_alone"}

    first, second = await updates_of(stack, person, 2)
    assert (first["changed"], first["residency_status"], first["preferred_language"]) == (
        ["display_name", "contact", "residency_status", "preferred_language"],
        "RELATIONSHIP",
        "en",
    )
    assert (second["changed"], second["lives_alone"]) == (["lives_alone"], True)
    for record in await people_records(stack, person):  # the registration and both corrections
        text = record.value.decode()
        assert "訂正" not in text and "teisei" not in text, text

    async def replicated() -> bool:
        query = "SELECT residency_status FROM known_person WHERE person_id = %s"
        return all(db_value(stack, service, query, person) == "RELATIONSHIP" for service in ("exchange", "jobs", "health", "housing"))

    await eventually(replicated, timeout=60, what="the correction in every pillar's replica")

    async def profile() -> dict[str, Any] | None:
        found = (await gateway.get(f"/v1/profiles/{person}")).json()
        return found if found.get("residency_status") == "RELATIONSHIP" and found.get("preferred_language") == "en" else None

    await eventually(profile, timeout=60, what="the corrected profile")


async def test_a_visitor_who_moves_in_becomes_a_resident(stack: Stack, gateway: httpx.AsyncClient) -> None:
    [person] = await register_people(gateway, stack, known_to="housing", residencies=["VISITOR"], name="移住 花子")
    move = {"person_id": person, "household_size": 1, "origin": "13", "channel": "OTHER", "area": "赤穂", "moved_in_on": "2026-11-01"}
    assert (await gateway.post("/v1/moves", json=move)).status_code == 201

    async def resident() -> bool:
        return bool((await gateway.get(f"/v1/people/{person}")).json()["residency_status"] == "RESIDENT")

    await eventually(resident, timeout=60, what="the mover registered as a resident")
    [update] = await updates_of(stack, person, 1)
    assert (update["changed"], update["residency_status"], update["cause"]) == (["residency_status"], "RESIDENT", "MOVED_IN")

    async def housing_knows() -> bool:
        return bool(db_value(stack, "housing", "SELECT residency_status FROM known_person WHERE person_id = %s", person) == "RESIDENT")

    await eventually(housing_knows, timeout=60, what="the housing replica")
    # A resident is no longer a prospect: housing refuses a migration case for them now.
    refused = await gateway.post("/v1/migration-cases", json={"person_id": person, "recorded_by": "staff-kato", "origin": "13", "household_size": 1})
    assert refused.status_code == 422, refused.text


async def _held_everywhere(stack: Stack, gateway: httpx.AsyncClient, person: str) -> None:
    """Something in every service about `person`."""
    for purpose in ("PROFILE", "HEALTH", "PARTNER:chamber"):
        assert (await gateway.put(f"/v1/people/{person}/consents/{purpose}")).status_code == 200
    hub = (await gateway.post("/v1/hubs", json={"name_ja": "開示 ハブ", "kind": "COMMUNITY_HALL", "area": "赤穂"})).json()["id"]
    assert (await gateway.post(f"/v1/hubs/{hub}/visits", json={"person_id": person})).status_code == 201
    skills = {"skills": ["軽作業"], "availability": [], "area": "赤穂"}
    assert (await gateway.put(f"/v1/people/{person}/skills", json=skills)).status_code == 200
    stay = {"person_id": person, "started_on": "2026-10-01", "ended_on": "2026-10-04"}
    assert (await gateway.post("/v1/workation-stays", json=stay)).status_code == 201
    measurement = {"person_id": person, "kind": "WEIGHT", "measured_at": "2026-11-01T10:00:00", "weight_kg": 61.5, "recorded_by": "nurse-e2e"}

    async def measured() -> bool:  # accepted once the health service has seen the HEALTH consent
        return (await gateway.post("/v1/health/measurements", json=measurement)).status_code == 201

    await eventually(measured, timeout=60, what="a measurement with HEALTH consent")

    async def partners_know() -> bool:
        return bool(db_value(stack, "partners", "SELECT count(*) FROM partner_consent WHERE person_id = %s", person) == 1)

    await eventually(partners_know, timeout=60, what="the partner consent replicated")

    async def profiled() -> bool:
        return (await gateway.get(f"/v1/profiles/{person}")).status_code == 200

    await eventually(profiled, timeout=60, what="the profile")


async def test_the_export_discloses_every_service_to_the_person_and_to_staff_with_a_reason(stack: Stack, gateway: httpx.AsyncClient) -> None:
    [person] = await register_people(gateway, stack, known_to="exchange", residencies=["RESIDENT"], name="開示 次郎")
    await _held_everywhere(stack, gateway, person)
    path = f"/v1/people/{person}/export"
    async with gateway_client(stack, "resident", subject=person) as own:
        mine = await own.get(path)
    assert mine.status_code == 200, mine.text
    export = mine.json()
    assert export["people"]["person"][0]["display_name"] == "開示 次郎 0"
    assert {c["purpose"] for c in export["people"]["consents"]} == {"PROFILE", "HEALTH", "PARTNER:chamber"}
    sections = export["sections"]
    assert {name: s["status"] for name, s in sections.items()} == dict.fromkeys(("exchange", "jobs", "health", "housing", "partners", "profile"), "ok")
    assert len(sections["exchange"]["data"]["hub_visits"]) == 1
    assert sections["jobs"]["data"]["skills"][0]["person_id"] == person
    assert len(sections["housing"]["data"]["workation_stays"]) == 1
    assert sections["health"]["data"]["measurements"][0]["weight_kg"] == 61.5
    assert [c["partner_id"] for c in sections["partners"]["data"]["partner_consents"]] == ["chamber"]
    assert sections["profile"]["data"]["person_id"] == person

    async with (
        gateway_client(stack, "resident", subject="neighbour-e2e") as neighbour,
        gateway_client(stack, "staff", subject="staff-e2e", hub_id="h-any") as staff,
        gateway_client(stack, "care", subject="care-e2e") as care,
    ):
        assert (await neighbour.get(path, headers={"X-Access-Reason": "curious"})).status_code == 403
        no_reason = await staff.get(path)
        assert no_reason.status_code == 422 and no_reason.json()["errors"][0]["field"] == "X-Access-Reason"
        for_staff = await staff.get(path, headers={"X-Access-Reason": quote("支援計画の確認")})
        assert for_staff.status_code == 200, for_staff.text
        health = for_staff.json()["sections"]["health"]
        assert health["status"] == "unavailable" and health["problem"]["status"] == 403  # S2: care staff only
        assert for_staff.json()["sections"]["exchange"]["status"] == "ok"
        for_care = await care.get(path, headers={"X-Access-Reason": "care planning"})
        assert for_care.status_code == 200 and for_care.json()["sections"]["health"]["status"] == "ok"

    async with gateway_client(stack, "resident", subject=person) as own:
        again = (await own.get(path)).json()
    log = [(e["kind"], e["actor"], e["reason"]) for e in again["people"]["rights_requests"]]
    assert log == [("DISCLOSURE", person, None), ("DISCLOSURE", "staff-e2e", "支援計画の確認"), ("DISCLOSURE", "care-e2e", "care planning")]
    s2_reads = [(e["actor"], e["purpose"], e["reason"]) for e in again["sections"]["health"]["data"]["s2_read_audit"]]
    assert s2_reads[1:] == [("care-e2e", "DISCLOSURE", "care planning")]
    assert (await gateway.get("/v1/people/00000000-0000-0000-0000-000000000000/export", headers={"X-Access-Reason": "admin check"})).status_code == 404
    assert (await gateway.get(f"/internal/v1/people/{person}/held")).status_code == 404  # the services' route is not public
