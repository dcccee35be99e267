"""Start-up time, memory and end-to-end latency of the local stack (what `make bench` prints).

Starts the platform exactly as `make up` does (SQLite, fresh data directory, free ports), then
registers people with PROFILE consent through the gateway and measures, per person, the time
from the consent request to the profile being readable through the gateway. Prints figures;
it never passes or fails on timing.

    python -m bench.startup [--people 200]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import httpx

from komagane_devstack.stack import Stack, StackConfig


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--people", type=int, default=200)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="komagane-bench-") as tmp:
        stack = Stack(StackConfig(data_dir=Path(tmp)))
        try:
            stack.start()
            assert stack.gateway is not None
            print(f"kafka ready (metadata call ok)   {stack.timings['kafka_ready_s']:6.2f} s")
            print(f"whole stack ready                {stack.timings['stack_ready_s']:6.2f} s")

            latencies: list[float] = []
            began = time.perf_counter()
            token = stack.mint_token("admin", subject="bench")
            with httpx.Client(base_url=stack.gateway.url, timeout=30, headers={"Authorization": f"Bearer {token}"}) as client:
                for i in range(args.people):
                    body = {"display_name": f"bench {i}", "birth_year": 1940 + i % 70, "residency_status": "RESIDENT", "lives_alone": i % 4 == 0}
                    person_id = client.post("/v1/people", json=body).raise_for_status().json()["id"]
                    sent = time.perf_counter()
                    client.put(f"/v1/people/{person_id}/consents/PROFILE").raise_for_status()
                    while client.get(f"/v1/profiles/{person_id}").status_code != 200:
                        if time.perf_counter() - sent > 30:
                            raise TimeoutError(f"profile of {person_id} not readable after 30 s")
                        time.sleep(0.002)
                    latencies.append(time.perf_counter() - sent)
            elapsed = time.perf_counter() - began
            ms = [x * 1000 for x in latencies]
            print(f"people registered + consented    {args.people:6d}   in {elapsed:.1f} s ({args.people / elapsed:.1f} people/s, sequential)")
            print(f"consent → profile readable       p50 {statistics.median(ms):6.1f} ms   p95 {percentile(ms, 0.95):6.1f} ms   max {max(ms):6.1f} ms")
            print("resident memory after the run:")
            for name, kib in stack.processes().items():
                print(f"  {name:10s} {kib / 1024:7.1f} MiB")
        finally:
            stack.stop()


if __name__ == "__main__":
    main()
