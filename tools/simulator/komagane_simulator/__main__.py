"""`python -m komagane_simulator`: plan a town, load it into a running gateway, keep it alive.

    python -m komagane_simulator plan --people 2000 --seed 7          # the plan's figures only
    python -m komagane_simulator load --people 2000 --days 90 --live  # against http://127.0.0.1:8100

Tokens: `--token` (any staff or admin bearer token), or minted from the local gateway's
development key in `--key-dir` (as `make token` does).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import signal
from collections.abc import Callable
from pathlib import Path

from komagane_simulator import keep_alive, load_town, plan_history, plan_town, today


def _token_source(args: argparse.Namespace) -> Callable[[], str]:
    if args.token:
        fixed = str(args.token)
        return lambda: fixed
    from komagane_gateway.settings import GatewaySettings
    from komagane_gateway.tokens import mint_token

    settings = GatewaySettings(data_dir=Path(args.key_dir))
    return lambda: mint_token(settings, "admin", subject="town-simulator", ttl_seconds=3600)


def _plan(args: argparse.Namespace) -> None:
    town = plan_town(args.seed, args.people, today())
    history = plan_history(town, args.days)
    figures = town.summary() | {"history_days": args.days, "history_requests": sum(d.requests() for d in history)}
    print(json.dumps(figures, ensure_ascii=False, indent=2))


async def _load(args: argparse.Namespace) -> None:
    token = _token_source(args)
    loaded = await load_town(args.gateway, token, seed=args.seed, population=args.people, history_days=args.days, concurrency=args.concurrency, progress=print)
    print(f"loaded in {loaded.seconds:.0f}s: {loaded.stats.ok} requests ok, {sum(loaded.stats.failed.values())} refused {dict(loaded.stats.failed)}")
    if args.ids_out:
        await asyncio.to_thread(Path(args.ids_out).write_text, json.dumps(loaded.ids, ensure_ascii=False))
    if args.live:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        print(f"live trickle at {args.rate}/s; Ctrl-C stops it")
        await keep_alive(args.gateway, token, loaded.town, loaded.ids, stop, per_second=args.rate)


def main() -> None:
    parser = argparse.ArgumentParser(prog="komagane-simulator")
    parser.add_argument("command", choices=["plan", "load"])
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--people", type=int, default=2000, help="residents (500–32,000); visitors and 関係人口 come on top")
    parser.add_argument("--days", type=int, default=90, help="days of history to backfill")
    parser.add_argument("--gateway", default="http://127.0.0.1:8100")
    parser.add_argument("--token", help="bearer token (staff or admin)")
    parser.add_argument("--key-dir", default=".data/gateway", help="the local gateway's development key, to mint tokens")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--live", action="store_true", help="keep a live trickle after loading, until Ctrl-C")
    parser.add_argument("--rate", type=float, default=2.0, help="live actions per second")
    parser.add_argument("--ids-out", help="write the plan key → id map here (JSON)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    if args.command == "plan":
        _plan(args)
    else:
        asyncio.run(_load(args))


if __name__ == "__main__":
    main()
