"""The hub check-in round trip (tap → answer) under 20 concurrent hub workers.

Runs against a running platform (`make up`). Each worker is a tablet at the hub: it signs in to
the console as the demo hub staff persona (GOTCHA!WELLNESS, its own session cookie), and then,
for `--seconds`, taps "Check in" again and again — `POST /hub/check-in` with the proxy reason,
which the console passes to the gateway (`POST /v1/sessions/{id}/attendance` with
`X-Access-Reason`), the gateway to the exchange service, and the answer back as the console's
redirect. The time measured is that POST, from the tap to the console's answer (the page drawn
after it is another request, not counted). Before the run the bench schedules `--sessions`
sessions at the hub starting in five minutes (check-in is open), and gives each worker its own
residents of the demo town, so no tap repeats a check-in. Afterwards it counts the attendance
the gateway holds for those sessions: every tap answered must be a check-in recorded.

    python -m bench.hub_checkin [--console http://127.0.0.1:8110] [--gateway http://127.0.0.1:8100]
                                [--data-dir .data] [--workers 20] [--seconds 20] [--sessions 10]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import statistics
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from komagane_gateway.settings import GatewaySettings
from komagane_gateway.tokens import mint_token


async def sign_in(client: httpx.AsyncClient) -> str:
    """Sign the worker's client in as the hub staff persona; the CSRF token of its session."""
    page = (await client.get("/signin")).text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token, "the sign-in page has no CSRF token"
    answer = await client.post("/signin/dev", data={"csrf_token": token.group(1), "persona": "staff"})
    assert answer.status_code == 303, answer.text
    hub_page = await client.get("/hub")
    assert hub_page.status_code == 200, f"the hub page answered {hub_page.status_code}: is GOTCHA!WELLNESS in town.json?"
    found = re.search(r'name="csrf_token" value="([^"]+)"', hub_page.text)
    assert found
    return found.group(1)


async def schedule(gateway: httpx.AsyncClient, hub: str, count: int) -> list[str]:
    body = {"hub_id": hub, "title": "ベンチマーク体操", "category": "SPORTS", "organiser_kind": "ORGANISATION", "organiser_name": "bench"}
    activity = (await gateway.post("/v1/activities", json=body)).json()["id"]
    starts = datetime.now(UTC) + timedelta(minutes=5)
    sessions = []
    for _ in range(count):
        times = {"starts_at": starts.isoformat(), "ends_at": (starts + timedelta(hours=1)).isoformat(), "capacity": 10_000}
        answer = await gateway.post(f"/v1/activities/{activity}/sessions", json=times)
        assert answer.status_code == 201, answer.text
        sessions.append(str(answer.json()["id"]))
    return sessions


async def worker(client: httpx.AsyncClient, csrf: str, hub: str, pairs: list[tuple[str, str]], deadline: float, latencies: list[float]) -> int:
    """Tap until the deadline (or the worker's pairs run out); the number of failed taps."""
    failed = 0
    for person, session in pairs:
        if time.monotonic() >= deadline:
            break
        form = {"csrf_token": csrf, "hub": hub, "person_id": person, "session_id": session, "reason": "no-phone", "name": "bench"}
        began = time.perf_counter()
        answer = await client.post("/hub/check-in", data=form)
        elapsed = time.perf_counter() - began
        if answer.status_code == 303:
            latencies.append(elapsed)
        else:
            failed += 1
    return failed


async def main_async(args: argparse.Namespace) -> None:
    record = json.loads((args.data_dir / "town.json").read_text())
    ids: dict[str, str] = record["ids"]
    hub = ids["hub:wellness"]
    people = [v for k, v in sorted(ids.items()) if re.fullmatch(r"p\d+", k)]
    token = mint_token(GatewaySettings(data_dir=args.data_dir / "gateway"), "admin", subject="bench-hub-checkin")
    async with httpx.AsyncClient(base_url=args.gateway, headers={"Authorization": f"Bearer {token}"}, timeout=60) as gateway:
        sessions = await schedule(gateway, hub, args.sessions)
        # Each worker its own people, each person checked in once per session: no tap repeats one.
        pairs = [(p, s) for s in sessions for p in people]
        shares = [pairs[i :: args.workers] for i in range(args.workers)]
        clients = [httpx.AsyncClient(base_url=args.console, timeout=60, headers={"Accept-Language": "ja"}) for _ in range(args.workers)]
        csrfs = await asyncio.gather(*(sign_in(c) for c in clients))
        print(f"{args.workers} hub workers signed in to {args.console}; {len(sessions)} sessions at {hub}; {args.seconds:.0f} s of taps")
        latencies: list[float] = []
        began = time.monotonic()
        deadline = began + args.seconds
        failures = await asyncio.gather(*(worker(c, csrf, hub, share, deadline, latencies) for c, csrf, share in zip(clients, csrfs, shares, strict=True)))
        took = time.monotonic() - began
        for client in clients:
            await client.aclose()
        recorded = 0
        for session in sessions:
            cursor = None
            while True:
                page = (await gateway.get(f"/v1/sessions/{session}/attendance", params={"limit": 200, **({"cursor": cursor} if cursor else {})})).json()
                recorded += len(page["items"])
                cursor = page.get("next_cursor")
                if not cursor:
                    break
    ordered = sorted(latencies) or [0.0]
    p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
    print(
        f"check-in tap → answer: {len(latencies)} taps in {took:.1f} s = {len(latencies) / took:.1f}/s   "
        f"p50 {statistics.median(ordered) * 1000:.1f} ms   p95 {p95 * 1000:.1f} ms   max {ordered[-1] * 1000:.1f} ms   failed {sum(failures)}"
    )
    print(f"attendance recorded at the gateway for the bench sessions: {recorded} (taps answered: {len(latencies)})")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.hub_checkin", description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--console", default="http://127.0.0.1:8110")
    parser.add_argument("--gateway", default="http://127.0.0.1:8100")
    parser.add_argument("--data-dir", type=Path, default=Path(".data"))
    parser.add_argument("--workers", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--sessions", type=int, default=10)
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
