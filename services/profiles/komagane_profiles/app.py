"""The faust application of the profiles processor: the app, its topics and tables.

The processor is in parts, as faust's larger projects are laid out, each registering itself
with this app when imported (__main__ imports them all):

* agents, one module each: people_agent.py (person events into profiles), hub_agent.py
  (attendance into each hub's mix), kpi_agent.py (KPI summaries into the city totals);
  delivery.py runs each message (retries, then its topic's DLQ);
* timers.py: the city KPI flush, the lapse check, the read model check, stalled partitions;
* recovery.py: what the tables rebuild after a (re)start or rebalance;
* views.py: the worker's web views (/livez, /readyz, /assignment, /progress).

What they share besides the tables (batches folded since their flush, the city totals, the
lapse watch, the event-time watermark) is `app.memory` (memory.py), created with the app.
Every agent runs with concurrency=1 so offsets are committed only after the message before
them finished (faust#606); outputs are written per batch (batching.py): a message is
acknowledged only once its outputs are durable.
"""

from __future__ import annotations

import logging

import redis.asyncio as aioredis

from komagane_contracts.topics import HUB_ATTENDANCE, KPI_CONTRIBUTIONS, PROFILES_INPUTS, PROFILES_PARTITIONS, replication_for
from komagane_kit.telemetry import setup_telemetry
from komagane_profiles.membership import membership_settings
from komagane_profiles.settings import ProfilesSettings, faust_broker_settings
from komagane_profiles.worker import ProfilesApp

log = logging.getLogger(__name__)

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
memory = app.memory

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
# sum, kept in memory (memory.KpiTotals) and summed again from the table after every recovery.
# A second table for the totals could not be written atomically with the first: a worker
# killed between the two changelogs' writes left totals that no longer matched the contributions.
kpi_contributions = app.topic(KPI_CONTRIBUTIONS.name, key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw")
kpi_people = app.Table("kpi-people", default=dict, partitions=PROFILES_PARTITIONS)
# Values are state.encode_state bytes (compact JSON), decoded once per batch, not per message.
# Created last, as before the split: faust keeps its tables in the order they were created.
person_state = app.Table("person-state", partitions=PROFILES_PARTITIONS, value_type=bytes)

_redis: aioredis.Redis | None = None


def redis_client() -> aioredis.Redis:
    global _redis
    if _redis is None:
        _redis = aioredis.Redis.from_url(settings.redis_url)
    return _redis
