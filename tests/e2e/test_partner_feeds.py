"""Partner feeds on a broker with SASL/SCRAM and ACLs, read by kcat as the partners would.

Two partners agree to the same attendance feed; people consent to one, both or neither. Each
partner reads only its own topic, under its own login; messages are pseudonymous, per partner,
valid against the partner's own schema; withdrawal sends a deletion notice and stops the flow;
the provision records count exactly what was delivered.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import subprocess
import sys
import uuid
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest

from komagane_contracts.kafka_access import partner_topic
from komagane_devstack.kafka_security import provision_partner
from komagane_devstack.stack import Stack
from komagane_kit.clock import TOKYO
from komagane_kit.kafka import KafkaAuth
from tests.support.kcat import KcatResult, read_all
from tests.support.platform import gateway_client, register_people
from tests.support.waiting import eventually

pytestmark = pytest.mark.timeout(600)
PARTNER_CONSUMER = Path(__file__).resolve().parents[2] / "tools" / "partner_consumer.py"

ATTENDED = "jp.komagane.exchange.participant-attended.v1"
VISITED = "jp.komagane.exchange.hub-visited.v1"
DELETION = "jp.komagane.partner.deletion-notice.v1"
KPIS = "jp.komagane.profiles.city-kpis-updated.v1"


def agreement(partner_id: str, **overrides: Any) -> dict[str, Any]:
    today = date.today()
    return {
        "partner_id": partner_id,
        "feed": "participation",
        "partner_name": "駒ヶ根商工会議所",
        "purpose": "まちゼミ and hub participation, to plan the next season",
        "legal_basis": "consent",
        "max_sensitivity": "S1",
        "pseudonym_key_id": "k1",
        "retention_days": 30,
        "starts_on": (today - timedelta(days=400)).isoformat(),
        "ends_on": (today + timedelta(days=365)).isoformat(),
        "event_types": [VISITED, ATTENDED],
        "fields": ["age_decade", "hub", "visited_at", "category", "is_kayoinoba"],
        **overrides,
    }


async def visit(gateway: httpx.AsyncClient, hub_id: str, person_id: str) -> None:
    response = await gateway.post(f"/v1/hubs/{hub_id}/visits", json={"person_id": person_id})
    assert response.status_code == 201, response.text


def events_of(result: KcatResult) -> list[tuple[str, dict[str, Any], dict[str, str], str | None]]:
    out = []
    for message in result.messages:
        raw = message.get("headers") or []
        headers = dict(zip(raw[::2], raw[1::2], strict=True))
        out.append((headers["ce_type"], json.loads(message["payload"]), headers, message.get("key")))
    return out


async def test_partner_feeds_end_to_end(stack: Stack) -> None:
    suffix = uuid.uuid4().hex[:6]
    chamber, college = f"chamber-{suffix}", f"college-{suffix}"
    async with gateway_client(stack, "admin", subject="e2e-admin") as admin:
        for partner in (chamber, college):
            response = await admin.post("/v1/partners/agreements", json=agreement(partner))
            assert response.status_code == 201, response.text
            assert response.json()["topic"] == partner_topic(partner, "participation")
        hub = await admin.post("/v1/hubs", json={"name_ja": "ぱとな", "kind": "CIVIC_CENTRE", "area": "赤穂"})
        assert hub.status_code == 201, hub.text
        hub_id = hub.json()["id"]
        both, chamber_only, nobody, later = await register_people(admin, stack, known_to="exchange", count=4, birth_years=[1950, 1988, 1972, 2001])
        for person, partners in ((both, (chamber, college)), (chamber_only, (chamber,)), (later, (chamber,))):
            for partner in partners:
                granted = await admin.put(f"/v1/people/{person}/consents/PARTNER:{partner}")
                assert granted.status_code in (200, 201), granted.text

        chamber_topic, college_topic = partner_topic(chamber, "participation"), partner_topic(college, "participation")
        chamber_auth = provision_partner(stack.kafka.bootstrap, stack.kafka.credentials, chamber)
        college_auth = provision_partner(stack.kafka.bootstrap, stack.kafka.credentials, college)

        # Consent reaches the partners service through Kafka: wait until a first visit shows.
        async def delivered(auth: KafkaAuth, topic: str, count: int) -> list[Any] | None:
            found = events_of(read_all(stack.kafka.bootstrap, auth, topic))
            return found if len(found) >= count else None

        await visit(admin, hub_id, chamber_only)
        await eventually(lambda: delivered(chamber_auth, chamber_topic, 1), timeout=90, what="the first partner message")
        for person in (both, chamber_only, nobody, both):
            await visit(admin, hub_id, person)
        await eventually(lambda: delivered(chamber_auth, chamber_topic, 4), timeout=90, what="visits on the chamber feed")
        await eventually(lambda: delivered(college_auth, college_topic, 2), timeout=90, what="visits on the college feed")

        # Withdrawal: a deletion notice, then nothing more for that person.
        withdrawn = await admin.delete(f"/v1/people/{chamber_only}/consents/PARTNER:{chamber}")
        assert withdrawn.status_code in (200, 204), withdrawn.text
        await eventually(lambda: _has(chamber_auth, stack, chamber_topic, DELETION), timeout=90, what="the deletion notice on the chamber feed")
        await visit(admin, hub_id, chamber_only)
        await visit(admin, hub_id, later)  # a marker: once it arrives, chamber_only's visit was processed too
        await eventually(lambda: delivered(chamber_auth, chamber_topic, 6), timeout=90, what="the marker visit")

        chamber_events = events_of(read_all(stack.kafka.bootstrap, chamber_auth, chamber_topic))
        college_events = events_of(read_all(stack.kafka.bootstrap, college_auth, college_topic))

        # Pseudonyms: per partner, and the person without consent never appears.
        pseudonyms = [payload.get("pseudonym") for _type, payload, _h, _k in chamber_events]
        notice = next(payload for kind, payload, _h, _k in chamber_events if kind == DELETION)
        # chamber_only: two visits before withdrawing, the notice, and nothing after it.
        assert [kind for kind, payload, _h, _k in chamber_events if payload.get("pseudonym") == notice["pseudonym"]] == [VISITED, VISITED, DELETION]
        assert len(chamber_events) == 6 and len(college_events) == 2
        both_in_chamber = {p for p in pseudonyms if pseudonyms.count(p) == 2 and p != notice["pseudonym"]}
        both_in_college = {payload["pseudonym"] for _t, payload, _h, _k in college_events}
        assert len(both_in_chamber) == 1 and len(both_in_college) == 1 and not both_in_chamber & both_in_college

        # Nothing internal: no person id, no internal event id, no name, dates only.
        every_id = {both, chamber_only, nobody, later, hub_id}
        for kind, payload, headers, key in chamber_events + college_events:
            blob = json.dumps([payload, headers, key], ensure_ascii=False)
            assert not any(person in blob for person in every_id), blob
            assert "参加者" not in blob and "traceparent" not in headers
            assert datetime.fromisoformat(headers["ce_time"]).astimezone(TOKYO).time() == time(0), "a date, not a timestamp"
            if kind == VISITED:
                assert payload["hub"] == "ぱとな" and len(payload["visited_at"]) == 10
                assert set(payload) == {"date", "pseudonym", "age_decade", "hub", "visited_at"}
            assert key == payload["pseudonym"]

        # Every message validates against the partner's own schema, served to that partner only.
        async with gateway_client(stack, "partner", subject=chamber) as partner_api:
            document = await partner_api.get("/v1/partner/asyncapi.json")
            assert document.status_code == 200, document.text
            assert [c["address"] for c in document.json()["channels"].values()] == [chamber_topic]
            for kind, payload, _h, _k in chamber_events:
                schema = await partner_api.get(f"/v1/partner/schemas/participation/{kind}")
                assert schema.status_code == 200, schema.text
                jsonschema.validate(payload, schema.json())
            assert (await partner_api.get("/v1/partners/agreements")).status_code == 403
            assert (await partner_api.get("/v1/partners/provision-records")).status_code == 403
            other = await partner_api.get("/v1/partner/asyncapi.json", params={"partner_id": college})
            assert other.status_code == 403

        # Provision records add up to what each partner received.
        async with gateway_client(stack, "city", subject="e2e-city") as city:

            async def recorded(partner: str, expected: int) -> bool:
                page = (await city.get("/v1/partners/provision-records", params={"partner_id": partner, "limit": 200})).json()
                return bool(sum(r["count"] for r in page["items"]) == expected)

            await eventually(lambda: recorded(chamber, len(chamber_events)), timeout=60, what="chamber provision records")
            await eventually(lambda: recorded(college, len(college_events)), timeout=60, what="college provision records")
            exported = await city.get("/v1/partners/provision-records.csv", params={"partner_id": chamber})
            assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
            rows = list(csv.DictReader(io.StringIO(exported.text)))
            assert sum(int(r["count"]) for r in rows) == len(chamber_events)
            assert {r["pseudonym_key_id"] for r in rows} == {"k1"} and all(r["legal_basis"] == "consent" for r in rows)

    # The broker itself: a partner reads only its own topics, in its own consumer groups.
    assert read_all(stack.kafka.bootstrap, chamber_auth, college_topic).refused
    for internal in ("people.v1", "exchange.v1", "health.internal.v1", "profiles.v1", "alerts.v1"):
        assert read_all(stack.kafka.bootstrap, chamber_auth, internal).refused, internal
    assert not read_all(stack.kafka.bootstrap, chamber_auth, chamber_topic, "-G", f"partner.{chamber}.readers").refused
    assert read_all(stack.kafka.bootstrap, chamber_auth, chamber_topic, "-G", "somebody-elses-group").returncode != 0


async def _has(auth: KafkaAuth, stack: Stack, topic: str, kind: str) -> bool:
    return any(k == kind for k, _p, _h, _key in events_of(read_all(stack.kafka.bootstrap, auth, topic)))


async def test_agreements_refuse_what_partners_may_never_get(stack: Stack) -> None:
    async with gateway_client(stack, "admin", subject="e2e-admin") as admin:
        partner = f"stats-{uuid.uuid4().hex[:6]}"
        cases = {
            "S2": agreement(partner, max_sensitivity="S2"),
            "internal topic type": agreement(partner, event_types=["jp.komagane.health.measurement-recorded.v1"]),
            "alerts": agreement(partner, event_types=["jp.komagane.profiles.belonging-lapsed.v1"]),
            "consent events": agreement(partner, event_types=["jp.komagane.people.consent-granted.v1"]),
            "a name": agreement(partner, fields=["name_ja"]),
            "person-level statistics": agreement(partner, legal_basis="statistics"),
        }
        for label, body in cases.items():
            response = await admin.post("/v1/partners/agreements", json=body)
            assert response.status_code == 422, (label, response.text)
            assert response.headers["content-type"].startswith("application/problem+json")
        listed = await admin.get("/v1/partners/agreements", params={"partner_id": partner})
        assert listed.json()["items"] == []
        ok = await admin.post(
            "/v1/partners/agreements",
            json=agreement(
                partner,
                legal_basis="statistics",
                max_sensitivity="S0",
                event_types=["jp.komagane.profiles.city-kpis-updated.v1"],
                fields=["month", "hub_visits"],
            ),
        )
        assert ok.status_code == 201, ok.text
        again = await admin.post(
            "/v1/partners/agreements",
            json=agreement(
                partner, legal_basis="statistics", max_sensitivity="S0", event_types=["jp.komagane.profiles.city-kpis-updated.v1"], fields=["month"]
            ),
        )
        assert again.status_code == 409


async def run_partner_consumer(config: Path, topic: str) -> subprocess.CompletedProcess[str]:
    """The partner guide's client, run as a partner runs it: a separate process with its own login."""
    command = [sys.executable, str(PARTNER_CONSUMER), "--config", str(config), "--topic", topic, "--from-beginning", "--exit-at-end", "--timeout", "60"]
    return await asyncio.to_thread(subprocess.run, command, capture_output=True, text=True, timeout=120, check=False)


async def test_the_partner_guide_client_reads_the_feed_with_scram(stack: Stack, tmp_path: Path) -> None:
    """docs/partners.md: tools/partner_consumer.py logs in with SASL/SCRAM (librdkafka of the
    confluent-kafka wheel) and prints the partner's consented messages; a wrong password or an
    internal topic ends it with status 1."""
    partner = f"guide-{uuid.uuid4().hex[:6]}"
    topic = partner_topic(partner, "participation")
    async with gateway_client(stack, "admin", subject="e2e-admin") as admin:
        assert (await admin.post("/v1/partners/agreements", json=agreement(partner))).status_code == 201
        hub = await admin.post("/v1/hubs", json={"name_ja": "ぱとな", "kind": "CIVIC_CENTRE", "area": "赤穂"})
        [consenting, other] = await register_people(admin, stack, known_to="exchange", count=2, birth_years=[1949, 1990])
        granted = await admin.put(f"/v1/people/{consenting}/consents/PARTNER:{partner}")
        assert granted.status_code in (200, 201), granted.text
        auth = provision_partner(stack.kafka.bootstrap, stack.kafka.credentials, partner)
        config = tmp_path / "partner.json"  # what `python -m komagane_devstack.kafka_security partner <id>` prints
        config.write_text(json.dumps({"bootstrap": stack.kafka.bootstrap, **auth.librdkafka()}))

        async def read() -> list[dict[str, Any]] | None:
            await visit(admin, hub.json()["id"], other)  # no consent: never on the feed
            await visit(admin, hub.json()["id"], consenting)
            done = await run_partner_consumer(config, topic)
            assert done.returncode == 0, done.stderr
            messages = [json.loads(line) for line in done.stdout.splitlines()]
            return messages or None

        messages = await eventually(read, timeout=120, what="the consented visit through the partner guide's client")
    for message in messages:
        assert message["topic"] == topic and message["headers"]["ce_type"] == VISITED
        assert message["key"] == message["value"]["pseudonym"] and message["value"]["hub"] == "ぱとな"
        assert consenting not in json.dumps(message, ensure_ascii=False) and other not in json.dumps(message, ensure_ascii=False)
    assert len({m["key"] for m in messages}) == 1  # one person: the one who consented

    wrong = tmp_path / "wrong.json"
    wrong.write_text(json.dumps({"bootstrap": stack.kafka.bootstrap, **auth.librdkafka(), "sasl.password": "not-the-password"}))
    refused_login = await run_partner_consumer(wrong, topic)
    assert refused_login.returncode == 1 and "auth" in refused_login.stderr.lower(), refused_login.stderr
    internal = await run_partner_consumer(config, "exchange.v1")
    assert internal.returncode == 1 and "authoriz" in internal.stderr.lower(), internal.stderr
