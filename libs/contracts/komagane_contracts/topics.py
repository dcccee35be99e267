"""The single topic registry: producers, consumers, topic creation and AsyncAPI all read it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from komagane_contracts.events.base import EventModel
from komagane_contracts.events.care import CARE_EVENTS, CARE_TOPIC
from komagane_contracts.events.exchange import EXCHANGE_EVENTS, EXCHANGE_TOPIC
from komagane_contracts.events.health import HEALTH_EVENTS, HEALTH_INTERNAL_EVENTS, HEALTH_INTERNAL_TOPIC, HEALTH_TOPIC
from komagane_contracts.events.housing import HOUSING_EVENTS, HOUSING_TOPIC
from komagane_contracts.events.jobs import JOBS_EVENTS, JOBS_TOPIC
from komagane_contracts.events.people import PEOPLE_EVENTS, PEOPLE_TOPIC
from komagane_contracts.events.profiles import (
    ALERT_EVENTS,
    ALERTS_TOPIC,
    CITY_KPI_EVENTS,
    CITY_KPIS_TOPIC,
    HUB_MIX_EVENTS,
    HUB_MIX_TOPIC,
    PROFILE_EVENTS,
    PROFILES_TOPIC,
)
from komagane_contracts.vocabulary import Sensitivity

DAY_MS = 24 * 60 * 60 * 1000
# The profiles processor's inputs, internal topics and table changelogs are co-partitioned
# (faust requires it): one count for all of them. Six lets up to six workers split the work.
PROFILES_PARTITIONS = 6


def dlq_name(topic: str) -> str:
    return f"{topic}.dlq"


@dataclass(frozen=True)
class Replication:
    """Copies of each partition, and how many must hold a write before the broker acknowledges it
    (producers send with acks=all, so an acknowledged write survives the loss of factor − min_insync)."""

    factor: int
    min_insync: int


def replication_for(brokers: int) -> Replication:
    """Per environment, by the cluster's size: one broker 1/1 (`make up`); three or more 3/2, so
    one broker may be lost (or restarted) while writes go on and nothing acknowledged is lost."""
    if brokers < 1:
        raise ValueError(f"a cluster has at least one broker, not {brokers}")
    if brokers >= 3:
        return Replication(factor=3, min_insync=2)
    return Replication(factor=brokers, min_insync=1)


# What the published contract states: the replicated production cluster.
PRODUCTION_BROKERS = 3


@dataclass(frozen=True)
class TopicSpec:
    name: str
    key: str
    value_types: tuple[type[EventModel], ...]
    sensitivity: Sensitivity
    description: str
    partitions: int = 3
    cleanup_policy: Literal["delete", "compact"] = "delete"
    retention_ms: int | None = None  # None: the broker default (or forever when compacted)
    has_dlq: bool = True  # consumed by a processor, so failures need somewhere to go
    internal: bool = False  # a processor's own plumbing: created here, not published in AsyncAPI
    extra_config: dict[str, str] = field(default_factory=dict)

    def config(self, brokers: int = 1) -> dict[str, str]:
        """The topic's configuration on a cluster of `brokers` (replication_for sets min.insync.replicas)."""
        cfg = {"cleanup.policy": self.cleanup_policy, "min.insync.replicas": str(replication_for(brokers).min_insync), **self.extra_config}
        if self.retention_ms is not None:
            cfg["retention.ms"] = str(self.retention_ms)
        return cfg

    def dlq(self) -> TopicSpec:
        return TopicSpec(
            name=dlq_name(self.name),
            key=self.key,
            value_types=(),
            sensitivity=self.sensitivity,
            description=f"Messages from {self.name} that kept failing, with error headers",
            partitions=1,
            retention_ms=30 * DAY_MS,
            has_dlq=False,
        )


PEOPLE = TopicSpec(
    name=PEOPLE_TOPIC,
    key="person_id",
    value_types=PEOPLE_EVENTS,
    partitions=PROFILES_PARTITIONS,
    sensitivity=Sensitivity.S1,
    description="Person registrations and consent changes from the people service",
    retention_ms=None,
    cleanup_policy="delete",
    extra_config={"retention.ms": "-1"},  # the history is the source for replaying profiles
)

EXCHANGE = TopicSpec(
    name=EXCHANGE_TOPIC,
    key="person_id for person events; hub_id (or group_id) otherwise",
    value_types=EXCHANGE_EVENTS,
    partitions=PROFILES_PARTITIONS,
    sensitivity=Sensitivity.S2,  # attendance at support-specific activities
    description="Hubs, activities, sessions, attendance, groups and volunteering from the exchange service",
    extra_config={"retention.ms": "-1"},
)

JOBS = TopicSpec(
    name=JOBS_TOPIC,
    key="person_id for person events; opportunity, seminar or organisation id otherwise",
    value_types=JOBS_EVENTS,
    partitions=PROFILES_PARTITIONS,
    sensitivity=Sensitivity.S2,  # WELFARE_A/B and training referrals imply disability
    description="Opportunities, applications, engagements, まちゼミ seminars and 地域おこし協力隊 from the jobs service",
    extra_config={"retention.ms": "-1"},
)

HEALTH = TopicSpec(
    name=HEALTH_TOPIC,
    key="person_id for person events; group or programme id otherwise",
    value_types=HEALTH_EVENTS,
    partitions=PROFILES_PARTITIONS,
    sensitivity=Sensitivity.S1,
    description="Derived, coarse health participation signals (never raw measurements)",
    extra_config={"retention.ms": "-1"},
)

HEALTH_INTERNAL = TopicSpec(
    name=HEALTH_INTERNAL_TOPIC,
    key="person_id; group id for advice sessions",
    value_types=HEALTH_INTERNAL_EVENTS,
    partitions=PROFILES_PARTITIONS,
    sensitivity=Sensitivity.S2,
    description="要配慮個人情報 from the health service: only the health service and the profile processor read it",
    extra_config={"retention.ms": "-1"},
)

HOUSING = TopicSpec(
    name=HOUSING_TOPIC,
    key="person_id for person events; property id otherwise",
    value_types=HOUSING_EVENTS,
    partitions=PROFILES_PARTITIONS,
    sensitivity=Sensitivity.S1,
    description="Properties, trial stays, migration cases, moves, relocations and workation from the housing service",
    extra_config={"retention.ms": "-1"},
)

CARE = TopicSpec(
    name=CARE_TOPIC,
    key="person_id",
    value_types=CARE_EVENTS,
    partitions=PROFILES_PARTITIONS,
    sensitivity=Sensitivity.S3,
    description="Care staff's follow-ups of lapse alerts (outcome codes, no notes): the people service writes, only the profiles processor reads",
    extra_config={"retention.ms": "-1"},  # replaying the profiles needs every follow-up
)

PROFILES = TopicSpec(
    name=PROFILES_TOPIC,
    key="person_id",
    value_types=PROFILE_EVENTS,
    sensitivity=Sensitivity.S1,
    description="Latest profile per consenting person; a tombstone (null value) erases it",
    cleanup_policy="compact",
    has_dlq=False,
    extra_config={"min.cleanable.dirty.ratio": "0.1", "delete.retention.ms": str(DAY_MS)},
)

HUB_MIX = TopicSpec(
    name=HUB_MIX_TOPIC,
    key="hub_id",
    value_types=HUB_MIX_EVENTS,
    sensitivity=Sensitivity.S0,
    description="ごちゃまぜ index per hub and month (aggregate, small cells suppressed); latest per hub",
    cleanup_policy="compact",
    has_dlq=False,
)

ALERTS = TopicSpec(
    name=ALERTS_TOPIC,
    key="person_id",
    value_types=ALERT_EVENTS,
    sensitivity=Sensitivity.S3,
    description="Lapse (isolation) alerts for authorised care staff only; never copied to partner topics",
    has_dlq=False,
    retention_ms=90 * DAY_MS,
)

# Attendance re-keyed by hub inside the profiles processor (age band only). Declared here so it
# exists before the processor subscribes: faust would otherwise race its own topic creation.
HUB_ATTENDANCE = TopicSpec(
    name="profiles.hub-attendance.internal.v1",
    key="hub_id",
    value_types=(),
    partitions=PROFILES_PARTITIONS,
    sensitivity=Sensitivity.S0,
    description="Internal to the profiles processor: {attendance_id, session_id, month, age_band} per hub",
    has_dlq=False,
    internal=True,
    retention_ms=7 * DAY_MS,
)


def _table_changelog(table: str, description: str) -> TopicSpec:
    """A faust table's changelog in the profiles processor (app id `komagane-profiles`).

    Created here, before the processor starts, because faust's own creation can race its first
    writes (it then sees a changelog with "0 partitions"). Compacted: the latest state per key.
    """
    return TopicSpec(
        name=f"komagane-profiles-{table}-changelog",
        partitions=PROFILES_PARTITIONS,
        key="person_id" if table == "person-state" else "hub_id",
        value_types=(),
        sensitivity=Sensitivity.S1 if table == "person-state" else Sensitivity.S0,
        description=description,
        cleanup_policy="compact",
        has_dlq=False,
        internal=True,
    )


PERSON_STATE_CHANGELOG = _table_changelog("person-state", "Per-person folding state of the profiles processor (restores its table)")
HUB_MIX_CHANGELOG = _table_changelog("hub-mix", "Per-hub age-band counts of the profiles processor (restores its table)")

CITY_KPIS = TopicSpec(
    name=CITY_KPIS_TOPIC,
    key="month (YYYY-MM)",
    value_types=CITY_KPI_EVENTS,
    sensitivity=Sensitivity.S0,
    description="City KPIs per month (aggregate, cells under 10 people suppressed); latest per month",
    cleanup_policy="compact",
    has_dlq=False,
)

# Each person's KPI summary (pseudonymous, counts per month), re-keyed to one key so the city
# totals are folded in one partition. Declared here for the same reason as HUB_ATTENDANCE.
KPI_CONTRIBUTIONS = TopicSpec(
    name="profiles.kpi-contributions.internal.v1",
    key="the constant city",
    value_types=(),
    partitions=PROFILES_PARTITIONS,
    sensitivity=Sensitivity.S1,
    description="Internal to the profiles processor: {pseudonym, per-month counts} of one person, latest wins",
    has_dlq=False,
    internal=True,
    retention_ms=7 * DAY_MS,
)

KPI_PEOPLE_CHANGELOG = TopicSpec(
    name="komagane-profiles-kpi-people-changelog",
    key="pseudonym",
    value_types=(),
    partitions=PROFILES_PARTITIONS,
    sensitivity=Sensitivity.S1,
    description="Per-pseudonym KPI contribution of the profiles processor (restores its table)",
    cleanup_policy="compact",
    has_dlq=False,
    internal=True,
)

TOPICS: tuple[TopicSpec, ...] = (
    PEOPLE, EXCHANGE, JOBS, HEALTH, HEALTH_INTERNAL, HOUSING, CARE, PROFILES, HUB_MIX, ALERTS,
    HUB_ATTENDANCE, PERSON_STATE_CHANGELOG, HUB_MIX_CHANGELOG,
    CITY_KPIS, KPI_CONTRIBUTIONS, KPI_PEOPLE_CHANGELOG,
)  # fmt: skip


def all_topic_specs() -> list[TopicSpec]:
    """Every topic to create, DLQs included."""
    specs = list(TOPICS)
    specs += [spec.dlq() for spec in TOPICS if spec.has_dlq]
    return specs


def topic_for(event_cls: type[EventModel]) -> TopicSpec:
    for spec in TOPICS:
        if event_cls in spec.value_types:
            return spec
    raise LookupError(f"{event_cls.__name__} is on no registered topic")


# Everything the profiles processor folds (its person table's input, co-partitioned): its app,
# its ACLs, its replay tests and benchmarks read this one tuple.
PROFILES_INPUTS: tuple[TopicSpec, ...] = (PEOPLE, EXCHANGE, JOBS, HEALTH, HEALTH_INTERNAL, HOUSING, CARE)
