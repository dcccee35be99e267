"""Browser tests of the web console on the whole running platform (the session's `stack`).

Playwright for Python drives Debian's chromium (`/usr/bin/chromium`, installed by the install
script; no browser download). axe-core, from npm at the version infra/web-assets pins, is
injected into every page the tests visit. Screenshots go to a folder under pytest's temporary
directory, named at the end of the run.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from komagane_devstack.stack import Stack
from tests.support.platform import gateway_client, register_people
from tests.support.waiting import eventually

CHROMIUM = "/usr/bin/chromium"
AXE = Path(__file__).resolve().parents[2] / "infra" / "web-assets" / "node_modules" / "axe-core" / "axe.min.js"
SHOT_DIRS: list[Path] = []
T = TypeVar("T")


def pytest_terminal_summary(terminalreporter: Any) -> None:
    for folder in SHOT_DIRS:
        terminalreporter.write_line(f"console screenshots: {folder}")


@pytest.fixture(scope="module")
def browser(stack: Stack) -> Iterator[Browser]:
    # Playwright's sync API keeps an event loop running in this thread while it is open, and
    # asyncio code cannot run beside it: so it starts after the stack (whose start-up uses
    # asyncio) and stops at the end of each module, before the asyncio tests of other folders.
    with sync_playwright() as playwright:
        # --no-sandbox: the tests run as root in CI, where chromium's sandbox cannot start.
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield launched
        launched.close()


@pytest.fixture(scope="session")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("console-screenshots")
    SHOT_DIRS.append(folder)
    print(f"console screenshots: {folder}")
    return folder


@dataclass
class Town:
    """What the tests need in the platform: a resident with a profile, a hub, sessions and an opportunity."""

    resident: str
    hub: str
    sessions: dict[str, str]  # title → id
    opportunity: str


async def _build_town(stack: Stack) -> Town:
    async with gateway_client(stack, "admin", subject="console-e2e") as gw:
        (resident,) = await register_people(gw, stack, known_to="exchange", count=1, name="コンソール 花子")
        assert (await gw.put(f"/v1/people/{resident}/consents/PROFILE")).status_code == 200
        hub = (await gw.post("/v1/hubs", json={"name_ja": "ぱとな", "name_en": "Patona", "kind": "CIVIC_CENTRE", "area": "赤穂"})).json()["id"]
        activity = {"hub_id": hub, "category": "SPORTS", "organiser_kind": "ORGANISATION", "organiser_name": "JOCA", "languages": ["ja"]}
        sessions: dict[str, str] = {}
        starts = datetime.now(UTC) + timedelta(days=2)
        for title in ("いきいき体操", "ノルディックウォーキング"):
            activity_id = (await gw.post("/v1/activities", json={**activity, "title": title})).json()["id"]
            body = {"starts_at": starts.isoformat(), "ends_at": (starts + timedelta(hours=1)).isoformat(), "capacity": 10}
            answer = await gw.post(f"/v1/activities/{activity_id}/sessions", json=body)
            assert answer.status_code == 201, answer.text
            sessions[title] = answer.json()["id"]
        # A visit, so the person has a place to show (and a profile, once processed).
        assert (await gw.post(f"/v1/hubs/{hub}/visits", json={"person_id": resident, "purpose": "お茶のみ"})).status_code == 201
        job = {
            "title": "配食ボランティア",
            "organisation": "JOCA",
            "hub_id": hub,
            "area": "赤穂",
            "arrangement": "VOLUNTEER",
            "paid": False,
            "weekly_slots": [],
        }
        answer = await gw.post("/v1/opportunities", json=job)
        assert answer.status_code == 201, answer.text
        opportunity = answer.json()["id"]

        async def profiled() -> bool:
            return (await gw.get(f"/v1/profiles/{resident}")).status_code == 200

        await eventually(profiled, timeout=60, what="the resident's profile")
    return Town(resident, hub, sessions, opportunity)


def run(work: Coroutine[Any, Any, T]) -> T:
    """A coroutine run to its end from a test (Playwright's sync API keeps its own loop in this thread)."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, work).result()


@pytest.fixture(scope="session")
def town(stack: Stack) -> Town:
    return run(_build_town(stack))


@pytest.fixture(scope="session")
def console_url(stack: Stack) -> str:
    assert stack.console is not None
    return stack.console.url


def sign_in(page: Page, console_url: str, person_id: str) -> None:
    """The development sign-in form, as a newcomer would use it."""
    page.goto(f"{console_url}/signin")
    page.fill("#person_id", person_id)
    page.locator("form:has(#person_id) button[type=submit]").click()
    page.wait_for_url(re.compile(r".*/places$"))


# Narrow screens every page must fit without sideways scrolling: a phone, and a laptop at 200 % zoom.
PHONE_AND_ZOOM = ((360, 800, "phone-360px"), (640, 800, "zoom-200"))


def fits_small_screens(page: Page, name: str, screenshots: Path, problems: dict[str, object], sizes: tuple[tuple[int, int, str], ...] = PHONE_AND_ZOOM) -> None:
    """The page at each size: sideways scrolling noted in `problems`, a screenshot kept; the
    page is left at the desktop size the tests start from."""
    for width, height, label in sizes:
        page.set_viewport_size({"width": width, "height": height})
        overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        if overflow > 1:
            problems[f"{name} {label}"] = f"{overflow}px sideways scrolling"
        page.screenshot(path=str(screenshots / f"{name}-{label}.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})


def axe_violations(page: Page) -> list[dict[str, Any]]:
    """axe-core's serious and critical violations on the page as it is now."""
    page.add_script_tag(path=str(AXE))
    found: list[dict[str, Any]] = page.evaluate(
        """async () => (await axe.run(document, {resultTypes: ['violations']})).violations
            .filter(v => v.impact === 'serious' || v.impact === 'critical')
            .map(v => ({id: v.id, impact: v.impact, help: v.help, targets: v.nodes.map(n => n.target.join(' '))}))"""
    )
    return found
