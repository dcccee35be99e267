"""Hub staff use the web console in a real browser, on the whole running platform: find a person
by kana, check them in by proxy, see the waitlist, and are kept to their own hub."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect
from psycopg import connect

from komagane_console.hub import PROXY_REASONS
from komagane_console.hub_actions import HUB_KINDS
from komagane_console.i18n import TOKYO, Localiser
from komagane_devstack.stack import Stack
from tests.console.conftest import PHONE_AND_ZOOM, fits_small_screens, run
from tests.console.test_console_resident import check
from tests.support.platform import gateway_client
from tests.support.waiting import eventually

HUB_PAGES = ["/hub", "/hub?q=%E3%82%84%E3%81%BE%E3%81%A0", "/hub/mix"]


def ja(message: str, **values: Any) -> str:
    return Localiser("ja").gettext(message, **values)


@dataclass
class HubTown:
    hub: str
    other_hub: str
    yamada: str
    sato: str
    suzuki: str
    class_session: str  # today at the hub, check-in open
    full_session: str  # today at the hub, one seat
    other_session: str  # today at the other hub


async def _session(gw: httpx.AsyncClient, hub: str, title: str, capacity: int) -> str:
    body = {"hub_id": hub, "title": title, "category": "KAYOINOBA", "organiser_kind": "ORGANISATION", "organiser_name": "JOCA", "is_kayoinoba": True}
    activity = (await gw.post("/v1/activities", json=body)).json()["id"]
    starts = datetime.now(UTC) + timedelta(minutes=5)  # check-in opens 30 minutes before
    answer = await gw.post(
        f"/v1/activities/{activity}/sessions",
        json={"starts_at": starts.isoformat(), "ends_at": (starts + timedelta(hours=1)).isoformat(), "capacity": capacity},
    )
    assert answer.status_code == 201, answer.text
    return str(answer.json()["id"])


async def _build(stack: Stack) -> HubTown:
    async with gateway_client(stack, "admin", subject="hub-e2e") as admin:
        hubs = [
            (await admin.post("/v1/hubs", json={"name_ja": name, "kind": "CIVIC_CENTRE", "area": "赤穂"})).json()["id"]
            for name in ("ウェルネス（テスト）", "ぱとな（テスト）")
        ]
    hub, other_hub = hubs
    people = []
    # Registered by the hub's own staff: that makes them people of this hub (the search's rule).
    async with gateway_client(stack, "staff", subject="hub-e2e-registrar", hub_id=hub) as staff:
        for name, kana in (("山田 太郎", "ヤマダ タロウ"), ("佐藤 一子", "サトウ イチコ"), ("鈴木 次郎", "すずき じろう")):
            answer = await staff.post("/v1/people", json={"display_name": name, "name_kana": kana, "birth_year": 1948, "residency_status": "RESIDENT"})
            assert answer.status_code == 201, answer.text
            people.append(str(answer.json()["id"]))
    async with gateway_client(stack, "admin", subject="hub-e2e") as admin:
        assert (await admin.put(f"/v1/people/{people[0]}/consents/PROFILE")).status_code == 200
        assert stack.postgres is not None
        database = stack.postgres.url("exchange")

        async def replicated() -> bool:
            with connect(database) as conn:
                row = conn.execute("SELECT count(*) FROM known_person WHERE person_id = ANY(%s)", (people,)).fetchone()
            return row is not None and row[0] == len(people)

        await eventually(replicated, timeout=60, what="the hub's people replicated to the exchange service")
        sessions = [
            await _session(admin, hub, "ごちゃまぜ体操（テスト）", 10),
            await _session(admin, hub, "満員の体操（テスト）", 1),
            await _session(admin, other_hub, "ぱとなの体操（テスト）", 10),
        ]
    return HubTown(hub, other_hub, *people, *sessions)


@pytest.fixture(scope="session")
def hub_town(stack: Stack) -> HubTown:
    """Session-scoped like the resident tests' town: set up before the module's browser, whose
    Playwright loop must not be open while asyncio code runs in this thread."""
    town = run(_build(stack))
    # The staff persona's hub comes from the demo town's file, as after `make up`.
    saved = stack.config.data_dir / "town.json"
    record: dict[str, Any] = json.loads(saved.read_text()) if saved.exists() else {"seed": 2026, "people": 500, "as_of": date.today().isoformat(), "ids": {}}
    record["ids"]["hub:wellness"] = town.hub
    saved.write_text(json.dumps(record, ensure_ascii=False))
    return town


def sign_in_as_staff(page: Page, console_url: str) -> None:
    page.goto(f"{console_url}/signin")
    page.get_by_role("button", name=ja("Hub staff of GOTCHA!WELLNESS")).click()
    page.wait_for_url(re.compile(r".*/hub$"))


def card_of(page: Page, session_id: str) -> Any:
    return page.get_by_test_id("today").locator(f"li[data-session='{session_id}']")


def test_hub_staff_find_a_person_by_kana_and_check_them_in_by_proxy(browser: Browser, console_url: str, hub_town: HubTown, stack: Stack) -> None:
    page = browser.new_page(viewport={"width": 768, "height": 1024}, locale="ja-JP")  # a tablet in portrait
    sign_in_as_staff(page, console_url)
    page.fill("#q", "やまだ")  # hiragana finds the katakana kana
    page.get_by_role("button", name=ja("Search")).click()
    found = page.get_by_test_id("found").locator("li")
    expect(found).to_have_count(1)
    expect(found).to_contain_text("山田 太郎")
    # Two taps: the reason, then the session.
    found.get_by_label(ja(PROXY_REASONS["no-phone"])).check()
    found.get_by_role("button", name=re.compile("ごちゃまぜ体操")).click()
    expect(page.locator(".flash")).to_have_text(ja("%(name)s is checked in.", name="山田 太郎"))
    expect(card_of(page, hub_town.class_session).get_by_test_id("checked-in")).to_have_text("1")

    today = datetime.now(TOKYO).date().isoformat()

    async def profiled() -> dict[str, Any] | None:
        async with gateway_client(stack, "staff", subject="hub-e2e-staff", hub_id=hub_town.hub) as gw:
            answer = await gw.get(f"/v1/profiles/{hub_town.yamada}")
        belonging = answer.json().get("belonging") if answer.status_code == 200 else None
        return belonging if belonging and belonging.get("last_participation") == today else None

    belonging = run(eventually(profiled, timeout=30, what="the check-in in the person's profile"))
    assert "KAYOINOBA" in belonging["category_bands"]
    # The reason is remembered: the next person's check-in is one tap.
    page.fill("#q", "ｻﾄｳ")  # half-width katakana too
    page.get_by_role("button", name=ja("Search")).click()
    sato = page.get_by_test_id("found").locator("li")
    expect(sato).to_contain_text("佐藤 一子")
    expect(sato.get_by_label(ja(PROXY_REASONS["no-phone"]))).to_be_checked()
    page.close()


def test_a_full_session_puts_the_next_reservation_on_the_waitlist_and_the_page_shows_it(
    browser: Browser, console_url: str, hub_town: HubTown, stack: Stack
) -> None:
    async def reserve() -> list[str]:
        async with gateway_client(stack, "admin", subject="hub-e2e") as gw:
            answers = [await gw.post(f"/v1/sessions/{hub_town.full_session}/reservations", json={"person_id": p}) for p in (hub_town.sato, hub_town.suzuki)]
        return [a.json()["status"] for a in answers]

    assert run(reserve()) == ["RESERVED", "WAITLISTED"]
    page = browser.new_page(viewport={"width": 360, "height": 800}, locale="ja-JP")
    sign_in_as_staff(page, console_url)
    card = card_of(page, hub_town.full_session)
    expect(card.get_by_test_id("capacity")).to_have_text("1")
    expect(card.get_by_test_id("reserved")).to_have_text("1")
    expect(card.get_by_test_id("waitlisted")).to_have_text("1")
    card.locator("summary").first.click()
    row = card.locator("tr", has_text="鈴木 次郎")
    expect(row.get_by_test_id("waitlist-place")).to_have_text(ja("Waiting list, number %(position)s", position=1))
    page.close()


def test_a_resident_cannot_open_the_hub_pages(browser: Browser, console_url: str, hub_town: HubTown) -> None:
    page = browser.new_page(locale="ja-JP")  # the staff persona has no language: the browser's decides
    page.goto(f"{console_url}/signin")
    page.fill("#person_id", hub_town.yamada)
    page.locator("form:has(#person_id) button[type=submit]").click()
    page.wait_for_url(re.compile(r".*/places$"))
    for path in ("/hub", "/hub/mix", f"/hub?hub={hub_town.hub}"):
        answer = page.goto(f"{console_url}{path}")
        assert answer is not None and answer.status == 403, path
        expect(page.locator("main")).to_contain_text(ja("This page is not for your role."))
        assert "Traceback" not in page.content()
    csrf = page.locator("input[name=csrf_token]").first.get_attribute("value")
    posted = page.request.post(
        f"{console_url}/hub/check-in",
        form={"csrf_token": csrf or "", "person_id": hub_town.yamada, "session_id": hub_town.class_session, "reason": "no-phone"},
        max_redirects=0,
    )
    assert posted.status == 403
    page.close()


def test_hub_staff_cannot_check_people_in_at_another_hub(browser: Browser, console_url: str, hub_town: HubTown, stack: Stack) -> None:
    page = browser.new_page(locale="ja-JP")  # the staff persona has no language: the browser's decides
    sign_in_as_staff(page, console_url)
    # Another hub's page is refused outright …
    answer = page.goto(f"{console_url}/hub?hub={hub_town.other_hub}")
    assert answer is not None and answer.status == 403
    # … and a check-in for another hub's session (a stale tab, a crafted form) is the gateway's 403, said plainly.
    page.goto(f"{console_url}/hub")
    csrf = page.locator("input[name=csrf_token]").first.get_attribute("value")
    form: dict[str, str | float | bool] = {
        "csrf_token": csrf or "",
        "hub": hub_town.hub,
        "person_id": hub_town.suzuki,
        "name": "鈴木 次郎",
        "session_id": hub_town.other_session,
        "reason": "no-phone",
    }
    posted = page.request.post(f"{console_url}/hub/check-in", form=form, max_redirects=0)
    assert posted.status == 303  # back to the page, which tells what happened
    page.goto(f"{console_url}/hub")
    expect(page.locator(".flash.error")).to_have_text(ja(HUB_KINDS["wrong-hub"]))

    async def attendance() -> list[object]:
        async with gateway_client(stack, "admin", subject="hub-e2e") as gw:
            return list((await gw.get(f"/v1/sessions/{hub_town.other_session}/attendance")).json()["items"])

    assert run(attendance()) == []
    page.close()


def test_the_hub_pages_are_accessible_and_fit_a_tablet_and_a_phone(browser: Browser, console_url: str, hub_town: HubTown, screenshots: Path) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="ja-JP")
    page = context.new_page()
    sign_in_as_staff(page, console_url)
    problems: dict[str, object] = {}
    for path in HUB_PAGES:
        page.goto(f"{console_url}{path}")
        name = "hub-" + re.sub(r"[^a-z]+", "-", path.strip("/").split("?")[0]).strip("-") + ("-search" if "?q=" in path else "")
        page.locator("details").evaluate_all("all => all.forEach(d => d.open = true)")
        check(page, name, screenshots, problems)
        fits_small_screens(page, name, screenshots, problems, ((768, 1024, "tablet-portrait"), *PHONE_AND_ZOOM))
    assert not problems, problems
    context.close()
