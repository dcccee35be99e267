"""What an operator sees after `make up`: traces in Zipkin, metrics and alerts in Prometheus.

A platform of this module's own with the operator's view on (`StackConfig.observe`: Zipkin and
Prometheus, every process exporting to them as under `make up`), and short `for:` durations on
the alert rules (the same rule files, `alert_for`). The session's platform runs without them.
"""

from __future__ import annotations

import asyncio
import secrets
import sqlite3
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from opentelemetry.instrumentation.utils import suppress_instrumentation
from playwright.sync_api import sync_playwright

from komagane_devstack.stack import PILLARS, Stack
from tests.support.platform import gateway_client, own_platform
from tests.support.waiting import eventually

CHROMIUM = "/usr/bin/chromium"
PROFILES_GROUP = "komagane-profiles"
# Requests per second by service: the kit's server metric, and the console's (the FastAPI
# instrumentation's newer name).
REQUEST_RATE = (
    "sum by (service_name) (rate(http_server_duration_milliseconds_count[1m])) or sum by (service_name) (rate(http_server_request_duration_seconds_count[1m]))"
)
HTTP_SERVICES = {name for name, _module in PILLARS} | {"gateway", "console"}


@pytest.fixture(scope="module")
def observed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    env = {"OUTBOX_POLL_SECONDS": "0.5", "OUTBOX_BACKOFF_MAX_SECONDS": "1", "OTEL_BSP_SCHEDULE_DELAY": "100", "PROFILES_LAPSE_CHECK_SECONDS": "1"}
    # The lag test writes as fast as one client can; on a fast machine that outruns the default
    # write limit (50/s) and its 429s are not what this module tests.
    env |= {"RATE_LIMIT_WRITE_PER_SECOND": "10000", "RATE_LIMIT_WRITE_BURST": "10000"}
    with own_platform(tmp_path_factory.mktemp("observed-stack"), env, observe=True, alert_for="10s") as platform:
        yield platform


async def _known_to_exchange(stack: Stack, person: str) -> bool:
    """The exchange service's people replica has `person` (its SQLite database, read-only)."""
    with sqlite3.connect(f"file:{stack.config.data_dir / 'exchange.db'}?mode=ro", uri=True) as conn:
        return bool(conn.execute("SELECT count(*) FROM known_person WHERE person_id = ?", (person,)).fetchone()[0] == 1)


@pytest.fixture(scope="module")
def visit(observed: Stack) -> dict[str, str]:
    """One hub visit through the gateway under a trace id of the test's own; ids of what it made."""

    async def make() -> dict[str, str]:
        async with gateway_client(observed, "admin", subject="operator-view") as gateway:
            registered = await gateway.post("/v1/people", json={"display_name": "オペレーター 四郎", "birth_year": 1950, "residency_status": "RESIDENT"})
            assert registered.status_code == 201, registered.text
            person = str(registered.json()["id"])
            await eventually(lambda: _known_to_exchange(observed, person), timeout=60, what="the person in the exchange service's replica")
            assert (await gateway.put(f"/v1/people/{person}/consents/PROFILE")).status_code == 200
            hub = await gateway.post("/v1/hubs", json={"name_ja": "運用テスト館", "kind": "CIVIC_CENTRE", "area": "赤穂"})
            assert hub.status_code == 201, hub.text
            trace_id = secrets.token_hex(16)
            with suppress_instrumentation():  # this process's own httpx span would otherwise be the parent
                answer = await gateway.post(
                    f"/v1/hubs/{hub.json()['id']}/visits",
                    json={"person_id": person},
                    headers={"traceparent": f"00-{trace_id}-{secrets.token_hex(8)}-01"},
                )
            assert answer.status_code in (200, 201), answer.text
            return {"person": person, "hub": str(hub.json()["id"]), "trace_id": trace_id}

    # A module fixture needs its own loop (the tests' loops are per function).
    return asyncio.run(make())


@pytest.fixture
async def zipkin(observed: Stack) -> AsyncIterator[httpx.AsyncClient]:
    assert observed.observe is not None
    async with httpx.AsyncClient(base_url=f"{observed.observe.zipkin_url}/zipkin/api/v2", timeout=10) as client:
        yield client


@pytest.fixture
async def prometheus(observed: Stack) -> AsyncIterator[httpx.AsyncClient]:
    assert observed.observe is not None
    async with httpx.AsyncClient(base_url=f"{observed.observe.prometheus_url}/api/v1", timeout=10) as client:
        yield client


def _chain(spans: list[dict[str, Any]], leaf: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(service, kind, name) from the trace's root down to `leaf`, following parentId."""
    by_id = {s["id"]: s for s in spans}
    chain = []
    span: dict[str, Any] | None = leaf
    while span is not None:
        chain.append((span["localEndpoint"]["serviceName"], span.get("kind", "INTERNAL"), span.get("name", "")))
        span = by_id.get(span.get("parentId", ""))
    return chain[::-1]


async def _trace(zipkin: httpx.AsyncClient, trace_id: str) -> list[dict[str, Any]]:
    answer = await zipkin.get(f"/trace/{trace_id}")
    return list(answer.json()) if answer.status_code == 200 else []


async def test_a_hub_visit_is_one_trace_in_zipkin_from_gateway_through_kafka_to_profiles(zipkin: httpx.AsyncClient, visit: dict[str, str]) -> None:
    trace_id = visit["trace_id"]

    async def folded() -> list[dict[str, Any]] | None:
        spans = await _trace(zipkin, trace_id)
        ids = {s["id"] for s in spans}
        roots = [s for s in spans if s.get("parentId") not in ids]
        fold = [s for s in spans if s["localEndpoint"]["serviceName"] == "profiles" and s.get("kind") == "CONSUMER"]
        return spans if fold and len(roots) == 1 else None

    try:
        spans = await eventually(folded, timeout=120, interval=0.5, what="the visit's trace to reach the profiles processor in Zipkin")
    except AssertionError as exc:
        seen = [(s["localEndpoint"]["serviceName"], s.get("kind"), s.get("name")) for s in await _trace(zipkin, trace_id)]
        raise AssertionError(f"{exc}; spans so far: {seen}") from None

    fold = next(s for s in spans if s["localEndpoint"]["serviceName"] == "profiles" and s.get("kind") == "CONSUMER")
    chain = _chain(spans, fold)
    services = [service for service, _kind, _name in chain]
    # Parent/child links cross every hop: the gateway's request, its call to exchange, exchange's
    # request, its outbox publish to Kafka, and the processor's fold of that message.
    assert chain[0][:2] == ("gateway", "SERVER"), chain
    assert ("gateway", "CLIENT") in [c[:2] for c in chain], chain
    # The visit is served by the grouped-writes path: its span names the route all the same.
    assert ("exchange", "SERVER", "post /v1/hubs/{hub_id}/visits") in chain, chain
    producer = [c for c in chain if c[:2] == ("exchange", "PRODUCER")]
    assert producer and "exchange.v1" in producer[0][2], chain
    assert services.index("gateway") < services.index("exchange") < services.index("profiles"), chain
    assert fold["name"] == "profiles fold exchange.v1"
    # Found by service and operation, as the UI searches.
    found = await zipkin.get("/traces", params={"serviceName": "gateway", "spanName": chain[0][2], "lookback": 3_600_000, "limit": 1000})
    assert trace_id in {trace[0]["traceId"] for trace in found.json()}


async def _query(prometheus: httpx.AsyncClient, expr: str) -> list[dict[str, Any]]:
    answer = await prometheus.get("/query", params={"query": expr})
    assert answer.status_code == 200, answer.text
    return list(answer.json()["data"]["result"])


async def test_prometheus_has_outbox_backlog_profiles_lag_and_every_services_request_rate(
    prometheus: httpx.AsyncClient, observed: Stack, visit: dict[str, str]
) -> None:
    async with gateway_client(observed, "admin", subject="operator-view") as gateway:
        for path in ("/v1/people/" + visit["person"], "/v1/sessions", "/v1/opportunities", "/v1/health/programs", "/v1/properties", "/v1/partners"):
            await gateway.get(path)
    assert observed.console is not None
    async with httpx.AsyncClient(base_url=observed.console.url) as console:
        assert (await console.get("/signin")).status_code == 200

    async def series(expr: str, label: str, wanted: set[str]) -> set[str] | None:
        found = {r["metric"].get(label, "") for r in await _query(prometheus, expr)}
        return found if wanted <= found else None

    # Every pillar's gauge, once each has been scraped (they report at their own pace).
    await eventually(
        lambda: series("outbox_backlog", "service_name", {"people", "exchange", "jobs", "health", "housing"}),
        timeout=120,
        interval=1,
        what="outbox_backlog of every pillar service",
    )
    await eventually(
        lambda: series(f'kafka_consumergroup_lag{{consumergroup="{PROFILES_GROUP}"}}', "topic", {"people.v1", "exchange.v1"}),
        timeout=90,
        interval=1,
        what="the profiles group's consumer lag on the topics it has read",
    )
    # Per partition: the series carry the partition it is about.
    per_partition = await _query(prometheus, f'kafka_consumergroup_lag{{consumergroup="{PROFILES_GROUP}", topic="people.v1"}}')
    assert per_partition and all(r["metric"]["partition"].isdigit() for r in per_partition)
    rate = REQUEST_RATE
    try:
        await eventually(lambda: series(rate, "service_name", HTTP_SERVICES), timeout=90, interval=1, what="the request rate of every service")
    except AssertionError as exc:
        raise AssertionError(f"{exc}; have {sorted({r['metric'].get('service_name', '') for r in await _query(prometheus, rate)})}") from None
    # Every process is a target that answers (the ProcessDown alert reads this).
    down = await _query(prometheus, "up == 0")
    assert down == [], down


def test_the_trace_ui_finds_the_visit_by_service_and_operation_and_prometheus_lists_the_alerts(
    observed: Stack, visit: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> None:
    assert observed.observe is not None
    shots = tmp_path_factory.mktemp("operator-screenshots")
    print(f"operator screenshots: {shots}")
    trace_id = visit["trace_id"]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1400, "height": 900}, locale="en-US")
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)[:500]))
        page.on("console", lambda message: errors.append(message.text[:500]) if message.type == "error" else None)
        try:
            # Zipkin's search by service and operation (the form's own URL), as an operator fills it in.
            search = f"{observed.observe.zipkin_url}/zipkin/?serviceName=gateway&spanName=post+%2Fv1%2F%7Bpath%3Apath%7D&lookback=1h&limit=100"
            page.goto(search, wait_until="networkidle", timeout=180_000)
            # Its UI is a single-page app that loads its scripts first: generous on a loaded machine.
            page.get_by_role("button", name="Run query").click(timeout=180_000)
            row = page.locator(f'a[href$="/traces/{trace_id}"]')
            row.wait_for(timeout=60_000)
            page.screenshot(path=str(shots / "zipkin-search.png"), full_page=True)
            row.click()
            page.wait_for_url(f"**/traces/{trace_id}", timeout=30_000)
            page.get_by_text("profiles fold exchange.v1").first.wait_for(timeout=30_000)
            for service in ("gateway", "exchange", "profiles"):
                assert page.get_by_text(service).count() > 0, service
            page.screenshot(path=str(shots / "zipkin-trace.png"), full_page=True)

            # Debian builds Prometheus with its classic UI only (the React UI is not packaged).
            page.goto(f"{observed.observe.prometheus_url}/classic/alerts")
            for alert in ("OutboxEventTooOld", "ConsumerLagHigh", "DeadLetterQueueGrowing", "ProfilesBehind"):
                page.get_by_text(alert).first.wait_for(timeout=30_000)
            page.screenshot(path=str(shots / "prometheus-alerts.png"), full_page=True)
        except Exception as exc:
            page.screenshot(path=str(shots / "failed.png"), full_page=True)  # what the browser showed
            raise AssertionError(f"{exc}; the page's errors: {errors}") from None
        browser.close()
    assert (shots / "zipkin-trace.png").stat().st_size > 10_000


async def _alert_state(prometheus: httpx.AsyncClient, name: str) -> set[str]:
    answer = await prometheus.get("/alerts")
    return {a["state"] for a in answer.json()["data"]["alerts"] if a["labels"]["alertname"] == name and a["labels"].get("consumergroup") == PROFILES_GROUP}


async def test_stopping_the_profiles_worker_under_writes_makes_the_lag_alert_pend_then_fire(
    prometheus: httpx.AsyncClient, observed: Stack, visit: dict[str, str], tmp_path: Path
) -> None:
    assert observed.profiles is not None
    assert await _alert_state(prometheus, "ConsumerLagHigh") == set()
    observed.profiles.process.kill(stay_down=True)
    states: list[str] = []
    stop = asyncio.Event()

    async def write() -> None:
        async with gateway_client(observed, "admin", subject="operator-view") as gateway:
            while not stop.is_set():
                sent = (gateway.post(f"/v1/hubs/{visit['hub']}/visits", json={"person_id": visit["person"]}) for _ in range(20))
                answers = await asyncio.gather(*sent, return_exceptions=True)
                # A kept-alive connection the server closed at that moment is load not sent, not a failure.
                refused = [a.text for a in answers if isinstance(a, httpx.Response) and a.status_code not in (200, 201)]
                assert not refused, refused
                assert all(isinstance(a, httpx.Response | httpx.TransportError) for a in answers), answers

    async def state(wanted: str) -> bool:
        now = await _alert_state(prometheus, "ConsumerLagHigh")
        if now and (not states or states[-1] != sorted(now)[0]):
            states.append(sorted(now)[0])
        return wanted in now

    writer = asyncio.create_task(write())
    try:
        await eventually(lambda: state("pending"), timeout=180, interval=0.5, what="ConsumerLagHigh pending")
        await eventually(lambda: state("firing"), timeout=120, interval=0.5, what="ConsumerLagHigh firing")
    finally:
        stop.set()
        await writer
        observed.profiles.process.start()
    assert states[:2] == ["pending", "firing"], states
