"""A resident uses the web console in a real browser, on the whole running platform."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
from playwright.sync_api import Browser, Page, expect

from komagane_console.i18n import Localiser
from komagane_devstack.stack import Stack
from tests.console.conftest import Town, axe_violations, fits_small_screens, run, sign_in
from tests.support.platform import gateway_client
from tests.support.waiting import eventually

RESIDENT_PAGES = ["/places", "/sessions", "/work", "/consents", "/my-data", "/consents/PROFILE/confirm?action=withdraw"]


def text_of(lang: str, message: str) -> str:
    return Localiser(lang).gettext(message)


def test_signed_out_access_redirects_to_sign_in_and_a_post_without_csrf_is_refused(browser: Browser, console_url: str, town: Town) -> None:
    page = browser.new_page()
    for path in RESIDENT_PAGES:
        page.goto(f"{console_url}{path}")
        assert urlpath(page.url) == "/signin", path
    # A forged form elsewhere, posting with the resident's session cookie but without the token.
    sign_in(page, console_url, town.resident)
    session_id = town.sessions["ノルディックウォーキング"]
    answer = page.request.post(f"{console_url}/sessions/{session_id}/reserve", form={"anything": "1"}, max_redirects=0)
    assert answer.status == 403
    answer = page.request.post(f"{console_url}/sessions/{session_id}/reserve", form={"csrf_token": "forged"}, max_redirects=0)
    assert answer.status == 403
    page.goto(f"{console_url}/sessions")
    expect(page.get_by_test_id("my-reservations")).to_have_count(0)  # nothing was reserved
    page.close()


def urlpath(url: str) -> str:
    return httpx.URL(url).path


def test_a_resident_reserves_a_session_and_sees_it_under_my_reservations(browser: Browser, console_url: str, town: Town, stack: Stack) -> None:
    page = browser.new_page()
    sign_in(page, console_url, town.resident)
    page.goto(f"{console_url}/sessions")
    card = page.get_by_test_id("sessions").locator("li", has_text="いきいき体操")
    card.get_by_role("button").click()
    expect(page.locator(".flash")).to_have_text(text_of("ja", "Your place is reserved."))
    expect(page.get_by_test_id("my-reservations")).to_contain_text("いきいき体操")

    async def reserved() -> list[str]:
        async with gateway_client(stack, "resident", subject=town.resident) as gw:
            return [s["session"]["title"] for s in (await gw.get(f"/v1/people/{town.resident}/sessions")).json()]

    assert run(reserved()) == ["いきいき体操"]
    # And cancelled again, from the same list.
    page.get_by_test_id("my-reservations").locator("li", has_text="いきいき体操").get_by_role("button").click()
    expect(page.locator(".flash")).to_have_text(text_of("ja", "Your reservation is cancelled."))
    assert run(reserved()) == []
    page.close()


def test_switching_to_vietnamese_and_easy_japanese_translates_the_pages(browser: Browser, console_url: str, town: Town) -> None:
    page = browser.new_page()
    sign_in(page, console_url, town.resident)
    for lang, label in (("vi", "Tiếng Việt"), ("ja-easy", "やさしい にほんご")):
        page.get_by_role("button", name=label).click()
        page.wait_for_load_state()
        assert page.locator("html").get_attribute("lang") == ("vi" if lang == "vi" else "ja")
        expect(page.locator("h1")).to_have_text(text_of(lang, "My places and roles"))
        expect(page.get_by_role("navigation")).to_contain_text(text_of(lang, "Sessions"))
        page.goto(f"{console_url}/sessions")
        expect(page.locator("h1")).to_have_text(text_of(lang, "Sessions"))
        page.goto(f"{console_url}/places")
    assert text_of("vi", "Sessions") != "Sessions" and text_of("ja-easy", "Sessions") != text_of("ja", "Sessions")
    page.close()


def test_bad_input_shows_the_field_error_in_the_users_language_and_writes_nothing(browser: Browser, console_url: str, town: Town, stack: Stack) -> None:
    page = browser.new_page()
    sign_in(page, console_url, town.resident)
    page.get_by_role("button", name="Tiếng Việt").click()
    page.goto(f"{console_url}/work")
    field = page.locator(f"#message-{town.opportunity}")
    field.fill("あ" * 2001)  # the gateway takes at most 2,000 characters
    page.locator(f"form[action='/work/{town.opportunity}/apply'] button[type=submit]").click()
    error = page.locator(f"#message-{town.opportunity}-error")
    expect(error).to_have_text(text_of("vi", "This is too long."))
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(page.locator(".flash.error")).to_have_text(text_of("vi", "Some entries need correcting. Please look at the marked fields."))

    async def applications() -> list[object]:
        async with gateway_client(stack, "admin", subject="console-e2e") as gw:
            return list((await gw.get(f"/v1/opportunities/{town.opportunity}/applications")).json()["items"])

    assert run(applications()) == []
    page.close()


def test_withdrawing_profile_consent_leaves_the_places_page_with_nothing_to_show(browser: Browser, console_url: str, town: Town, stack: Stack) -> None:
    page = browser.new_page()
    sign_in(page, console_url, town.resident)
    expect(page.locator("h2#places")).to_be_visible()
    expect(page.get_by_test_id("nothing-to-show")).to_have_count(0)
    page.goto(f"{console_url}/consents")
    page.locator("a[href='/consents/PROFILE/confirm?action=withdraw']").click()
    page.get_by_role("button", name=text_of("ja", "Yes, withdraw")).click()
    expect(page.locator(".flash")).to_have_text(text_of("ja", "Your consent is withdrawn. We stop using your data for this."))

    async def profile_gone() -> bool:
        async with gateway_client(stack, "resident", subject=town.resident) as gw:
            return (await gw.get(f"/v1/profiles/{town.resident}")).status_code == 404

    run(eventually(profile_gone, timeout=30, what="the profile's removal"))
    page.goto(f"{console_url}/places")
    expect(page.get_by_test_id("nothing-to-show")).to_have_text(text_of("ja", "There is nothing to show here."))
    # Given again, for the tests that follow.
    page.goto(f"{console_url}/consents/PROFILE/confirm?action=grant")
    page.get_by_role("button", name=text_of("ja", "Yes, I agree")).click()
    page.close()


def test_every_page_is_accessible_readable_and_fits_a_phone(browser: Browser, console_url: str, town: Town, screenshots: Path) -> None:
    """axe-core finds no serious or critical violation; body text ≥ 16 px; targets ≥ 44 px; no
    sideways scrolling at 360 px wide or at 200 % zoom (a 1280-px window at 200 % lays out as 640 px)."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(f"{console_url}/signin")
    pages = {"signin": page}
    problems: dict[str, object] = {}
    check(page, "signin", screenshots, problems)
    sign_in(page, console_url, town.resident)
    for path in RESIDENT_PAGES:
        page.goto(f"{console_url}{path}")
        name = re.sub(r"[^a-z]+", "-", path.strip("/").split("?")[0]) + ("-withdraw" if "withdraw" in path else "")
        page.locator("details").evaluate_all("all => all.forEach(d => d.open = true)")  # the evidence, opened
        check(page, name, screenshots, problems)
        fits_small_screens(page, name, screenshots, problems)
    assert pages and not problems, problems
    assert len(list(screenshots.glob("*.png"))) >= 3 * len(RESIDENT_PAGES)
    context.close()


TARGETS = "button, input:not([type=hidden]), select, textarea, summary, nav a, a.button"


def check(page: Page, name: str, screenshots: Path, problems: dict[str, object]) -> None:
    page.screenshot(path=str(screenshots / f"{name}.png"), full_page=True)
    # Nothing from a CDN: every script, stylesheet, image and font comes from the console itself.
    elsewhere = page.evaluate(
        """() => performance.getEntriesByType('resource').map(r => r.name)
            .concat([...document.querySelectorAll('[src], link[href]')].map(e => e.src || e.href))
            .filter(u => new URL(u, location.href).origin !== location.origin)"""
    )
    if elsewhere:
        problems[f"{name} loads from other hosts"] = elsewhere
    violations = axe_violations(page)
    if violations:
        problems[f"{name} axe"] = violations
    body = page.evaluate("parseFloat(getComputedStyle(document.body).fontSize)")
    if body < 16:
        problems[f"{name} body text"] = body
    small = page.locator(TARGETS).evaluate_all(
        """all => all.filter(e => e.offsetParent !== null).map(e => [e.outerHTML.slice(0, 80), e.getBoundingClientRect()])
            .filter(([_, r]) => r.height < 44 || r.width < 44).map(([html, r]) => `${html} ${Math.round(r.width)}x${Math.round(r.height)}`)"""
    )
    if small:
        problems[f"{name} targets under 44px"] = small


def test_everything_works_by_keyboard(browser: Browser, console_url: str, town: Town) -> None:
    """Tab reaches the skip link first and then every control of the page, in order; a reservation
    is made and cancelled with Tab and Enter alone."""
    page = browser.new_page()
    sign_in(page, console_url, town.resident)
    page.goto(f"{console_url}/sessions")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip"
    controls = page.locator("a[href], button, input:not([type=hidden]), select, textarea, summary").evaluate_all(
        "all => all.filter(e => e.offsetParent !== null || e.classList.contains('skip')).length"
    )
    reached = set()
    for _ in range(controls + 5):
        reached.add(page.evaluate("document.activeElement.outerHTML"))
        page.keyboard.press("Tab")
    assert len(reached) >= controls, (len(reached), controls)
    # Reserve by keyboard: Tab to the session's button and press Enter.
    target = page.get_by_test_id("sessions").locator("li", has_text="ノルディックウォーキング").get_by_role("button")
    for _ in range(200):
        if target.evaluate("b => b === document.activeElement"):
            break
        page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("my-reservations")).to_contain_text("ノルディックウォーキング")
    mine = page.get_by_test_id("my-reservations").locator("li", has_text="ノルディックウォーキング").get_by_role("button")
    mine.focus()
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("my-reservations")).to_have_count(0)
    page.close()
