"""A partner (the demo persona: the chamber of commerce) opens its page in a real browser: its own
agreements with their consent counts, how to connect, its provision records with CSV; never
another partner's agreement."""

from __future__ import annotations

import csv
import io
import uuid
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, expect

from komagane_devstack.stack import Stack
from tests.console.conftest import axe_violations, run
from tests.console.test_console_city import sign_in_as
from tests.e2e.test_partner_feeds import agreement
from tests.support.platform import gateway_client, register_people
from tests.support.waiting import eventually

PERSONA_PARTNER = "chamber"  # the demo persona's partner id (komagane_console.personas)


async def _agreements(stack: Stack) -> dict[str, Any]:
    suffix = uuid.uuid4().hex[:6]
    feed, other = f"console-{suffix}", f"college-{suffix}"
    async with gateway_client(stack, "admin", subject="console-partner") as admin:
        for partner, name in ((PERSONA_PARTNER, feed), (other, "participation")):
            response = await admin.post("/v1/partners/agreements", json=agreement(partner, feed=name, purpose=f"purpose of {partner} {suffix}"))
            assert response.status_code == 201, response.text
        hub = (await admin.post("/v1/hubs", json={"name_ja": "ぱとな", "kind": "CIVIC_CENTRE", "area": "赤穂"})).json()["id"]
        people = await register_people(admin, stack, known_to="exchange", count=2, name="提携")
        assert (await admin.put(f"/v1/people/{people[0]}/consents/PARTNER:{PERSONA_PARTNER}")).status_code == 200
        assert (await admin.put(f"/v1/people/{people[1]}/consents/PARTNER:{other}")).status_code == 200
        async with gateway_client(stack, "partner", subject=PERSONA_PARTNER) as partner_api:

            async def consented() -> bool:
                overview = (await partner_api.get("/v1/partner/agreements")).json()
                return all(a["consent_count"] >= 1 for a in overview["agreements"])

            await eventually(consented, timeout=60, what="the chamber's consent counted")
            assert (await admin.post(f"/v1/hubs/{hub}/visits", json={"person_id": people[0]})).status_code == 201

            async def recorded() -> list[dict[str, Any]] | None:
                items: list[dict[str, Any]] = (await partner_api.get("/v1/partner/provision-records")).json()["items"]
                return items or None

            records = await eventually(recorded, timeout=90, what="a provision record for the chamber")
            overview = (await partner_api.get("/v1/partner/agreements")).json()
    return {"feed": feed, "other": other, "suffix": suffix, "records": records, "overview": overview}


@pytest.fixture(scope="module")
def shared(stack: Stack) -> dict[str, Any]:
    return run(_agreements(stack))


def test_the_partner_sees_its_own_agreements_consent_counts_connection_and_records(browser: Browser, console_url: str, shared: dict[str, Any]) -> None:
    page = browser.new_page()
    sign_in_as(page, console_url, "partner")
    assert page.url.endswith("/partner")  # a partner lands on its page
    table = page.locator("#table-agreements")
    row = table.locator("tbody tr", has_text=shared["feed"])
    expect(row).to_have_count(1)
    mine = next(a for a in shared["overview"]["agreements"] if a["feed"] == shared["feed"])
    assert row.locator("[data-value]").nth(6).get_attribute("data-value") == str(mine["consent_count"])
    expect(table).not_to_contain_text(shared["other"])  # the other partner's agreement is not here
    expect(page.get_by_test_id("bootstrap")).to_have_text(shared["overview"]["connection"]["bootstrap_servers"])
    expect(page.locator("main")).to_contain_text("/v1/partner/asyncapi.json")
    expect(page.locator("main")).to_contain_text(f"partner-{PERSONA_PARTNER}")

    shown = page.locator("#table-provision-records tbody tr").count()
    assert shown >= len(shared["records"])
    answer = page.request.get(f"{console_url}/partner/download/provision-records.csv")
    assert answer.status == 200 and answer.body().startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(answer.body().decode("utf-8-sig"))))
    assert len(rows) - 1 == shown  # the page's rows, one for one
    ids = page.locator("#table-provision-records tbody th").all_inner_texts()
    assert [r[0] for r in rows[1:]] == ids
    assert all(r[2].startswith(f"partner.{PERSONA_PARTNER}.") for r in rows[1:])  # its own topics only
    page.close()


def test_the_partner_page_is_accessible(browser: Browser, console_url: str, shared: dict[str, Any], screenshots: Path) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    sign_in_as(page, console_url, "partner")
    page.screenshot(path=str(screenshots / "partner.png"), full_page=True)
    assert axe_violations(page) == []
    page.set_viewport_size({"width": 360, "height": 800})
    page.screenshot(path=str(screenshots / "partner-phone-360px.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth") <= 1
    page.close()


def test_a_city_officer_cannot_open_the_partner_page(browser: Browser, console_url: str) -> None:
    page = browser.new_page()
    sign_in_as(page, console_url, "city")
    answer = page.goto(f"{console_url}/partner")
    assert answer is not None and answer.status == 403
    page.close()
