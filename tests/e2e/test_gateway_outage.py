"""The gateway while part of the platform is down, on real processes.

This module runs its own stack (the embedded SQLite default, as `make up` runs it), not the
session's: it kills a pillar service and stops the broker, which the other tests must not see.

- A pillar service killed (`kill -9`): its routes answer 503 problem+json with Retry-After,
  other services' routes keep answering, and once it is restarted its routes answer again
  within about a second of its readiness (the circuit follows the service's /readyz).
- Kafka stopped: writes through the gateway are still accepted (the outbox holds them),
  profiles keep being read from Redis, a service stopped meanwhile stops cleanly and at once,
  and once the broker is back every held write reaches Kafka.

`pytest tests/e2e/test_gateway_outage.py -s` prints the recovery figures.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from komagane_contracts.topics import PEOPLE
from komagane_devstack.services import ServiceProcess
from komagane_devstack.stack import Stack
from tests.support.kafka import header, read_topic
from tests.support.platform import own_platform
from tests.support.waiting import eventually

# Within seconds of the service's readiness (not the 30-s open period) its first route answers through the
# gateway: the circuit's readiness probe runs every 0.2 s, the rest is margin for a busy machine.
RECOVERY_BOUND_SECONDS = 5.0
POLL_SECONDS = 0.02


@pytest.fixture(scope="module")
def outage_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    # A circuit stays open longer than any restart here takes: recovery must come from
    # following the service's readiness, whatever is left of the open period.
    env = {"OUTBOX_POLL_SECONDS": "0.5", "OUTBOX_BACKOFF_MAX_SECONDS": "1", "PROFILES_LAPSE_CHECK_SECONDS": "1", "CIRCUIT_OPEN_SECONDS": "30"}
    with own_platform(tmp_path_factory.mktemp("outage-stack"), env) as platform:
        yield platform


@pytest.fixture
async def client(outage_stack: Stack) -> AsyncIterator[httpx.AsyncClient]:
    assert outage_stack.gateway is not None
    token = outage_stack.mint_token("admin", subject="outage-admin")
    async with httpx.AsyncClient(base_url=outage_stack.gateway.url, timeout=30, headers={"Authorization": f"Bearer {token}"}) as gateway:
        yield gateway


async def _first_ok(call: object, *, what: str, timeout: float = 120) -> float:
    """Poll `call` (an async callable giving a status code) until it gives 2xx; the moment it did."""

    async def ok() -> float | None:
        status = await call()  # type: ignore[operator]
        return time.monotonic() if 200 <= status < 300 else None

    return await eventually(ok, timeout=timeout, interval=POLL_SECONDS, what=what)


async def test_a_killed_service_is_refused_alone_and_answers_again_at_its_readiness(outage_stack: Stack, client: httpx.AsyncClient) -> None:
    exchange = outage_stack.pillars["exchange"]
    assert (await client.get("/v1/hubs")).status_code == 200
    exchange.process.kill()

    # Each refused GET is three failures (two retries): the circuit opens after the second.
    for _ in range(3):
        down = await client.get("/v1/hubs")
        assert down.status_code == 503, down.text
        assert down.headers["content-type"] == "application/problem+json"
        assert down.json()["type"].endswith("/service-unavailable") and down.json()["service"] == "exchange"
        assert 1 <= int(down.headers["retry-after"]) <= 5
    write = await client.post("/v1/hubs", json={"name_ja": "赤穂公民館", "kind": "COMMUNITY_HALL", "area": "赤穂"})
    assert write.status_code == 503 and write.headers["retry-after"] == "1"  # the circuit may close any moment
    # The other services' routes are unaffected.
    assert (await client.get("/v1/opportunities")).status_code == 200
    person = await client.post("/v1/people", json={"display_name": "停電 太郎", "birth_year": 1950, "residency_status": "RESIDENT"})
    assert person.status_code == 201, person.text

    async def hubs_status() -> int:
        return (await client.get("/v1/hubs")).status_code

    async def exchange_ready() -> int:
        try:
            async with httpx.AsyncClient(timeout=2) as direct:
                return (await direct.get(f"{exchange.url}/readyz")).status_code
        except httpx.HTTPError:
            return 0

    restarted = asyncio.create_task(asyncio.to_thread(exchange.start))
    ready_at, answered_at = await asyncio.gather(
        _first_ok(exchange_ready, what="the exchange service's readiness"),
        _first_ok(hubs_status, what="the exchange's routes through the gateway"),
    )
    await restarted
    recovery = answered_at - ready_at
    print(f"\nexchange ready → first route answering through the gateway: {recovery:.2f} s")
    assert recovery < RECOVERY_BOUND_SECONDS, f"the gateway kept refusing {recovery:.1f} s after the service was ready"
    assert (await client.post("/v1/hubs", json={"name_ja": "赤穂公民館", "kind": "COMMUNITY_HALL", "area": "赤穂"})).status_code == 201


def _log_from(service: ServiceProcess, offset: int) -> str:
    with service.process.log_path.open("rb") as f:
        f.seek(offset)
        return f.read().decode(errors="replace")


def _stop_cleanly(service: ServiceProcess) -> float:
    """SIGTERM `service`; how long it took. Its log must show a clean shutdown."""
    offset = service.process.log_path.stat().st_size
    began = time.monotonic()
    service.stop()
    took = time.monotonic() - began
    logged = _log_from(service, offset)
    assert "Application shutdown failed" not in logged, logged[-3000:]
    assert "Application shutdown complete" in logged, logged[-3000:]
    return took


async def test_with_the_broker_away_writes_are_held_profiles_read_and_stops_are_clean(outage_stack: Stack, client: httpx.AsyncClient) -> None:
    person = (await client.post("/v1/people", json={"display_name": "駒ヶ根 花子", "birth_year": 1948, "residency_status": "RESIDENT"})).json()["id"]
    assert (await client.put(f"/v1/people/{person}/consents/PROFILE")).status_code == 200

    async def profile_status() -> int:
        return (await client.get(f"/v1/profiles/{person}")).status_code

    await _first_ok(profile_status, what="the profile readable")
    await asyncio.to_thread(outage_stack.kafka.stop)

    held: list[str] = []
    for i in range(10):
        accepted = await client.post("/v1/people", json={"display_name": f"保留 {i}", "birth_year": 1940 + i, "residency_status": "RESIDENT"})
        assert accepted.status_code == 201, accepted.text  # the outbox holds the event
        held.append(str(accepted.json()["id"]))
    assert (await client.get(f"/v1/profiles/{person}")).status_code == 200  # from Redis

    # Services stopped meanwhile (the people service with rows unsent, exchange with a consumer)
    # stop at once and cleanly; their unsent rows wait in the database for the next start.
    for name in ("people", "exchange"):
        took = await asyncio.to_thread(_stop_cleanly, outage_stack.pillars[name])
        print(f"\n{name} stopped with the broker away in {took:.2f} s")
        assert took < 5, f"{name} took {took:.1f} s to stop"
        await asyncio.to_thread(outage_stack.pillars[name].start)  # ready without the broker
    more = await client.post("/v1/people", json={"display_name": "保留 後", "birth_year": 1951, "residency_status": "RESIDENT"})
    assert more.status_code == 201, more.text
    held.append(str(more.json()["id"]))

    began = time.monotonic()
    await asyncio.to_thread(outage_stack.kafka.start)
    broker_ready = time.monotonic()

    async def all_on_kafka() -> set[str] | None:
        registered = {header(r, "ce_subject") for r in await read_topic(outage_stack.kafka.bootstrap, PEOPLE.name) if r.key is not None}
        missing = set(held) - {s for s in registered if s}
        return None if missing else set(held)

    await eventually(all_on_kafka, timeout=90, interval=0.5, what="the held writes on Kafka")
    print(f"\nbroker restarted in {broker_ready - began:.1f} s; then every held write on Kafka after {time.monotonic() - broker_ready:.1f} s")
    assert (await client.get(f"/v1/profiles/{person}")).status_code == 200


async def test_with_redis_away_the_gateway_answers_503_and_reads_come_back_after_it(outage_stack: Stack, client: httpx.AsyncClient) -> None:
    person = (await client.post("/v1/people", json={"display_name": "赤穂 花子", "birth_year": 1948, "residency_status": "RESIDENT"})).json()["id"]
    assert (await client.put(f"/v1/people/{person}/consents/PROFILE")).status_code in (200, 201)

    async def profile() -> httpx.Response | None:
        response = await client.get(f"/v1/profiles/{person}")
        return response if response.status_code == 200 else None

    before = await eventually(profile, timeout=60, what="the profile")
    outage_stack.redis.process.stop()  # on purpose: the supervisor leaves it stopped
    try:
        for answer in (
            await client.get(f"/v1/profiles/{person}"),
            await client.post("/v1/hubs", json={"name_ja": "北割", "kind": "COMMUNITY_HALL", "area": "赤穂"}),
        ):
            assert answer.status_code == 503, answer.text
            assert answer.headers["content-type"] == "application/problem+json" and answer.headers["retry-after"] == "2"
            assert answer.json()["type"].endswith("/dependency-unavailable")
    finally:
        outage_stack.redis.start()
    # Redis came back empty; the profiles worker writes what it owns again.
    after = await eventually(profile, timeout=60, what="the profile served again")
    assert after.json() == before.json()
