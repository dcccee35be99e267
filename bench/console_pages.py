"""The console's places page under 50 concurrent signed-in residents, beside the gateway's profile reads.

Runs against a running platform (`make up`, or any data dir of one): residents of its demo town
who consented to PROFILE sign in through the console's development sign-in (each with its own
session cookie); then, for `--seconds`, each resident's worker fetches `GET /places` again and
again — one page asks the gateway for the profile, the hubs and the person's participation and
renders them. Then the same residents read `GET /v1/profiles/{id}` from the gateway directly with
their tokens, for the same time: the rate the console's page sits on top of. Prints pages (or
reads) per second and p50/p95 latency. The load generator shares the machine's cores with
everything it measures (bench/loadclient.py keeps its cost small).

    python -m bench.console_pages [--console http://127.0.0.1:8110] [--gateway http://127.0.0.1:8100] [--data-dir .data]
                                  [--residents 50] [--seconds 20] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import statistics
import time
from datetime import date
from pathlib import Path

import httpx

from bench.loadclient import LoadClient
from komagane_gateway.settings import GatewaySettings
from komagane_gateway.tokens import mint_token
from komagane_simulator import plan_town


def residents(data_dir: Path, count: int) -> list[str]:
    """Residents of the loaded town who consented to PROFILE (they have a places page)."""
    record = json.loads((data_dir / "town.json").read_text())
    town = plan_town(record["seed"], record["people"], date.fromisoformat(record["as_of"]))
    ids: dict[str, str] = record["ids"]
    chosen = [ids[p.key] for p in town.people if "PROFILE" in p.consents and p.key in ids and p.residency == "RESIDENT"]
    if len(chosen) < count:
        raise SystemExit(f"the town has only {len(chosen)} residents with a profile")
    return chosen[:count]


def sign_in(console: str, person_id: str) -> str:
    """The console's session cookie for a resident, through the development sign-in form."""
    with httpx.Client(base_url=console, follow_redirects=False, timeout=30) as client:
        token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/signin").text)
        assert token, "the sign-in page has no CSRF token"
        answer = client.post("/signin/dev", data={"csrf_token": token.group(1), "person_id": person_id})
        assert answer.status_code == 303, answer.text
        return "; ".join(f"{name}={value}" for name, value in client.cookies.items())


async def load(clients: list[tuple[LoadClient, str]], seconds: float) -> tuple[int, int, list[float]]:
    """Each (client, path) fetched in a loop for `seconds`: successes, failures, latencies (s)."""
    latencies: list[float] = []
    failures = 0
    deadline = time.monotonic() + seconds

    async def worker(client: LoadClient, path: str) -> None:
        nonlocal failures
        while time.monotonic() < deadline:
            began = time.perf_counter()
            status, _ = await client.get(path)
            if status == 200:
                latencies.append(time.perf_counter() - began)
            else:
                failures += 1

    await asyncio.gather(*(worker(client, path) for client, path in clients))
    for client, _ in clients:
        await client.close()
    return len(latencies), failures, latencies


def report(label: str, ok: int, failed: int, latencies: list[float], seconds: float) -> str:
    ordered = sorted(latencies) or [0.0]
    p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
    return f"{label:<44} {ok / seconds:8.1f}/s   p50 {statistics.median(ordered) * 1000:7.1f} ms   p95 {p95 * 1000:7.1f} ms   failed {failed}"


async def main_async(args: argparse.Namespace) -> None:
    people = residents(args.data_dir, args.residents)
    console, gateway = httpx.URL(args.console), httpx.URL(args.gateway)
    cookies = await asyncio.gather(*(asyncio.to_thread(sign_in, args.console, p) for p in people))
    settings = GatewaySettings(data_dir=args.data_dir / "gateway")
    tokens = {p: mint_token(settings, "resident", subject=p) for p in people}
    print(f"{len(people)} residents signed in to {args.console}; {args.rounds} interleaved rounds of {args.seconds:.0f} s")
    for round_ in range(1, args.rounds + 1):
        # Interleaved, so a neighbour's load on the shared machine falls on both alike.
        pages = [(LoadClient(console.host, console.port or 80, {"Cookie": c, "Accept-Language": "ja"}, connections=1), "/places") for c in cookies]
        ok, failed, latencies = await load(pages, args.seconds)
        print(report(f"[{round_}] console GET /places", ok, failed, latencies, args.seconds))
        reads = [(LoadClient(gateway.host, gateway.port or 80, {"Authorization": f"Bearer {tokens[p]}"}, connections=1), f"/v1/profiles/{p}") for p in people]
        ok, failed, latencies = await load(reads, args.seconds)
        print(report(f"[{round_}] gateway GET /v1/profiles/{{id}}, same people", ok, failed, latencies, args.seconds))


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.console_pages", description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--console", default="http://127.0.0.1:8110")
    parser.add_argument("--gateway", default="http://127.0.0.1:8100")
    parser.add_argument("--data-dir", type=Path, default=Path(".data"))
    parser.add_argument("--residents", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--rounds", type=int, default=3)
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
