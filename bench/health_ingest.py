"""Daily-activity batch ingest of the health service: rows per second for a 10,000-row batch.

Runs the service in-process (TestClient) on a fresh SQLite file — and on PostgreSQL too when
`--postgres URL` is given — with 200 consenting people and 50 days each. It measures a JSON
batch, the same batch re-sent (all rows unchanged), a batch with every value changed, and the
same data as CSV. Kafka is not needed: events stay in the outbox, as they would while the relay
catches up. Prints figures; it never passes or fails on timing.

    python -m bench.health_ingest [--rows 10000] [--postgres postgresql://…/bench_db]
"""

from __future__ import annotations

import argparse
import logging
import secrets
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import Session

from komagane_health.consent import HealthConsent
from komagane_health.main import build_app
from komagane_health.settings import HealthSettings
from komagane_kit.clock import now, tokyo_date
from komagane_kit.internal_auth import internal_headers
from komagane_kit.people_replica import KnownPerson

DAYS_PER_PERSON = 50


def _rows(count: int, offset: int) -> list[dict[str, Any]]:
    today = tokyo_date(now())
    return [
        {
            "person_id": f"00000000-0000-4000-8000-{i // DAYS_PER_PERSON:012d}",
            "day": (today - timedelta(days=1 + i % DAYS_PER_PERSON)).isoformat(),
            "steps": (i * 37 + offset) % 15_000,
            "brisk_walk_minutes": (i + offset) % 90,
        }
        for i in range(count)
    ]


def _csv(rows: list[dict[str, Any]]) -> bytes:
    lines = ["person_id,day,steps,brisk_walk_minutes"] + [f"{r['person_id']},{r['day']},{r['steps']},{r['brisk_walk_minutes']}" for r in rows]
    return "\n".join(lines).encode()


def _timed(label: str, rows: int, send: Any) -> None:
    started = time.perf_counter()
    response = send()
    elapsed = time.perf_counter() - started
    assert response.status_code == 200, response.text
    report = response.json()
    print(f"  {label:<28} {rows:>6} rows  {elapsed:6.2f} s  {rows / elapsed:>9,.0f} rows/s  (stored {report['stored']}, unchanged {report['unchanged']})")


def run(database_url: str, label: str, count: int) -> None:
    secret = secrets.token_urlsafe(48)  # the service trusts callers presenting an internal token signed with it
    settings = HealthSettings(database_url=database_url, kafka_bootstrap_servers="127.0.0.1:9", outbox_backoff_max_seconds=3600, internal_token_secret=secret)
    app = build_app(settings)
    logging.disable(logging.CRITICAL)  # no broker on purpose: its connection errors are expected noise here
    with TestClient(app, headers=internal_headers(secret, subject="bench", ttl_seconds=3600)) as client:
        with Session(app.state.engine) as session:
            for p in range((count + DAYS_PER_PERSON - 1) // DAYS_PER_PERSON):
                person_id = f"00000000-0000-4000-8000-{p:012d}"
                session.add(KnownPerson(person_id=person_id, age_band="65-74", residency_status="RESIDENT", registered_at=datetime.now(UTC)))
                session.add(HealthConsent(person_id=person_id, granted=True, changed_at=datetime.now(UTC)))
            session.commit()
        first, changed = _rows(count, 0), _rows(count, 1)
        print(f"{label}:")
        _timed("JSON batch, all new", count, lambda: client.post("/v1/health/daily-activity", json={"rows": first}))
        _timed("JSON batch, re-sent as is", count, lambda: client.post("/v1/health/daily-activity", json={"rows": first}))
        _timed("JSON batch, all replaced", count, lambda: client.post("/v1/health/daily-activity", json={"rows": changed}))
        _timed(
            "CSV batch, all replaced", count, lambda: client.post("/v1/health/daily-activity.csv", content=_csv(first), headers={"Content-Type": "text/csv"})
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--postgres", help="URL of an empty PostgreSQL database to measure as well")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="komagane-bench-health-") as tmp:
        run(f"sqlite:///{Path(tmp) / 'health.db'}", "SQLite (fresh file)", args.rows)
    if args.postgres:
        run(args.postgres, "PostgreSQL", args.rows)


if __name__ == "__main__":
    main()
