"""Writes through the gateway to a stand-in service: the gateway's own CPU per forwarded write.

Starts Redis, a bare FastAPI stand-in for the exchange service (bench/bare_app.py: a visit is
answered 201 at once) and a gateway process in front of it (as `make up` runs it). `wrk` sends
`POST /v1/hubs/{hub}/visits` as the end-to-end benchmark does (admin token, JSON body, a new
`Idempotency-Key` each time, so the gateway's Redis idempotency store is on the path too), and
the same without the key. Prints writes per second, p50/p99 and the CPU time per write of the
gateway and of the stand-in (steadier than req/s on a shared machine); the stand-in's row is the
cost of a bare FastAPI endpoint taking the same request, a floor for the gateway's.

    python -m bench.gateway_writes [--seconds 10] [--connections 32] [--rounds 3] [--gateway-env NAME=VALUE] [--baseline DIR]

With `--baseline DIR` a second gateway runs from the copy of services/gateway, libs/kit and
libs/contracts in DIR (another commit's), measured in interleaved rounds beside this one: a before/after on the same load. With
`--fast-paths-off` another runs with `FAST_PATHS=0` (every write through FastAPI's routing, not
the forwarding route's fast path, komagane_gateway.fastpath.forward): what that fast path saves.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import uuid
from contextlib import ExitStack
from pathlib import Path

import httpx

from bench.gateway_reads import cpu_seconds, process, wrk
from komagane_devstack.infra import RedisServer
from komagane_devstack.process import free_port
from komagane_gateway.settings import GatewaySettings
from komagane_gateway.tokens import mint_token

HUB = "hub-bench"
PERSON = "3f0c2a4e-8d7b-4c1e-9a55-0b7c1d2e3f40"
# wrk sends each request with a fresh Idempotency-Key (a prefix per run, then a counter) or none.
LUA = """
wrk.method = "POST"
wrk.body = '{"person_id": "%s"}'
wrk.headers["Content-Type"] = "application/json"
local counter = 0
local with_key = %s
request = function()
  counter = counter + 1
  if with_key then
    local headers = {["Idempotency-Key"] = "%s-" .. counter}
    for name, value in pairs(wrk.headers) do headers[name] = value end
    return wrk.format(nil, nil, headers)
  end
  return wrk.format()
end
"""


def wrk_post(url: str, *, seconds: int, connections: int, token: str, with_key: bool, script_dir: Path) -> tuple[float, float, float]:
    """writes/s, p50 ms, p99 ms."""
    script = script_dir / f"post-{with_key}.lua"
    script.write_text(LUA % (PERSON, "true" if with_key else "false", uuid.uuid4().hex))
    return wrk(url, seconds=seconds, connections=connections, headers={"Authorization": f"Bearer {token}"}, script=script)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--gateway-env", action="append", default=[], metavar="NAME=VALUE", help="extra environment for the gateways (experiments)")
    parser.add_argument(
        "--baseline",
        metavar="DIR",
        help="a second gateway, run from another checkout's services/gateway, libs/kit and libs/contracts (e.g. `git archive main | tar -x -C DIR`), "
        "measured in interleaved rounds beside this one",
    )
    parser.add_argument("--fast-paths-off", action="store_true", help="a second gateway with FAST_PATHS=0, measured beside this one")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is missing: bash infra/scripts/install-system-deps.sh")

    results: dict[str, list[tuple[float, float, float, float, float]]] = {}
    with tempfile.TemporaryDirectory(prefix="komagane-bench-") as tmp:
        log_dir, data_dir = Path(tmp) / "logs", Path(tmp) / "gateway"
        cache = RedisServer(log_dir)
        cache.start()
        try:
            token = mint_token(GatewaySettings(data_dir=data_dir), "admin", subject="bench-writes", ttl_seconds=3600)
            with ExitStack() as running:
                service_url, service_pid = running.enter_context(process("stand-in", [sys.executable, "-m", "bench.bare_app"], log_dir, {}, free_port()))
                gateway_env = {
                    "REDIS_URL": cache.url,
                    "DATA_DIR": str(data_dir),
                    "INTERNAL_TOKEN_SECRET": "bench-" + "s" * 40,
                    "RATE_LIMIT_ENABLED": "false",  # capacity is measured, not the per-client limit
                    "LOG_LEVEL": "WARNING",
                    **{f"{name}_URL": service_url for name in ("PEOPLE", "EXCHANGE", "JOBS", "HEALTH", "HOUSING")},
                    **dict(item.split("=", 1) for item in args.gateway_env),
                }
                variants = {"gateway": gateway_env}
                if args.fast_paths_off:
                    variants["fast paths off"] = {**gateway_env, "FAST_PATHS": "0"}
                if args.baseline:
                    source = Path(args.baseline).resolve()  # its kit and contracts too: the gateway imports them
                    paths = [str(source / part) for part in ("services/gateway", "libs/kit", "libs/contracts")]
                    variants["baseline"] = {**gateway_env, "PYTHONPATH": os.pathsep.join(filter(None, [*paths, os.environ.get("PYTHONPATH")]))}
                gateways = []
                for name, env in variants.items():
                    gateway_url, gateway_pid = running.enter_context(process(name, [sys.executable, "-m", "komagane_gateway.main"], log_dir, env, free_port()))
                    url = f"{gateway_url}/v1/hubs/{HUB}/visits"
                    check = httpx.post(url, json={"person_id": PERSON}, headers={"Authorization": f"Bearer {token}", "Idempotency-Key": name}, timeout=10)
                    assert check.status_code == 201 and check.json()["hub_id"] == HUB, check.text
                    for with_key in (True, False):  # warm-up
                        wrk_post(url, seconds=2, connections=args.connections, token=token, with_key=with_key, script_dir=Path(tmp))
                    gateways.append((name, url, gateway_pid))
                # Interleaved rounds, so a burst of load from elsewhere on the machine hits all alike.
                for _ in range(args.rounds):
                    for name, url, gateway_pid in gateways:
                        for with_key in (True, False):
                            label = f"{name}, {'with Idempotency-Key' if with_key else 'without a key'}"
                            gateway_before, service_before = cpu_seconds(gateway_pid), cpu_seconds(service_pid)
                            rps, p50, p99 = wrk_post(
                                url, seconds=args.seconds, connections=args.connections, token=token, with_key=with_key, script_dir=Path(tmp)
                            )
                            writes = max(rps * args.seconds, 1)
                            gateway_ms = (cpu_seconds(gateway_pid) - gateway_before) * 1000 / writes
                            service_ms = (cpu_seconds(service_pid) - service_before) * 1000 / writes
                            results.setdefault(label, []).append((rps, p50, p99, gateway_ms, service_ms))
        finally:
            cache.stop()

    load = f"wrk, 1 thread, {args.connections} connections, {args.rounds} rounds of {args.seconds} s"
    print(f"POST /v1/hubs/{{hub}}/visits through the gateway to a bare stand-in — {load}")
    print(f"(load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs: figures are medians of the rounds)")
    for label, runs in results.items():
        rps, p50, p99, gateway_ms, service_ms = (statistics.median(run[i] for run in runs) for i in range(5))
        print(
            f"  {label:38s} {rps:7.0f} writes/s   p50 {p50:6.2f} ms   p99 {p99:6.2f} ms   "
            f"CPU per write: gateway {gateway_ms:5.2f} ms, stand-in service {service_ms:5.2f} ms"
        )
    for mode in ("with Idempotency-Key", "without a key"):
        if f"fast paths off, {mode}" in results:
            fast, full = (statistics.median(run[3] for run in results[f"{name}, {mode}"]) for name in ("gateway", "fast paths off"))
            print(f"forwarding's fast path, {mode}: {1 - fast / full:.0%} less gateway CPU per write than through FastAPI ({full:.2f} → {fast:.2f} ms)")


if __name__ == "__main__":
    main()
