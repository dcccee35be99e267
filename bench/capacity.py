"""The capacity plan's figures, derived from this repository's benchmark results (docs/capacity.md).

Reads the newest end-to-end results (`bench/results/<date>.json`, from `python -m bench.e2e`: CPU
per write, the profiles' rebuild rate, Kafka's ceiling), the simulated year
(`bench/results/year-<people>.json`, from `python -m bench.simulated_year`: events per person and
at the busiest minute, bytes per event and per profile, Redis memory, rebuild CPU) and the storage
run (`bench/results/storage.json`, from `python -m bench.storage`: PostgreSQL bytes per event),
and scales them to a town, a prefecture and 100 towns. Prints markdown; nothing is measured here.

    python -m bench.capacity
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).parent / "results"
SCENARIOS = {"Komagane (31,833 people)": 31_833, "a prefecture (2,000,000)": 2_000_000, "100 towns (3,183,300)": 100 * 31_833}
REPLICAS = 3  # the replicated cluster's factor (komagane_contracts.topics.replication_for)
HEADROOM = 0.5  # plan each worker and core to half of what was measured
REPLAY_TARGET_S = 3600.0  # a year's rebuild should take about an hour at most


def _newest(pattern: str) -> dict[str, Any] | None:
    files = sorted(RESULTS.glob(pattern))
    return json.loads(files[-1].read_text()) if files else None


@dataclass
class Inputs:
    cpu_ms_per_event: float  # every process but the bench client, at 500 writes/s
    rebuild_events_per_s: float  # one profiles worker, from its first commit
    kafka_records_per_s: float  # one broker's producer ceiling
    events_per_person_year: float
    peak_per_s_per_person: float  # the busiest minute of the year, per person
    bytes_per_event: float  # on Kafka (value and headers), one replica
    profile_bytes_per_person: float  # the compacted profile topic
    redis_bytes_per_person: float
    rebuild_cpu_s_per_event: float
    postgres_bytes_per_event: float | None
    sources: dict[str, str]


def inputs() -> Inputs:
    e2e = _newest("20[0-9][0-9]-*.json")
    years = [json.loads(f.read_text()) for f in sorted(RESULTS.glob("year-*.json"))]
    storage = _newest("storage*.json")
    rebuilt = [y for y in years if "rebuild" in y]
    if e2e is None or not rebuilt:
        raise SystemExit("run python -m bench.e2e and python -m bench.simulated_year first (bench/results/)")
    # The year's shape from the largest town planned; what it leaves behind from a town rebuilt.
    year, measured = max(years, key=lambda y: y["people"]), max(rebuilt, key=lambda y: y["people"])
    step = min(e2e["steps"], key=lambda s: abs(s["target_per_s"] - 500))
    cpu = sum(v for k, v in step["cpu_ms_per_write"].items() if k != "bench client")
    people, rebuild = measured["people"], measured["rebuild"]
    postgres = None
    if storage is not None:
        # The services' own tables (rows, indexes, TOAST), not each empty database's catalogue.
        tables = sum(t["bytes"] for service in storage["postgresql"].values() for t in service["tables"].values())
        postgres = tables / max(1, storage["events"])
    return Inputs(
        cpu_ms_per_event=cpu,
        rebuild_events_per_s=float(e2e["rebuild"]["events_per_s_from_first_commit"]),
        kafka_records_per_s=float(e2e["ceilings"]["kafka_producer_perf"]["records_per_s"]),
        events_per_person_year=year["events"] / year["people"] * 365 / year["days"],
        peak_per_s_per_person=year["busiest_minute"]["per_second"] / year["people"],
        # On disk, in Kafka's record batches: the pillar topics' bytes over their events.
        bytes_per_event=sum(rebuild["kafka_bytes_per_topic"].get(t, 0) for t in measured["events_per_topic"]) / measured["events"],
        profile_bytes_per_person=rebuild["profile_topic"]["compacted_bytes"] / max(1, rebuild["profile_topic"]["people"]),
        redis_bytes_per_person=rebuild["redis_used_memory_bytes"] / people,
        rebuild_cpu_s_per_event=rebuild["rebuild_cpu_s"] / measured["events"],
        postgres_bytes_per_event=postgres,
        sources={
            "e2e": e2e["command"],
            "year": f"python -m bench.simulated_year --people {year['people']} --plan-only; python -m bench.simulated_year --people {people}",
            "storage": "python -m bench.storage" if storage else "not run",
        },
    )


def plan(people: int, i: Inputs) -> dict[str, str]:
    year = people * i.events_per_person_year
    peak = people * i.peak_per_s_per_person
    workers_live = math.ceil(peak / (i.rebuild_events_per_s * HEADROOM))
    workers_replay = math.ceil(year / (i.rebuild_events_per_s * REPLAY_TARGET_S))
    workers = max(1, workers_live, workers_replay)
    partitions = 6 * math.ceil(workers / 6)  # the profiles' co-partitioned topics: a multiple of six
    brokers = max(REPLICAS, math.ceil(peak * REPLICAS / (i.kafka_records_per_s * HEADROOM)))
    kafka_gb = year * i.bytes_per_event * REPLICAS / 1e9
    postgres = "—" if i.postgres_bytes_per_event is None else f"{year * i.postgres_bytes_per_event / 1e9:,.1f} GB/year"
    return {
        "events per year": f"{year:,.0f}",
        "events per day": f"{year / 365:,.0f}",
        "peak events/s (busiest minute)": f"{peak:,.0f}",
        "cores at peak (all processes)": f"{peak * i.cpu_ms_per_event / 1000 / HEADROOM:,.1f}",
        "profile workers (live / a year's replay in 1 h)": f"{workers} ({workers_live} / {workers_replay})",
        "profile input partitions": str(partitions),
        "Kafka brokers": str(brokers),
        "Kafka disk per year (×3 replicas)": f"{kafka_gb:,.1f} GB",
        "PostgreSQL per year": postgres,
        "PostgreSQL write transactions/s at peak (at most)": f"{peak:,.0f}",
        "Redis memory": f"{people * i.redis_bytes_per_person / 1e6:,.0f} MB",
        "profile topic, compacted (×3)": f"{people * i.profile_bytes_per_person * REPLICAS / 1e6:,.0f} MB",
        "replay of one year": (
            f"{year / (i.rebuild_events_per_s * workers) / 60:,.0f} min on {workers} worker(s), {year * i.rebuild_cpu_s_per_event / 3600:,.1f} CPU-hours"
        ),
    }


def main() -> None:
    i = inputs()
    plans = {name: plan(people, i) for name, people in SCENARIOS.items()}
    rows = list(next(iter(plans.values())))
    print("| | " + " | ".join(plans) + " |")
    print("|---|" + "---:|" * len(plans))
    for row in rows:
        print(f"| {row} | " + " | ".join(p[row] for p in plans.values()) + " |")
    print()
    print("Inputs (per event or per person, as measured):")
    for name, value in vars(i).items():
        if name != "sources":
            print(f"- {name}: {value if not isinstance(value, float) else round(value, 6)}")
    for name, command in i.sources.items():
        print(f"- {name}: `{command}`")


if __name__ == "__main__":
    main()
