"""The faust application: agents, tables and the outputs (Redis read model, compacted topic).

Every agent runs with concurrency=1 so offsets are committed only after the message before
them finished (faust#606). Each message is folded under a span continued from its
`traceparent` (while catching up, under its batch's span), retried a bounded number of times, then dead-lettered — never dropped. Outputs
are written per batch (batching.py): a message is acknowledged only once its outputs are
durable.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from typing import Any, ClassVar

import faust
import orjson
import redis.asyncio as aioredis
from faust.types import TP, EventT
from faust.web import Request, Response, View
from opentelemetry import trace
from redis.exceptions import RedisError

from komagane_contracts.envelope import CloudEvent, InvalidEvent
from komagane_contracts.events.profiles import BelongingLapsed
from komagane_contracts.readmodels import LAPSE_ALERTS_KEY, city_kpis_key, hub_mix_key, profile_key
from komagane_contracts.topics import (
    ALERTS,
    CITY_KPIS,
    HUB_ATTENDANCE,
    HUB_MIX,
    KPI_CONTRIBUTIONS,
    PROFILES,
    PROFILES_INPUTS,
    PROFILES_PARTITIONS,
    dlq_name,
    replication_for,
)
from komagane_kit.clock import tokyo_date
from komagane_kit.dlq import dead_letter_headers
from komagane_kit.kafka import cluster_ready
from komagane_kit.telemetry import context_from_headers, setup_telemetry
from komagane_profiles.batching import BatchingAgent, as_event
from komagane_profiles.citykpis import city_kpis, kpi_cloud_event
from komagane_profiles.erasure import forget_in_redis
from komagane_profiles.fold import person_of
from komagane_profiles.followups import KEY as FOLLOW_UPS_KEY
from komagane_profiles.hubmix import new_hub
from komagane_profiles.lapses import LapseWatch, Watermark, lapse_of, refresh_told_alerts
from komagane_profiles.membership import membership_settings
from komagane_profiles.pipeline import (
    ANONYMISE,
    CITY_KEY,
    PersonBatch,
    anonymised_contribution,
    city_totals,
    fold_hub,
    fold_kpi,
    grouped_records,
    hub_mix_of,
    records_of,
)
from komagane_profiles.progress import StallWatch, partition_progress, progress_json
from komagane_profiles.readmodel import ReadModelWatch, survives_outages, write_read_model
from komagane_profiles.settings import ProfilesSettings, faust_broker_settings
from komagane_profiles.state import ERASED_KEY_PREFIX, State, decode_state, encode_state, erasure_key, is_erased_state
from komagane_profiles.worker import ProfilesApp

log = logging.getLogger(__name__)
tracer = trace.get_tracer("komagane.profiles")

settings = ProfilesSettings()
# Each message is folded under its own span (continued from its `traceparent`); outputs go out
# per batch, where per-message Kafka and Redis client spans would belong to no request.
setup_telemetry(settings.service_name, log_level=settings.log_level, libraries=())


app = ProfilesApp(
    settings.profiles_app_id,
    **faust_broker_settings(settings),
    **membership_settings(settings),
    store=settings.profiles_store,
    datadir=settings.profiles_data_dir,
    web_host=settings.profiles_web_host,
    web_port=settings.profiles_web_port,
    topic_replication_factor=replication_for(settings.kafka_brokers).factor,
    topic_partitions=PROFILES_PARTITIONS,
    consumer_auto_offset_reset="earliest",
    processing_guarantee="at_least_once",
    table_standby_replicas=0,
    fetch_max_wait_ms=settings.profiles_fetch_max_wait_ms,
    stop_wait_seconds=settings.profiles_stop_wait_seconds,
    stop_deadline_seconds=settings.profiles_stop_deadline_seconds,
)

# Person-centred input topics, co-partitioned with the person table (same partition count,
# keyed by person id). Hub- and session-level events on them are skipped here.
# health.internal.v1 (S2) is read for coarse signals of people with PROFILE and HEALTH consent;
# people.care.v1 (S3) for care staff's follow-ups of lapse alerts (followups.py).
PERSON_TOPICS = PROFILES_INPUTS
person_events = app.topic(*(t.name for t in PERSON_TOPICS), key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw")
# Attendance re-keyed by hub, so each hub's mix is folded in one partition (co-partitioned with
# the hub table). Created from the topic registry before the processor subscribes.
hub_attendance = app.topic(HUB_ATTENDANCE.name, key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw")
hub_mix = app.Table("hub-mix", default=dict, partitions=PROFILES_PARTITIONS)
# Every person's KPI summary (pseudonymous) under one key, so the city totals fold in one
# partition. The table remembers each pseudonym's contribution; the totals per month are their
# sum, kept in memory (KpiTotals) and summed again from the table after every recovery. A
# second table for the totals could not be written atomically with the first: a worker killed
# between the two changelogs' writes left totals that no longer matched the contributions.
kpi_contributions = app.topic(KPI_CONTRIBUTIONS.name, key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw")
kpi_people = app.Table("kpi-people", default=dict, partitions=PROFILES_PARTITIONS)
# Values are fold.encode_state bytes (compact JSON), decoded once per batch, not per message.
person_state = app.Table("person-state", partitions=PROFILES_PARTITIONS, value_type=bytes)

_redis: aioredis.Redis | None = None


def redis_client() -> aioredis.Redis:
    global _redis
    if _redis is None:
        _redis = aioredis.Redis.from_url(settings.redis_url)
    return _redis


Handler = Callable[[EventT, CloudEvent], Awaitable[None]]


async def process(event: EventT, handler: Handler, *, traced: bool = True) -> None:
    """Handle one message: retries with backoff, then the topic's DLQ. Returns only when done.

    `traced`: under a span of its own continuing the message's trace. A worker catching up
    (batching.py) folds old messages nobody is waiting for: they are covered by the batch's
    span instead, rather than adding a span to each of a million finished traces.
    """
    message = event.message
    headers = _headers(message.headers)
    scope = (
        tracer.start_as_current_span(f"profiles fold {message.topic}", context=context_from_headers(headers), kind=trace.SpanKind.CONSUMER)
        if traced
        else contextlib.nullcontext(trace.INVALID_SPAN)
    )
    with scope as span:
        if traced:
            span.set_attribute("messaging.destination.name", message.topic)
            span.set_attribute("messaging.kafka.offset", message.offset)
        attempt = 0
        while True:
            attempt += 1
            try:
                cloud_event = CloudEvent.from_kafka(message.value, headers)
                if traced:
                    span.set_attribute("messaging.message.id", cloud_event.id)
                await handler(event, cloud_event)
                return
            except InvalidEvent as exc:  # deterministic: retrying cannot help
                span.record_exception(exc)
                await dead_letter(event, headers, exc, attempt)
                return
            except Exception as exc:
                if attempt >= settings.profiles_max_attempts:
                    span.record_exception(exc)
                    await dead_letter(event, headers, exc, attempt)
                    return
                log.warning("processing %s@%s failed (attempt %d): %s", message.topic, message.offset, attempt, exc)
                await asyncio.sleep(settings.profiles_retry_backoff_seconds * 2 ** (attempt - 1))


async def dead_letter(event: EventT, headers: list[tuple[str, bytes]], error: BaseException, attempts: int) -> None:
    message = event.message
    dl_headers = dead_letter_headers(
        headers,
        error,
        topic=message.topic,
        partition=message.partition,
        offset=message.offset,
        attempts=attempts,
        consumer_group=app.conf.id,
    )
    await app.producer.send_and_wait(dlq_name(message.topic), message.key, message.value, None, None, dl_headers)
    log.error("dead-lettered %s[%d]@%d: %s", message.topic, message.partition, message.offset, error)


def _headers(raw: Any) -> list[tuple[str, bytes]]:
    if raw is None:
        return []
    items = raw.items() if isinstance(raw, dict) else raw
    return [(str(k), v if isinstance(v, bytes) else str(v).encode()) for k, v in items]


def load_person(person_id: str) -> State | None:
    raw = person_state.get(person_id)
    return decode_state(raw) if raw else None


class PersonOutputsBatch:
    """People folded since the last flush, and the message each one's state belongs to."""

    batch = PersonBatch()
    events: ClassVar[dict[str, EventT]] = {}


async def fold_person_event(event: EventT, cloud_event: CloudEvent) -> None:
    person_id = person_of(cloud_event.body())
    if person_id is None:
        return  # about a hub, session or group, not a person
    Watermark.advance(cloud_event.time)
    PersonOutputsBatch.batch.fold(person_id, cloud_event, load_person)
    PersonOutputsBatch.events[person_id] = event


async def flush_people() -> None:
    """Profiles (Redis + compacted topic), erasures, KPI summaries, hub records, cleared lapse
    alerts; then the states. Everything is sent before anything is awaited."""
    batch, events = PersonOutputsBatch.batch, PersonOutputsBatch.events
    outputs = batch.outputs()
    contributions: list[dict[str, Any]] = []
    # One command each for the whole batch (MSET, DEL, HDEL): per-key commands cost more to
    # pack than the rest of a person's flush.
    profiles: dict[str, bytes] = {}
    erased: list[str] = []
    cleared: list[str] = []
    forgotten: list[str] = []  # people erased at their request (PersonErased)
    followed_up: dict[str, BelongingLapsed] = {}  # open alerts of people with follow-ups: shown again
    sent: list[Awaitable[Any]] = []
    today = tokyo_date(Watermark.latest) if Watermark.latest is not None else None
    for person_id, state, out in outputs:
        key = person_id.encode()
        if out.profile is not None:
            cloud_event = CloudEvent.of(out.profile, time=out.profile.updated_at)
            value = cloud_event.value()  # = profile_json(out.profile)
            profiles[profile_key(person_id)] = value
            sent.append(await app.producer.send(PROFILES.name, key, value, None, None, cloud_event.headers()))
        elif out.erase:
            # Consent withdrawn: the read model entry goes, and a tombstone erases the compacted topic.
            erased.append(profile_key(person_id))
            sent.append(await app.producer.send(PROFILES.name, key, None, None, None, []))
        if out.kpi is not None:
            contributions.append(out.kpi)
        if is_erased_state(state):
            forgotten.append(person_id)
            contributions.append(anonymised_contribution(person_id))
            LapseWatch.due.pop(person_id, None)
            cleared.append(person_id)
            continue
        due = LapseWatch.note(person_id, state)
        if today is not None and (due is None or today < due):
            cleared.append(person_id)  # took part again, withdrew, or a follow-up closed it: its alert (if any) goes
        elif today is not None and state.get(FOLLOW_UPS_KEY) and (alert := lapse_of(state, today)) is not None:
            followed_up[person_id] = alert
    for value in grouped_records(contributions):
        sent.append(await app.producer.send(KPI_CONTRIBUTIONS.name, CITY_KEY.encode(), value, None, None, None))
    by_hub: dict[str, list[dict[str, Any]]] = {}
    for hub_id, record in batch.hub_records:
        by_hub.setdefault(hub_id, []).append(record)
    for hub_id, records in by_hub.items():
        for value in grouped_records(records):
            sent.append(await app.producer.send(HUB_ATTENDANCE.name, hub_id.encode(), value, None, None, None))
    redis = redis_client().pipeline(transaction=False)
    if profiles:
        redis.mset(profiles)
    if erased:
        redis.delete(*erased)
    if cleared:
        redis.hdel(LAPSE_ALERTS_KEY, *cleared)
    await redis.execute()
    await refresh_told_alerts(redis_client(), followed_up)
    if forgotten:
        await forget_in_redis(redis_client(), forgotten)
    await asyncio.gather(*sent)
    for person_id, state, _ in outputs:
        with as_event(events[person_id]):
            if is_erased_state(state):
                # A tombstone in the changelog; the marker is kept under a key without the id.
                if person_id in person_state:
                    del person_state[person_id]
                person_state[erasure_key(person_id)] = encode_state(state)
            else:
                person_state[person_id] = encode_state(state)
    batch.clear()
    events.clear()


class HubOutputsBatch:
    """Hubs folded since the last flush: their states and the message each belongs to."""

    states: ClassVar[dict[str, dict[str, Any]]] = {}
    events: ClassVar[dict[str, EventT]] = {}


async def fold_hub_event(event: EventT) -> None:
    """A hub's attendance records into its state. All of a hub's records come through one
    partition, in order, so the state remembers the last offset it folded: a message at or
    below it (fetched again after a restart or rebalance) was counted already, however many
    attendances ago. The attendance ids in the state catch the rest: the same record sent
    twice by the person side (a crash between its sends and its state write)."""
    hub_id = event.message.key.decode()
    state = HubOutputsBatch.states.get(hub_id) or dict(hub_mix[hub_id]) or new_hub(hub_id)
    if event.message.offset <= state.get("offset", -1):
        return
    HubOutputsBatch.states[hub_id] = state
    for record in records_of(event.value):
        fold_hub(state, record)
    state["offset"] = event.message.offset
    HubOutputsBatch.events[hub_id] = event


async def flush_hubs() -> None:
    redis = redis_client().pipeline(transaction=False)
    sent: list[Awaitable[Any]] = []
    for hub_id, state in HubOutputsBatch.states.items():
        mix = hub_mix_of(state)
        redis.set(hub_mix_key(hub_id), mix.model_dump_json())
        cloud_event = CloudEvent.of(mix)
        sent.append(await app.producer.send(HUB_MIX.name, hub_id.encode(), cloud_event.value(), None, None, cloud_event.headers()))
    await redis.execute()
    await asyncio.gather(*sent)
    for hub_id, state in HubOutputsBatch.states.items():
        with as_event(HubOutputsBatch.events[hub_id]):
            hub_mix[hub_id] = state
    HubOutputsBatch.states.clear()
    HubOutputsBatch.events.clear()


hub_batches = BatchingAgent(
    "hub mix", flush_hubs, max_events=settings.profiles_aggregate_batch_max_events, max_delay=settings.profiles_aggregate_batch_max_delay_seconds
)


@app.agent(hub_attendance, concurrency=1)
async def fold_hub_mix(stream: faust.StreamT[bytes]) -> None:
    await hub_batches.run(stream, fold_hub_event)


class KpiTotals:
    """The city totals per month: the sum of the contributions in `kpi_people` (in memory), and
    a copy of each contribution (compact JSON), so folding a person's new summary does not read
    the table: every KPI message carries a flush's worth of people, all on the worker that owns
    the city key. Both are rebuilt from the table after every recovery."""

    months: ClassVar[dict[str, Any]] = {}
    contributions: ClassVar[dict[str, bytes]] = {}


class KpiBatch:
    """Contributions changed since the last flush (all under one key, so one partition)."""

    contributions: ClassVar[dict[str, Any]] = {}
    forgotten: ClassVar[set[str]] = set()  # pseudonyms of erased people, their counts moved
    months: ClassVar[set[str]] = set()
    event: ClassVar[EventT | None] = None


async def fold_kpi_event(event: EventT) -> None:
    """A person's latest KPI summary replaces their previous contribution to the city totals."""
    for record in records_of(event.value):
        name = record["pseudonym"]
        if ANONYMISE in record:
            # An erased person: the counts stay, under a key that names nobody.
            held = KpiBatch.contributions.pop(name, None) or orjson.loads(KpiTotals.contributions.get(name, b"{}"))
            if held:
                KpiBatch.contributions[record[ANONYMISE]] = held
                KpiBatch.forgotten.add(name)
            continue
        previous = KpiBatch.contributions[name] if name in KpiBatch.contributions else orjson.loads(KpiTotals.contributions.get(name, b"{}"))
        contribution, changed = fold_kpi(KpiTotals.months, previous, record["summary"])
        if changed:
            KpiBatch.contributions[name] = contribution
            KpiBatch.months |= changed
    KpiBatch.event = event
    KpiOutputs.partition = event.message.partition


async def flush_kpis() -> None:
    if KpiBatch.event is not None and (KpiBatch.contributions or KpiBatch.forgotten):
        with as_event(KpiBatch.event):
            for name, contribution in KpiBatch.contributions.items():
                kpi_people[name] = contribution
                KpiTotals.contributions[name] = orjson.dumps(contribution)
            for name in KpiBatch.forgotten - set(KpiBatch.contributions):
                if name in kpi_people:
                    del kpi_people[name]
                KpiTotals.contributions.pop(name, None)
        KpiOutputs.dirty |= KpiBatch.months
    KpiBatch.event = None
    KpiBatch.contributions.clear()
    KpiBatch.forgotten.clear()
    KpiBatch.months.clear()


kpi_batches = BatchingAgent(
    "city KPIs", flush_kpis, max_events=settings.profiles_aggregate_batch_max_events, max_delay=settings.profiles_aggregate_batch_max_delay_seconds
)


@app.agent(kpi_contributions, concurrency=1)
async def fold_city_kpis(stream: faust.StreamT[bytes]) -> None:
    await kpi_batches.run(stream, fold_kpi_event)


class KpiOutputs:
    """Months whose KPIs changed since the last flush, and what was last written per month.

    KPIs are written on a short timer rather than per message: a busy month changes with every
    visit, and only its latest value matters (Redis key and compacted topic alike).
    """

    dirty: ClassVar[set[str]] = set()
    written: ClassVar[dict[str, bytes]] = {}
    partition: ClassVar[int | None] = None  # of the KPI contributions topic: where the totals live


@app.timer(settings.profiles_kpi_flush_seconds)
@survives_outages("the city KPI flush")
async def flush_city_kpis() -> None:
    if not KpiOutputs.dirty:
        return
    if KpiOutputs.partition is not None and TP(KPI_CONTRIBUTIONS.name, KpiOutputs.partition) not in app.assignor.assigned_actives():
        KpiOutputs.dirty.clear()  # another worker owns the totals now (it rewrites them on recovery)
        return
    months, KpiOutputs.dirty = sorted(KpiOutputs.dirty), set()
    totals = KpiTotals.months
    try:
        for month in months:
            kpis = city_kpis(month, totals)
            cloud_event = kpi_cloud_event(kpis)
            value = cloud_event.value()
            if KpiOutputs.written.get(month) == value:
                continue
            await redis_client().set(city_kpis_key(month), kpis.model_dump_json())
            await app.producer.send_and_wait(CITY_KPIS.name, month.encode(), value, None, None, cloud_event.headers())
            KpiOutputs.written[month] = value
    except Exception:
        KpiOutputs.dirty |= set(months)  # written next time
        raise


@kpi_people.on_recover
async def rewrite_city_kpis() -> None:
    """After (re)start or rebalance: the totals summed again from the contributions, and every
    month written again from them."""
    contributions = {name: dict(contribution) for name, contribution in list(kpi_people.items())}
    KpiTotals.months = city_totals(contributions.values())
    KpiTotals.contributions = {name: orjson.dumps(contribution) for name, contribution in contributions.items()}
    KpiOutputs.written.clear()
    KpiOutputs.dirty |= set(KpiTotals.months)


@app.timer(settings.profiles_lapse_check_seconds)
@survives_outages("the lapse check")
async def check_lapses() -> None:
    """Alert care staff once per lapse: HSETNX on the alerts hash is the "already told" flag."""
    if Watermark.latest is None:
        return
    today = tokyo_date(Watermark.latest)
    for person_id, due in [(p, due) for p, due in LapseWatch.due.items() if due <= today]:
        raw = person_state.get(person_id)  # the stored state decides (None: no longer this worker's)
        state = decode_state(raw) if raw else None
        alert = lapse_of(state, today) if state else None
        if alert is not None and await redis_client().hsetnx(LAPSE_ALERTS_KEY, person_id, alert.model_dump_json()):
            cloud_event = CloudEvent.of(alert)
            await app.producer.send_and_wait(ALERTS.name, person_id.encode(), cloud_event.value(), None, None, cloud_event.headers())
            log.info("belonging lapsed after %d days (threshold %d)", alert.days_since, alert.threshold_days)
        if LapseWatch.due.get(person_id) != due:
            continue  # a flush noted the person again meanwhile: that entry stands
        if alert is None and state:
            LapseWatch.note(person_id, state)  # the stored state lapses later, or never
        else:
            del LapseWatch.due[person_id]  # told, once per lapse: noted again when the person's state changes


@person_state.on_recover
async def rebuild_read_model() -> None:
    """After (re)start or rebalance, rewrite Redis from the tables (readmodel.py); the lapse
    watch is refilled from the same pass. With Redis away, the watch rewrites it once back."""
    LapseWatch.due.clear()  # this worker's people are the ones in its partitions now
    read_model_watch.recovered = True
    people = list(person_state.items())
    try:
        written = await write_read_model(redis_client(), people, list(hub_mix.items()), note=LapseWatch.note)
        await read_model_watch.mark()
    except RedisError as exc:
        log.warning("the read model could not be rewritten (%s): it is when Redis is back", exc)
        for person_id, raw in people:
            if raw and not person_id.startswith(ERASED_KEY_PREFIX):
                LapseWatch.note(person_id, decode_state(raw))
        return
    log.info("read model rebuilt from the tables: %d profiles", written)


async def rewrite_lost_read_model() -> int:
    """Everything this worker owns in Redis, after Redis lost it: profiles, hub mixes, the
    alerts already told (as of today), and every month's KPIs at the next KPI flush."""
    today = tokyo_date(Watermark.latest) if Watermark.latest is not None else None
    told = lambda person_id, state: person_id not in LapseWatch.due  # noqa: E731  # told alerts leave the watch
    written = await write_read_model(redis_client(), list(person_state.items()), list(hub_mix.items()), told=told, today=today)
    KpiOutputs.written.clear()
    KpiOutputs.dirty |= set(KpiTotals.months)
    return written


person_batches = BatchingAgent(
    "people",
    flush_people,
    max_events=settings.profiles_batch_max_events,
    catch_up_max_events=settings.profiles_catch_up_batch_max_events,
    catch_up_max_keys=settings.profiles_catch_up_batch_max_people,
    keys=lambda: len(PersonOutputsBatch.batch.people),
    max_delay=settings.profiles_batch_max_delay_seconds,
)


read_model_watch = ReadModelWatch(settings.profiles_instance_id, redis_client, rewrite_lost_read_model, [person_batches.lock, hub_batches.lock])


@app.timer(settings.profiles_read_model_check_seconds)
@survives_outages("the read model check")
async def watch_read_model() -> None:
    await read_model_watch.check()


@app.agent(person_events, concurrency=1)
async def fold_people(stream: faust.StreamT[bytes]) -> None:
    await person_batches.run(stream, lambda event: process(event, fold_person_event, traced=not person_batches.catching_up))


@app.page("/livez")
class Liveness(View):
    async def get(self, request: Request) -> Response:
        return self.json({"status": "ok"})


@app.page("/assignment")
class Assignment(View):
    """The input partitions this worker folds (several workers split them: one consumer group)."""

    async def get(self, request: Request) -> Response:
        active = sorted(f"{tp.topic}:{tp.partition}" for tp in app.assignor.assigned_actives())
        return self.json({"active": active})


@app.page("/progress")
class Progress(View):
    """Where each input partition stands (for operators: a worker that stops committing shows
    here which offset holds it back), and what each agent holds unflushed."""

    async def get(self, request: Request) -> Response:
        agents = {a.name: {"pending": len(a.pending), "flushes": a.flushes, "catching_up": a.catching_up} for a in (person_batches, hub_batches, kpi_batches)}
        return self.json({"partitions": progress_json(partition_progress(app)), "agents": agents, "fence": app.consumer.fence_state()})


stall_watch = StallWatch([*(t.name for t in PERSON_TOPICS), HUB_ATTENDANCE.name, KPI_CONTRIBUTIONS.name])


@app.timer(settings.profiles_stall_check_seconds)
async def rescue_stalled_partitions() -> None:
    """A partition that stopped moving although messages wait (for example a hand-off lost
    around a rebalance, which faust does not notice) is put back at its committed offset:
    folding again from there is idempotent, and waiting would hold its people's profiles for ever."""
    stalled = stall_watch.check(app)
    if not stalled:
        return
    described = {f"{tp.topic}:{tp.partition}": asdict(p) for tp, p in stalled.items()}
    log.warning("input partitions stopped moving, seeking back to their committed offsets: %s; delivery: %s", described, app.consumer.fence_state())
    try:
        await app.consumer.rescue()
    except Exception:  # a rebalance began meanwhile: its own seek puts the partitions back
        log.exception("seeking back to the committed offsets failed")


@app.page("/readyz")
class Readiness(View):
    async def get(self, request: Request) -> Response:
        checks = {"redis": await _redis_ok(), "kafka": await cluster_ready(settings.kafka_bootstrap_servers, timeout=2.0)}
        ready = all(checks.values())
        body = {"status": "ok" if ready else "unavailable", "checks": {k: "ok" if v else "failing" for k, v in checks.items()}}
        return self.json(body, status=200 if ready else 503)


async def _redis_ok() -> bool:
    try:
        return bool(await redis_client().ping())
    except Exception:
        return False
