"""Cached `GET /v1/profiles/{id}` through the gateway, against a bare FastAPI endpoint as ceiling.

Starts Redis and a gateway process (as `make up` runs it: `python -m komagane_gateway.main`,
uvicorn, one process) with a realistic profile in the read model, and a bare FastAPI app
serving the same body the same way (bench/bare_app.py). `wrk` (Debian package; installed by
infra/scripts/install-system-deps.sh) loads each from outside the process with the same
connections and duration, in interleaved rounds; prints requests per second, p50/p99 latency,
the server's CPU time per request (steadier than req/s on a shared machine) and the ratio
gateway ÷ bare (first bar: ≥ 0.5). The gateway path includes everything a real read does:
bearer JWT verification, the access matrix, the Redis token-bucket rate limit (limits raised so
nothing is refused), the Redis GET of the profile and the version-checked answer cache. A second
gateway with the answer cache off (`READ_CACHE_ENTRIES=0`) shows what the cache is worth; with
`--fast-paths-off` a third one with `FAST_PATHS=0` (every read through FastAPI's routing to
`get_profile`, not its fast path komagane_gateway.fastpath.profile_read) shows what that is worth.

    python -m bench.gateway_reads [--seconds 10] [--connections 32] [--rounds 3] [--fast-paths-off] [--baseline DIR]

With `--baseline DIR` one more gateway (answer cache on) runs from another checkout's
services/gateway, libs/kit and libs/contracts (e.g. `git archive main | tar -x -C DIR`): a
before/after on the same load.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx
import redis

from komagane_contracts.readmodels import profile_key
from komagane_devstack.infra import RedisServer
from komagane_devstack.process import ManagedProcess, free_port, wait_until
from komagane_gateway.settings import GatewaySettings
from komagane_gateway.tokens import mint_token

LABELS = ("bare FastAPI (ceiling)", "gateway, answer cache on", "gateway, answer cache off")
FAST_PATHS_OFF = "gateway, fast paths off"
BASELINE = "baseline gateway, cache on"
PERSON = "3f0c2a4e-8d7b-4c1e-9a55-0b7c1d2e3f40"


def realistic_profile(version: int = 42) -> dict[str, object]:
    """About the size of a busy person's profile: places, bands, groups, explanations, journey."""
    events = [f"{PERSON[:8]}-evt-{i:04d}" for i in range(24)]
    return {
        "person_id": PERSON,
        "version": version,
        "age_band": "65-74",
        "residency_status": "RESIDENT",
        "preferred_language": "ja",
        "consents": ["PROFILE", "OUTREACH"],
        "updated_at": "2026-11-28T10:30:00+09:00",
        "as_of": "2026-11-28",
        "belonging": {
            "places": ["hub:gotcha-wellness", "hub:patona", "group:kayoinoba-akaho"],
            "regularity_12w": 0.75,
            "category_bands": {"EXERCISE": "2-3/week", "LEARNING": "1-3/month", "KAYOINOBA": "1/week"},
            "groups": ["group:kayoinoba-akaho", "group:walking-club"],
            "last_participation": "2026-11-27",
            "explanations": {"hub:gotcha-wellness": events[:8], "hub:patona": events[8:14], "group:kayoinoba-akaho": events[14:20]},
        },
        "role": {
            "role_types": ["TEACH", "VOLUNTEER"],
            "contribution_hours_this_month": 6.5,
            "contribution_ratio_90d": 0.35,
            "reciprocity_90d": True,
            "explanations": events[20:],
            "work_status": "SHORT_TIME",
        },
        "living": {"journey": [{"step": "SETTLED", "on": "2019-04-01", "event_id": events[0]}]},
    }


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextmanager
def process(name: str, argv: list[str], log_dir: Path, env: dict[str, str], port: int) -> Iterator[tuple[str, int]]:
    url = f"http://127.0.0.1:{port}"
    proc = ManagedProcess(name, argv, log_dir=log_dir, env={"PORT": str(port), **env})
    proc.start()

    def alive() -> bool:
        proc.check_alive()
        try:
            return httpx.get(f"{url}/livez", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        wait_until(alive, timeout=60, interval=0.2, what=f"{name} liveness")
        assert proc.proc is not None
        yield url, proc.proc.pid
    finally:
        proc.stop()


def wrk(url: str, *, seconds: int, connections: int, headers: dict[str, str], script: Path | None = None) -> tuple[float, float, float]:
    """requests/s, p50 ms, p99 ms (`script`: a wrk Lua script shaping the requests)."""
    argv = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency"] + (["-s", str(script)] if script else [])
    argv += [a for k, v in headers.items() for a in ("-H", f"{k}: {v}")] + [url]
    out = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
    if "Non-2xx" in out:
        raise RuntimeError(f"non-2xx answers under load:\n{out}")
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]

    def latency(label: str) -> float:
        value, unit = re.search(rf"\s{label}%\s+([\d.]+)(us|ms|s)", out).groups()  # type: ignore[union-attr]
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    return rps, latency("50"), latency("99")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--gateway-env", action="append", default=[], metavar="NAME=VALUE", help="extra environment for the gateways (experiments)")
    parser.add_argument("--fast-paths-off", action="store_true", help="a third gateway with FAST_PATHS=0 (answer cache on), measured beside the others")
    parser.add_argument("--baseline", metavar="DIR", help="one more gateway from another checkout, measured beside the others")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is missing: bash infra/scripts/install-system-deps.sh")

    with tempfile.TemporaryDirectory(prefix="komagane-bench-") as tmp:
        log_dir, data_dir = Path(tmp) / "logs", Path(tmp) / "gateway"
        results: dict[str, list[tuple[float, float, float, float]]] = {}
        cache = RedisServer(log_dir)
        cache.start()
        try:
            body = json.dumps(realistic_profile(), ensure_ascii=False)
            redis.Redis.from_url(cache.url).set(profile_key(PERSON), body)
            token = mint_token(GatewaySettings(data_dir=data_dir), "staff", subject="bench-staff", ttl_seconds=3600)
            auth = {"Authorization": f"Bearer {token}"}
            gateway_env = {
                "REDIS_URL": cache.url,
                "DATA_DIR": str(data_dir),
                "INTERNAL_TOKEN_SECRET": "bench-" + "s" * 40,
                "RATE_LIMIT_READ_PER_SECOND": "1000000",
                "RATE_LIMIT_READ_BURST": "1000000",
                "LOG_LEVEL": "WARNING",
                # No pillar service is needed for a profile read; point them at nothing.
                **{f"{name}_URL": f"http://127.0.0.1:{free_port()}" for name in ("PEOPLE", "EXCHANGE", "JOBS", "HEALTH", "HOUSING")},
                **dict(item.split("=", 1) for item in args.gateway_env),
            }
            path = f"/v1/profiles/{PERSON}"
            configs = [
                (LABELS[0], [sys.executable, "-m", "bench.bare_app"], {"BARE_BODY": body}, {}),
                (LABELS[1], [sys.executable, "-m", "komagane_gateway.main"], gateway_env, auth),
                (LABELS[2], [sys.executable, "-m", "komagane_gateway.main"], {**gateway_env, "READ_CACHE_ENTRIES": "0"}, auth),
            ]
            if args.fast_paths_off:
                configs.append((FAST_PATHS_OFF, [sys.executable, "-m", "komagane_gateway.main"], {**gateway_env, "FAST_PATHS": "0"}, auth))
            if args.baseline:
                source = Path(args.baseline).resolve()
                paths = [str(source / part) for part in ("services/gateway", "libs/kit", "libs/contracts")]
                env = {**gateway_env, "PYTHONPATH": os.pathsep.join(filter(None, [*paths, os.environ.get("PYTHONPATH")]))}
                configs.append((BASELINE, [sys.executable, "-m", "komagane_gateway.main"], env, auth))
            with ExitStack() as running:
                servers = []
                for label, argv, env, headers in configs:
                    url, pid = running.enter_context(process(label.split()[0], argv, log_dir, env, free_port()))
                    check = httpx.get(url + path, headers=headers, timeout=10)
                    assert check.status_code == 200 and check.json()["version"] == 42, check.text
                    wrk(url + path, seconds=2, connections=args.connections, headers=headers)  # warm-up
                    servers.append((label, url, pid, headers))
                # Interleaved rounds, so a burst of load from elsewhere on the machine hits all alike.
                for _ in range(args.rounds):
                    for label, url, pid, headers in servers:
                        before = cpu_seconds(pid)
                        rps, p50, p99 = wrk(url + path, seconds=args.seconds, connections=args.connections, headers=headers)
                        cpu_ms = (cpu_seconds(pid) - before) * 1000 / max(rps * args.seconds, 1)
                        results.setdefault(label, []).append((rps, p50, p99, cpu_ms))
        finally:
            cache.stop()

    print(f"GET /v1/profiles/{{id}} ({len(body)}-byte profile) — wrk, 1 thread, {args.connections} connections, {args.rounds} rounds of {args.seconds} s")
    print(f"(load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs: figures are medians of the rounds)")
    medians = {label: [statistics.median(run[i] for run in runs) for i in range(4)] for label, runs in results.items()}
    for label, (rps, p50, p99, cpu_ms) in medians.items():
        print(f"  {label:28s} {rps:9.0f} req/s   p50 {p50:6.2f} ms   p99 {p99:6.2f} ms   server CPU {cpu_ms:5.2f} ms/request")
    bare, cached, uncached = (medians[label] for label in LABELS)
    print(f"ratio gateway (cached) ÷ bare FastAPI: {cached[0] / bare[0]:.2f} req/s   (first bar: ≥ 0.5); CPU per request {bare[3] / cached[3]:.2f}")
    print(f"answer cache: {cached[0] / uncached[0]:.2f}× the requests/s, {uncached[3] / cached[3]:.2f}× less CPU per request than without it")
    if BASELINE in medians:
        baseline = medians[BASELINE]
        print(f"against the baseline: {cached[3] / baseline[3] - 1:+.0%} CPU per request ({baseline[3]:.2f} → {cached[3]:.2f} ms)")
    if FAST_PATHS_OFF in medians:
        full = medians[FAST_PATHS_OFF]
        print(f"profile read's fast path: {1 - cached[3] / full[3]:.0%} less CPU per request than through FastAPI ({full[3]:.2f} → {cached[3]:.2f} ms)")


if __name__ == "__main__":
    main()
