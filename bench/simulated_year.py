"""A simulated year of the town: its events, the storage they take, and the time to rebuild every profile.

The town simulator plans `--people` residents (32,000 is Komagane's size) and a year of their
weekly rhythms (sessions, drop-in visits, volunteering, work shifts, seminars, activity-meter
days; komagane_simulator.rhythm). That plan becomes the pillar services' events as they would
publish them, written straight into Kafka at an accelerated clock (the services' HTTP path is
measured by bench.e2e; this measures what a year leaves behind). Then one profiles worker folds
the whole year from an empty store, as a rebuild does.

Prints, and writes to `--out` (JSON): events per day and at the busiest minute, per kind and per
topic; Kafka bytes per topic on disk; the compacted profile topic (one record per person: the
latest); Redis memory; the rebuild's time, rate and CPU. Figures only; nothing passes or fails.

    python -m bench.simulated_year                      # 32,000 people, a year
    python -m bench.simulated_year --people 4000 --out bench/results/year-4000.json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import redis

from bench.profiles_replay import INPUT_TOPICS, cpu_seconds, lag, produce
from komagane_contracts.envelope import CloudEvent
from komagane_contracts.events.base import EventModel
from komagane_contracts.events.exchange import ActivityCategory, HubVisited, ParticipantAttended, ParticipationMode, SessionHeld, VolunteerShiftCompleted
from komagane_contracts.events.health import DailyActivitySummarized
from komagane_contracts.events.jobs import Arrangement, SeminarAttended, ShiftWorked
from komagane_contracts.events.people import ConsentGranted, PersonRegistered
from komagane_contracts.topics import HUB_ATTENDANCE, KPI_CONTRIBUTIONS, PROFILES
from komagane_contracts.vocabulary import ResidencyStatus, age_band
from komagane_devstack.infra import RedisServer
from komagane_devstack.kafka_cluster import KafkaCluster
from komagane_devstack.services import ServiceProcess
from komagane_simulator import plan_town
from komagane_simulator.rhythm import Day, plan_history
from komagane_simulator.town import Town

Record = tuple[str, bytes, bytes, list[tuple[str, bytes]]]
NAMESPACE = uuid.UUID("7a0c1e52-4b1f-4f43-9a51-6b1d2a3c4e5f")


def _id(*parts: object) -> str:
    return str(uuid.uuid5(NAMESPACE, ":".join(str(p) for p in parts)))


def _record(body: EventModel, at: datetime, counts: Counter[str]) -> Record:
    counts[type(body).__name__] += 1
    event = CloudEvent.of(body, time=at, event_id=_id("event", type(body).__name__, sum(counts.values())))
    return body.topic, str(body.subject()).encode(), event.value(), event.headers()


def _noon(day: date) -> datetime:
    return datetime.combine(day, datetime.min.time(), UTC) + timedelta(hours=3)  # 12:00 in Komagane


def year_events(town: Town, days: list[Day], counts: Counter[str], minutes: Counter[datetime]) -> Iterator[Record]:
    """The plan as the pillar services would publish it, oldest first (registrations and consents first)."""
    start = _noon(days[0].day) - timedelta(days=1)
    for person in town.people:
        residency = ResidencyStatus(person.residency) if person.residency in ResidencyStatus.__members__ else ResidencyStatus.RESIDENT
        yield _record(
            PersonRegistered(
                person_id=_id(person.key),
                age_band=age_band(person.birth_year, days[0].day),
                residency_status=residency,
                preferred_language=person.language,
                lives_alone=person.lives_alone,
                registered_at=start,
            ),
            start,
            counts,
        )
        for purpose in person.consents:
            yield _record(ConsentGranted(person_id=_id(person.key), purpose=purpose, granted_at=start), start, counts)
    activities = {a.key: a for a in town.activities}
    jobs = {j.key: j for j in town.jobs}
    for day in days:
        noon = _noon(day.day)
        body: EventModel
        for held in day.sessions:
            activity, session = activities[held.activity], _id(held.activity, day.day)
            category = ActivityCategory(activity.category)
            for key, mode in held.attendees:
                minutes[held.starts_at.replace(second=0, microsecond=0)] += 1
                body = ParticipantAttended(
                    person_id=_id(key), attendance_id=_id(session, key), session_id=session, activity_id=_id(held.activity),
                    hub_id=_id(activity.hub), category=category, is_kayoinoba=activity.is_kayoinoba,
                    mode=ParticipationMode(mode), attended_at=held.starts_at,
                )  # fmt: skip
                yield _record(body, held.starts_at, counts)
            body = SessionHeld(
                hub_id=_id(activity.hub), session_id=session, activity_id=_id(held.activity), category=category, held_on=day.day, attendees=len(held.attendees)
            )
            yield _record(body, held.ends_at, counts)
        for visit in day.visits:
            minutes[visit.at.replace(second=0, microsecond=0)] += 1
            body = HubVisited(person_id=_id(visit.person), visit_id=_id("visit", visit.person, visit.at), hub_id=_id(visit.hub), visited_at=visit.at)
            yield _record(body, visit.at, counts)
        for shift in day.volunteering:
            shift_id = _id("v", shift.person, day.day)
            body = VolunteerShiftCompleted(person_id=_id(shift.person), shift_id=shift_id, hub_id=_id(shift.place), worked_on=day.day, hours=shift.hours)
            yield _record(body, noon, counts)
        for shift in day.work:
            job = jobs[shift.place]
            arrangement = Arrangement(job.arrangement) if job.arrangement in Arrangement.__members__ else Arrangement.GENERAL
            body = ShiftWorked(
                person_id=_id(shift.person), shift_id=_id("w", shift.person, day.day), engagement_id=_id(shift.person, job.key),
                arrangement=arrangement, worked_on=day.day, hours=shift.hours,
            )  # fmt: skip
            yield _record(body, noon, counts)
        for seminar in day.seminars:
            held_id = _id(seminar.seminar, day.day)
            for key in seminar.attendees:
                body = SeminarAttended(person_id=_id(key), seminar_id=_id(seminar.seminar), seminar_session_id=held_id, held_on=day.day, hours=seminar.hours)
                yield _record(body, noon, counts)
        evening = noon + timedelta(hours=9)  # meters are read in the evening, all at once
        for key, steps, brisk in day.steps:
            minutes[evening.replace(second=0, microsecond=0)] += 1
            body = DailyActivitySummarized(person_id=_id(key), day=day.day, steps=steps, brisk_walk_minutes=brisk, replaced=False)
            yield _record(body, evening, counts)


def topic_bytes(kafka_logs: Path) -> dict[str, int]:
    """Bytes of records per topic: every partition's log segments (indexes are preallocated to
    10 MB each, whatever they hold, so they are left out)."""
    out: Counter[str] = Counter()
    for directory in kafka_logs.iterdir():
        if directory.is_dir() and "-" in directory.name and not directory.name.startswith("__"):
            topic = directory.name.rsplit("-", 1)[0]
            out[topic] += sum(f.stat().st_size for f in directory.glob("*.log"))
    return dict(sorted(out.items()))


async def latest_per_key(bootstrap: str, topic: str) -> tuple[int, int, int]:
    """(records, distinct keys, bytes of the latest record per key): the topic once compacted."""
    from aiokafka import AIOKafkaConsumer

    from komagane_kit.kafka import client_options

    consumer = AIOKafkaConsumer(topic, **client_options(bootstrap), group_id=None, auto_offset_reset="earliest", enable_auto_commit=False)
    await consumer.start()
    latest: dict[bytes, int] = {}
    records = 0
    try:
        ends = await consumer.end_offsets(list(consumer.assignment()) or [])
        while True:
            batch = await consumer.getmany(timeout_ms=2000, max_records=5000)
            for messages in batch.values():
                for m in messages:
                    records += 1
                    latest[m.key or b""] = len(m.key or b"") + len(m.value or b"") + sum(len(k) + len(v) for k, v in m.headers or [])
            positions = {tp: await consumer.position(tp) for tp in consumer.assignment()}
            if not batch and all(positions.get(tp, 0) >= end for tp, end in ends.items()):
                break
            if not ends:
                ends = await consumer.end_offsets(list(consumer.assignment()))
    finally:
        await consumer.stop()
    return records, len(latest), sum(latest.values())


def rebuild(records: list[Record], root: Path) -> dict[str, Any]:
    kafka = KafkaCluster(root / "kafka", root / "logs")
    server = RedisServer(root / "logs")
    worker: ServiceProcess | None = None
    try:
        kafka.start()
        server.start()
        kafka.create_topics()
        os.environ.update(kafka.admin.env())
        produced_in = asyncio.run(produce(kafka.bootstrap, records))
        env = {**kafka.auth("profiles").env(), "KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap, "REDIS_URL": server.url, "LOG_LEVEL": "WARNING"}
        env["PROFILES_DATA_DIR"] = str(root / "profiles")
        worker = ServiceProcess("profiles", "komagane_profiles", root / "logs", port_env="PROFILES_WEB_PORT", env=env)
        began = time.perf_counter()
        worker.process.start()
        peak, topics = 0, (*INPUT_TOPICS, HUB_ATTENDANCE.name, KPI_CONTRIBUTIONS.name)
        while asyncio.run(lag(kafka.bootstrap, "komagane-profiles", topics)) != 0:
            worker.process.check_alive()
            peak = max(peak, worker.process.rss_kib())
            time.sleep(1.0)  # a progress poll of a minutes-long rebuild, not a wait for a condition
        seconds = time.perf_counter() - began
        profile_records, people, compacted = asyncio.run(latest_per_key(kafka.bootstrap, PROFILES.name))
        memory = redis.Redis.from_url(server.url).info("memory")
        return {
            "produced_in_s": round(produced_in, 1),
            "rebuild_s": round(seconds, 1),
            "rebuild_events_per_s": round(len(records) / seconds),
            "rebuild_cpu_s": round(cpu_seconds(worker), 1),
            "worker_peak_rss_mib": round(peak / 1024),
            "kafka_bytes_per_topic": {topic: size for topic, size in topic_bytes(root / "kafka" / "logs").items() if size},
            "profile_topic": {"records": profile_records, "people": people, "compacted_bytes": compacted},
            "profiles_store_bytes": sum(f.stat().st_size for f in (root / "profiles").rglob("*") if f.is_file()),
            "redis_used_memory_bytes": int(memory["used_memory"]),
        }
    finally:
        if worker is not None:
            worker.stop()
        server.stop()
        kafka.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--people", type=int, default=32_000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--plan-only", action="store_true", help="count the year's events; no Kafka")
    parser.add_argument("--out", type=Path, default=None, help="write the figures here as JSON")
    args = parser.parse_args()
    began = time.perf_counter()
    town = plan_town(args.seed, args.people, date(2026, 12, 1))
    days = plan_history(town, args.days)
    counts: Counter[str] = Counter()
    minutes: Counter[datetime] = Counter()
    records = list(year_events(town, days, counts, minutes))
    per_topic = Counter(r[0] for r in records)
    busiest = max(minutes.items(), key=lambda kv: kv[1]) if minutes else (None, 0)
    figures: dict[str, Any] = {
        "people": len(town.people),
        "days": args.days,
        "events": len(records),
        "events_per_day": round(len(records) / args.days),
        "busiest_minute": {"at": busiest[0].isoformat() if busiest[0] else None, "events": busiest[1], "per_second": round(busiest[1] / 60, 1)},
        "events_per_kind": dict(counts.most_common()),
        "events_per_topic": dict(per_topic.most_common()),
        "event_bytes_mean": round(sum(len(r[2]) + sum(len(k) + len(v) for k, v in r[3]) for r in records) / max(1, len(records))),
        "planned_in_s": round(time.perf_counter() - began, 1),
    }
    print(json.dumps(figures, indent=1), flush=True)
    if not args.plan_only:
        with tempfile.TemporaryDirectory(prefix="komagane-year-") as tmp:
            figures["rebuild"] = rebuild(records, Path(tmp))
        print(json.dumps(figures["rebuild"], indent=1))
    if args.out:
        args.out.write_text(json.dumps(figures, indent=1) + "\n")


if __name__ == "__main__":
    main()
