"""Care staff use the lapse queue in a real browser, on the whole running platform: they see a
lapse alert, record a follow-up and the alert shows it; other roles get the 403 page."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from komagane_console.i18n import Localiser
from komagane_devstack.stack import Stack
from tests.console.conftest import Town, run, sign_in
from tests.console.test_console_resident import check
from tests.support.platform import gateway_client, register_people
from tests.support.waiting import eventually

NAME = "見守り 太郎"
NOTE = "電話に出られた。来週の体操に誘った"


def text_of(message: str, **values: object) -> str:
    return Localiser("ja").gettext(message, **values)


async def _lapsed_person(stack: Stack) -> str:
    """Someone who volunteered weekly until 40 days ago, agreed to be contacted, and has lapsed."""
    async with gateway_client(stack, "admin", subject="console-care") as gw:
        (person,) = await register_people(gw, stack, known_to="exchange", count=1, name=NAME)
        assert (await gw.patch(f"/v1/people/{person}", json={"contact": "0265-83-1111"})).status_code == 200
        for purpose in ("PROFILE", "OUTREACH"):
            assert (await gw.put(f"/v1/people/{person}/consents/{purpose}")).status_code == 200
        today = datetime.now(UTC).date()
        for days_ago in (47, 40):
            body = {"person_id": person, "worked_on": (today - timedelta(days=days_ago)).isoformat(), "hours": 1}
            assert (await gw.post("/v1/volunteer-shifts", json=body)).status_code == 201
    async with gateway_client(stack, "care", subject="console-care") as care:

        async def alerted() -> bool:
            return any(a["person_id"] == person for a in (await care.get("/v1/alerts/lapses")).json())

        await eventually(alerted, timeout=90, what="the lapse alert")
    return person


@pytest.fixture(scope="module")
def lapsed(stack: Stack) -> str:
    return run(_lapsed_person(stack))


def sign_in_as(page: Page, console_url: str, persona: str) -> None:
    page.goto(f"{console_url}/signin")
    page.locator(f"form:has(input[name=persona][value={persona}]) button").click()
    page.wait_for_load_state()


@pytest.fixture
def care_page(browser: Browser, console_url: str) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="ja-JP")  # staff personas have no language of their own
    page = context.new_page()
    sign_in_as(page, console_url, "care")
    yield page
    context.close()


def test_care_staff_see_the_alert_record_a_follow_up_and_the_alert_shows_it(care_page: Page, console_url: str, lapsed: str, screenshots: Path) -> None:
    page = care_page
    assert re.search(r"/care$", page.url), page.url  # care staff land on the queue
    card = page.locator(f"#person-{lapsed}")
    expect(card.locator("h2")).to_have_text(NAME + " 0")
    expect(card).to_contain_text("0265-83-1111")  # OUTREACH consent: the contact is shown
    expect(card).to_contain_text(text_of("No follow-up yet."))
    problems: dict[str, Any] = {}
    page.locator("details").evaluate_all("all => all.forEach(d => d.open = true)")
    check(page, "care-queue", screenshots, problems)
    assert not problems, problems
    page.reload()

    card = page.locator(f"#person-{lapsed}")
    card.locator("summary").click()
    card.get_by_label(text_of("Called"), exact=True).check()
    card.locator("textarea").fill(NOTE)
    card.get_by_role("button", name=text_of("Save the follow-up")).click()
    expect(page.locator(".flash")).to_have_text(text_of("The follow-up is recorded."))
    card = page.locator(f"#person-{lapsed}")
    expect(card.get_by_test_id("follow-ups")).to_contain_text(text_of("Called"))
    expect(card.get_by_test_id("follow-ups")).to_contain_text(NOTE)
    page.screenshot(path=str(screenshots / "care-queue-followed-up.png"), full_page=True)


def test_a_closing_follow_up_takes_the_alert_off_the_queue(care_page: Page, console_url: str, lapsed: str, stack: Stack) -> None:
    page = care_page
    page.goto(f"{console_url}/care")
    card = page.locator(f"#person-{lapsed}")
    card.locator("summary").click()
    card.get_by_label(text_of("Moved away (closes the alert)"), exact=True).check()
    card.get_by_role("button", name=text_of("Save the follow-up")).click()
    expect(page.locator(".flash")).to_have_text(text_of("The follow-up is recorded. The alert is closed and leaves the queue."))

    async def closed() -> bool:
        async with gateway_client(stack, "care", subject="console-care") as care:
            return all(a["person_id"] != lapsed for a in (await care.get("/v1/alerts/lapses")).json())

    run(eventually(closed, timeout=60, what="the alert closed"))
    page.goto(f"{console_url}/care")
    expect(page.locator(f"#person-{lapsed}")).to_have_count(0)


def test_a_post_without_csrf_records_nothing(care_page: Page, console_url: str, lapsed: str, stack: Stack) -> None:
    async def recorded() -> int:
        async with gateway_client(stack, "care", subject="console-care") as care:
            return len((await care.get(f"/v1/people/{lapsed}/follow-ups")).json())

    before = run(recorded())
    forms: list[dict[str, str | float | bool]] = [{"outcome": "CALLED"}, {"outcome": "CALLED", "csrf_token": "forged"}]
    for form in forms:
        answer = care_page.request.post(f"{console_url}/care/{lapsed}/follow-ups", form=form, max_redirects=0)
        assert answer.status == 403
    assert run(recorded()) == before


def test_residents_and_hub_staff_get_the_403_page(browser: Browser, console_url: str, town: Town, screenshots: Path) -> None:
    page = browser.new_page()
    sign_in(page, console_url, town.resident)
    answer = page.goto(f"{console_url}/care")
    assert answer is not None and answer.status == 403
    expect(page.locator("main")).to_contain_text(text_of("This page is not for your role."))
    page.screenshot(path=str(screenshots / "care-as-resident-403.png"), full_page=True)
    page.close()
    page = browser.new_page(locale="ja-JP")
    sign_in_as(page, console_url, "staff")
    answer = page.goto(f"{console_url}/care")
    assert answer is not None and answer.status == 403
    expect(page.locator("main")).to_contain_text(text_of("This page is not for your role."))
    page.close()
