"""Care staff follow up lapse alerts through the gateway, on the whole platform: the command,
its event on Kafka (outcome only, S3), the alert showing it, a closing outcome closing it, the
city KPIs counting lapses followed up within 14 days, the rights log, and bad input."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from functools import partial
from typing import Any

import httpx

from komagane_contracts.topics import CARE
from komagane_devstack.stack import Stack
from tests.e2e.test_exchange import people, post
from tests.support.kafka import header, read_topic
from tests.support.platform import gateway_client
from tests.support.waiting import eventually

LAPSED_PEOPLE = 11  # the KPI shows from 10 people on
NOTE = "娘の恵子さん（090-0000-0000）と話した。膝の具合が悪く外出を控えている"


async def lapsed_people(gateway: httpx.AsyncClient, stack: Stack, count: int) -> list[str]:
    """People who volunteered weekly until 40 days ago: lapsed since about 11 days (threshold 28)."""
    ids = await people(gateway, stack, count)
    today = datetime.now(UTC).date()
    for person_id in ids:
        assert (await gateway.put(f"/v1/people/{person_id}/consents/PROFILE")).status_code == 200
        for days_ago in (47, 40):
            await post(gateway, "/v1/volunteer-shifts", {"person_id": person_id, "worked_on": (today - timedelta(days=days_ago)).isoformat(), "hours": 1})
    return ids


async def alert_of(care: httpx.AsyncClient, person_id: str) -> dict[str, Any] | None:
    alerts = (await care.get("/v1/alerts/lapses")).json()
    return next((a for a in alerts if a["person_id"] == person_id), None)


def lapse_month(alert: dict[str, Any]) -> str:
    start = date.fromisoformat(alert["last_participation"]) + timedelta(days=alert["threshold_days"] + 1)
    return f"{start.year:04d}-{start.month:02d}"


async def test_a_follow_up_shows_on_the_alert_closes_it_and_counts_in_the_kpis(stack: Stack, gateway: httpx.AsyncClient) -> None:
    ids = await lapsed_people(gateway, stack, LAPSED_PEOPLE)
    consented, unconsented = ids[0], ids[1]
    for person_id in (consented, unconsented):
        answer = await gateway.patch(f"/v1/people/{person_id}", json={"contact": "0265-83-0000"})
        assert answer.status_code == 200, answer.text
    assert (await gateway.put(f"/v1/people/{consented}/consents/OUTREACH")).status_code == 200
    async with gateway_client(stack, "care", subject="e2e-care") as care:
        alerts: dict[str, dict[str, Any]] = {}
        for person_id in ids:
            alerts[person_id] = await eventually(partial(alert_of, care, person_id), timeout=90, what="the lapse alert")
        assert alerts[consented]["usual_places"] == ["volunteering"] and alerts[consented]["follow_ups"] == []

        # The queue: longest lapsed first, name, the contact only with OUTREACH consent.
        queue = (await care.get("/v1/care/lapses", params={"limit": 100})).json()
        days = [item["alert"]["days_since"] for item in queue["items"]]
        assert days == sorted(days, reverse=True)
        cases = {item["alert"]["person_id"]: item for item in queue["items"]}
        assert cases[consented]["display_name"].startswith("参加者") and cases[consented]["contact"] == "0265-83-0000"
        assert cases[unconsented]["contact"] is None and cases[unconsented]["contact_consented"] is False
        assert cases[consented]["usual_places"] == [{"id": "volunteering", "name": None, "name_en": None}]

        # The command: stored with its note, answered with a Location, idempotent.
        key = {"Idempotency-Key": f"care-{consented}"}
        answer = await care.post(f"/v1/people/{consented}/follow-ups", json={"outcome": "CALLED", "note": NOTE}, headers=key)
        assert answer.status_code == 201, answer.text
        location = answer.headers["Location"]  # the person's follow-ups, where this one is listed (and readable)
        assert location == f"/v1/people/{consented}/follow-ups"
        assert answer.json()["id"] in [f["id"] for f in (await care.get(location)).json()]
        again = await care.post(f"/v1/people/{consented}/follow-ups", json={"outcome": "CALLED", "note": NOTE}, headers=key)
        assert again.status_code == 201 and again.json()["id"] == answer.json()["id"]
        listed = (await care.get(f"/v1/people/{consented}/follow-ups")).json()
        assert [(f["outcome"], f["note"]) for f in listed] == [("CALLED", NOTE)]

        # The alert shows it (outcome only) and stays open; the queue shows the note.
        shown = await eventually(lambda: _with_follow_up(care, consented), timeout=60, what="the follow-up on the alert")
        assert [f["outcome"] for f in shown["follow_ups"]] == ["CALLED"] and NOTE not in json.dumps(shown)
        queue = (await care.get("/v1/care/lapses", params={"limit": 100})).json()
        case = next(item for item in queue["items"] if item["alert"]["person_id"] == consented)
        assert [f["note"] for f in case["follow_ups"]] == [NOTE]

        # A closing outcome closes the alert.
        declined = ids[2]
        await post(care, f"/v1/people/{declined}/follow-ups", {"outcome": "DECLINED"})

        async def closed() -> bool:
            return await alert_of(care, declined) is None

        await eventually(closed, timeout=60, what="the declined alert closed")
        assert await alert_of(care, consented) is not None

        # Ten people followed up within 14 days of their lapse: the month's KPI shows it.
        for person_id in ids[3:]:
            await post(care, f"/v1/people/{person_id}/follow-ups", {"outcome": "VISITED"})
        month = lapse_month(alerts[consented])

        async def counted() -> dict[str, Any] | None:
            answer = await gateway.get("/v1/kpis", params={"month": month})
            kpis = answer.json() if answer.status_code == 200 else {}
            return kpis if (kpis.get("lapses_followed_up_within_14d") or 0) >= LAPSED_PEOPLE - 1 else None

        kpis = await eventually(counted, timeout=90, what="the follow-ups in the city KPIs")
        assert "lapses_followed_up_within_14d" not in kpis["suppressed"]

    # On Kafka: the outcome code, S3, never the note.
    async def published() -> list[Any] | None:
        return [r for r in await read_topic(stack.kafka.bootstrap, CARE.name) if r.key == consented.encode()] or None

    records = await eventually(published, timeout=60, what="the follow-up event")
    assert len(records) == 1 and header(records[0], "ce_sensitivity") == "S3"
    assert header(records[0], "ce_type") == "jp.komagane.people.lapse-followed-up.v1"
    body = json.loads(records[0].value)
    assert body["outcome"] == "CALLED" and "note" not in body and "恵子" not in records[0].value.decode()

    # Every read and write of the care page is in the person's rights log.
    export = await gateway.get(f"/v1/people/{consented}/export", headers={"X-Access-Reason": "care-audit-check"})
    kinds = [r["kind"] for r in export.json()["people"]["rights_requests"]]
    assert "CARE_READ" in kinds and "CARE_FOLLOW_UP" in kinds
    assert [f["note"] for f in export.json()["people"]["care_follow_ups"]] == [NOTE]


async def _with_follow_up(care: httpx.AsyncClient, person_id: str) -> dict[str, Any] | None:
    alert = await alert_of(care, person_id)
    return alert if alert and alert["follow_ups"] else None


async def test_only_care_staff_reach_the_care_routes_and_bad_input_is_a_problem(stack: Stack, gateway: httpx.AsyncClient) -> None:
    [person] = await people(gateway, stack, 1)
    path = f"/v1/people/{person}/follow-ups"
    for role, subject in (("resident", person), ("staff", "e2e-staff"), ("city", "e2e-city"), ("partner", "chamber")):
        async with gateway_client(stack, role, subject=subject) as other:
            assert (await other.post(path, json={"outcome": "CALLED"})).status_code == 403, role
            assert (await other.get(path)).status_code == 403, role
            assert (await other.get("/v1/care/lapses")).status_code == 403, role
    async with gateway_client(stack, "care", subject="e2e-care") as care:
        future = (datetime.now(UTC) + timedelta(days=2)).isoformat()
        for body, field in (
            ({"outcome": "PHONED"}, "outcome"),
            ({}, "outcome"),
            ({"outcome": "OTHER", "note": "x" * 1001}, "note"),
            ({"outcome": "CALLED", "followed_up_at": future}, "followed_up_at"),
            ({"outcome": "CALLED", "note": 5}, "note"),
        ):
            answer = await care.post(path, json=body)
            assert answer.status_code == 422, (body, answer.text)
            assert answer.headers["content-type"].startswith("application/problem+json")
            assert field in json.dumps(answer.json().get("errors", [])), (body, answer.text)
        malformed = await care.post(path, content=b"{", headers={"Content-Type": "application/json"})
        assert malformed.status_code == 400
        unknown = await care.post("/v1/people/no-such-person/follow-ups", json={"outcome": "CALLED"})
        assert unknown.status_code == 404 and unknown.headers["content-type"].startswith("application/problem+json")
        assert (await care.get("/v1/care/lapses", params={"cursor": "not-a-cursor"})).status_code == 400
        assert (await care.get("/v1/care/lapses", params={"limit": 0})).status_code == 422
        assert (await care.get(path)).json() == []  # nothing was written
