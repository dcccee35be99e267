"""What the town's data takes in each store, per person and per row, measured on the real stack.

Loads a planned town (`--people`, `--days` of history) through the gateway into the platform on
PostgreSQL, as `make up` loads its demo town, waits for the profiles to catch up, then reads
each service's database (rows and bytes per table, indexes and TOAST included), Kafka's bytes per
topic and Redis's memory. `docs/capacity.md` scales these per-row and per-event figures to a
year and to larger towns. Figures only.

    python -m bench.storage [--people 500] [--days 60] [--out bench/results/storage.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import psycopg
import redis

from bench.e2e import start_stack
from bench.profiles_replay import INPUT_TOPICS, end_offsets, lag
from bench.simulated_year import topic_bytes
from komagane_contracts.topics import HUB_ATTENDANCE, KPI_CONTRIBUTIONS
from komagane_devstack.stack import PILLARS, Stack
from komagane_simulator import load_town


def database_figures(stack: Stack) -> dict[str, dict[str, Any]]:
    """Per service: each table's rows and bytes (pg_total_relation_size), and the database's size."""
    assert stack.postgres is not None
    out: dict[str, dict[str, Any]] = {}
    for service, _module in PILLARS:
        with psycopg.connect(stack.postgres.url(service)) as conn:
            conn.execute("ANALYZE")
            tables = conn.execute(
                "SELECT relname, pg_total_relation_size(relid) FROM pg_stat_user_tables WHERE schemaname = 'public' ORDER BY 2 DESC"
            ).fetchall()
            figures = {}
            for name, size in tables:
                (rows,) = conn.execute(f'SELECT count(*) FROM "{name}"').fetchone() or (0,)
                figures[name] = {"rows": rows, "bytes": size, "bytes_per_row": round(size / rows) if rows else None}
            (database,) = conn.execute("SELECT pg_database_size(current_database())").fetchone() or (0,)
        out[service] = {"database_bytes": database, "tables": figures}
    return out


async def load(stack: Stack, people: int, days: int) -> dict[str, Any]:
    assert stack.gateway is not None

    def token() -> str:
        return stack.mint_token("admin", subject="storage-bench", ttl_seconds=3600)

    loaded = await load_town(stack.gateway.url, token, seed=2026, population=people, history_days=days)
    return {"requests": loaded.stats.ok, "refused": sum(loaded.stats.failed.values()), "seconds": round(loaded.seconds, 1), "people": len(loaded.town.people)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--people", type=int, default=500)
    parser.add_argument("--days", type=int, default=60)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="komagane-storage-"))
    stack = start_stack(root, "postgresql")
    try:
        figures: dict[str, Any] = {"town": asyncio.run(load(stack, args.people, args.days)), "days": args.days}
        topics = (*INPUT_TOPICS, HUB_ATTENDANCE.name, KPI_CONTRIBUTIONS.name)
        while asyncio.run(lag(stack.kafka.bootstrap, "komagane-profiles", topics)) != 0:  # every event folded
            time.sleep(1.0)
        figures["events"] = sum(sum(asyncio.run(end_offsets(stack.kafka.bootstrap, topic)).values()) for topic in INPUT_TOPICS)
        figures["postgresql"] = database_figures(stack)
        figures["kafka_bytes_per_topic"] = topic_bytes(stack.kafka.data_dir / "logs")
        figures["redis_used_memory_bytes"] = int(redis.Redis.from_url(stack.redis.url).info("memory")["used_memory"])
    finally:
        stack.stop()
        shutil.rmtree(root, ignore_errors=True)
    print(json.dumps(figures, indent=1))
    if args.out:
        args.out.write_text(json.dumps(figures, indent=1) + "\n")


if __name__ == "__main__":
    main()
