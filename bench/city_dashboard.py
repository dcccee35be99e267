"""The city office's KPI dashboard: first render in a browser, and the pages' server time.

Runs against a running platform (`make up`, e.g. `KOMAGANE_TOWN_PEOPLE=32000 make up` for the
full-size town; or any data dir of one). A city officer signs in through the console's
development sign-in (persona `city`). Then:

1. **First render in chromium** (Debian's, through Playwright), `--rounds` times, each in a new
   browser context (empty cache, so Chart.js is fetched again): from navigation start to the
   HTML's last byte, first contentful paint, `load`, and every chart drawn (the figures are
   visible once charts.js has drawn them from the tables).
2. **Server time** of `GET /city` and `GET /city/hubs` (HTML from the console, which asks the
   gateway for 12 months of KPIs in one call, or for every hub compared), and of the gateway reads
   behind them (`/v1/kpis?from=&to=`, `/v1/hubs/compared`), `--requests` times each, one after
   another: p50 and p95.

Prints the figures and the town's size. The load generator shares the machine with what it measures.

    python -m bench.city_dashboard [--console http://127.0.0.1:8110] [--gateway http://127.0.0.1:8100]
                                   [--data-dir .data] [--rounds 5] [--requests 30]
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import sync_playwright

from komagane_gateway.settings import GatewaySettings
from komagane_gateway.tokens import mint_token
from komagane_kit.clock import TOKYO
from komagane_kit.months import shift, this_month

CHROMIUM = "/usr/bin/chromium"


def sign_in(console: str) -> httpx.Cookies:
    """The console's session cookies of the demo city officer."""
    with httpx.Client(base_url=console, follow_redirects=False, timeout=60) as client:
        token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/signin").text)
        assert token, "the sign-in page has no CSRF token"
        answer = client.post("/signin/dev", data={"csrf_token": token.group(1), "persona": "city"})
        assert answer.status_code == 303, answer.text
        return client.cookies


def timed(client: httpx.Client, path: str, count: int, **params: str) -> list[float]:
    """Seconds per GET, `count` times one after another (every answer must be 200)."""
    out = []
    for _ in range(count):
        start = time.perf_counter()
        answer = client.get(path, params=params)
        out.append(time.perf_counter() - start)
        assert answer.status_code == 200, f"{path}: {answer.status_code} {answer.text[:300]}"
    return out


def p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def summary(values: list[float]) -> str:
    ms = [v * 1000 for v in values]
    return f"first {ms[0]:7.1f} ms   p50 {statistics.median(ms):7.1f} ms   p95 {p(ms, 0.95):7.1f} ms   (n={len(ms)})"


RENDER_PROBE = """async () => {
    const figures = [...document.querySelectorAll('figure[data-chart]')];
    const deadline = performance.now() + 30000;
    while (figures.some(f => f.hidden) && performance.now() < deadline) { await new Promise(r => setTimeout(r, 5)); }
    const drawn = performance.now();
    const nav = performance.getEntriesByType('navigation')[0];
    const paint = performance.getEntriesByName('first-contentful-paint')[0];
    return {html: nav.responseEnd, fcp: paint ? paint.startTime : null, load: nav.loadEventEnd, charts: drawn,
            figures: figures.length, hidden: figures.filter(f => f.hidden).length};
}"""


def browser_rounds(console: str, cookies: httpx.Cookies, rounds: int) -> list[dict[str, Any]]:
    host = httpx.URL(console).host
    jar = [{"name": c.name, "value": c.value or "", "domain": host, "path": "/"} for c in cookies.jar]
    out = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        for _ in range(rounds):
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            context.add_cookies(jar)  # type: ignore[arg-type]
            page = context.new_page()
            page.goto(f"{console}/city", wait_until="load", timeout=120_000)  # a busy machine can take long
            out.append(page.evaluate(RENDER_PROBE))
            context.close()
        browser.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--console", default="http://127.0.0.1:8110")
    parser.add_argument("--gateway", default="http://127.0.0.1:8100")
    parser.add_argument("--data-dir", type=Path, default=Path(".data"))
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--requests", type=int, default=30)
    args = parser.parse_args()

    town = args.data_dir / "town.json"
    people = json.loads(town.read_text())["people"] if town.exists() else None
    month = this_month(datetime.now(TOKYO).date())
    token = mint_token(GatewaySettings(data_dir=args.data_dir / "gateway"), "city", subject="bench-city")
    with httpx.Client(base_url=args.gateway, headers={"Authorization": f"Bearer {token}"}, timeout=60) as gw:
        kpis = gw.get("/v1/kpis", params={"month": month}).json()
        hubs = gw.get("/v1/hubs/compared", params={"month": month}).json()["items"]
        print(f"town: {people if people is not None else 'unknown'} residents; this month {month}: ", end="")
        print(f"{kpis.get('hub_visits')} hub visits by {kpis.get('hub_visitors')} people; {len(hubs)} hubs", flush=True)

        cookies = sign_in(args.console)
        print(f"\nfirst render of /city in chromium, a new browser context each round ({args.rounds} rounds), ms from navigation start:")
        rounds = browser_rounds(args.console, cookies, args.rounds)
        for i, r in enumerate(rounds, start=1):
            fcp = f"{r['fcp']:7.1f}" if r["fcp"] is not None else "    n/a"
            print(f"  round {i}: html {r['html']:7.1f}   first paint {fcp}   load {r['load']:7.1f}   all {r['figures']} charts drawn {r['charts']:7.1f}")
        charts = [r["charts"] for r in rounds]
        print(f"  charts drawn: median {statistics.median(charts):.0f} ms, worst {max(charts):.0f} ms")

        print(f"\nserver time, {args.requests} requests one after another:")
        months = {"from": shift(month, -11), "to": month}
        print(f"  gateway /v1/kpis (12 months)  {summary(timed(gw, '/v1/kpis', args.requests, **months))}")
        print(f"  gateway /v1/hubs/compared     {summary(timed(gw, '/v1/hubs/compared', args.requests, month=month))}")
    with httpx.Client(base_url=args.console, cookies=cookies, timeout=60) as console:
        print(f"  console /city                 {summary(timed(console, '/city', args.requests))}")
        print(f"  console /city/hubs            {summary(timed(console, '/city/hubs', args.requests))}")
        print(f"  console /city/download/participation-65.xlsx {summary(timed(console, '/city/download/participation-65.xlsx', args.requests))}")


if __name__ == "__main__":
    main()
