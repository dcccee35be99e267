"""Who may do what on the broker: one Kafka principal per deployable, least privilege.

The broker runs with SASL/SCRAM and the KRaft standard authorizer with no ACL meaning no access
(infra/kafka). The ACLs are created from this table (komagane_devstack.kafka_security), so the
rights a service has are written down next to the topics they name. Partners get read access to
their own `partner.<partner_id>.` topics and consumer groups only — never an internal topic.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from komagane_contracts.topics import (
    ALERTS,
    CARE,
    CITY_KPIS,
    EXCHANGE,
    HEALTH,
    HEALTH_INTERNAL,
    HOUSING,
    HUB_MIX,
    JOBS,
    PEOPLE,
    PROFILES,
    PROFILES_INPUTS,
    TOPICS,
    TopicSpec,
    dlq_name,
)

PARTNER_TOPIC_PREFIX = "partner."
PROFILES_APP_ID = "komagane-profiles"  # faust app id: its group and its own topics' prefix


def partner_topic_prefix(partner_id: str) -> str:
    return f"{PARTNER_TOPIC_PREFIX}{partner_id}."


def partner_topic(partner_id: str, feed: str) -> str:
    return f"{partner_topic_prefix(partner_id)}{feed}.v1"


@dataclass(frozen=True)
class Rights:
    """What one principal may do. Prefixes are ACLs on name prefixes (resource pattern PREFIXED)."""

    produce: tuple[str, ...] = ()
    consume: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    produce_prefixes: tuple[str, ...] = ()
    consume_prefixes: tuple[str, ...] = ()
    group_prefixes: tuple[str, ...] = ()
    create_prefixes: tuple[str, ...] = field(default=())


def _consumer_of(*topics: TopicSpec) -> dict[str, tuple[str, ...]]:
    """Consumers read the topics and may dead-letter into their DLQs."""
    return {"consume": tuple(t.name for t in topics), "dlq": tuple(dlq_name(t.name) for t in topics if t.has_dlq)}


def _service(name: str, produces: tuple[TopicSpec, ...], consumes: tuple[TopicSpec, ...] = ()) -> Rights:
    reads = _consumer_of(*consumes)
    # A service also reads back what it writes: its restarted outbox relay looks for the rows
    # its predecessor published but had not marked (komagane_kit.outbox_reconcile).
    own = tuple(t.name for t in produces if t.name not in reads["consume"])
    return Rights(
        produce=tuple(t.name for t in produces) + reads["dlq"],
        consume=reads["consume"] + own,
        groups=(name,) if consumes else (),
    )


_PROFILES_INPUTS = PROFILES_INPUTS
_PROFILES_OUTPUTS = (PROFILES, HUB_MIX, ALERTS, CITY_KPIS)
_PROFILES_INTERNAL = tuple(t for t in TOPICS if t.internal)

# The partner-feed processor reads only what it may project (never health.internal or alerts).
PARTNER_FEED_INPUTS = (PEOPLE, EXCHANGE, JOBS, HOUSING, HEALTH, CITY_KPIS, HUB_MIX)

SERVICE_RIGHTS: dict[str, Rights] = {
    # People reads the housing topic (a move into the town makes a visitor a resident), the exchange
    # topic (which hubs know a person: the hub staff search's rule, hub_ties.py; S1 events only are
    # kept) and its own (it acts on PersonErased like every consumer).
    "people": _service("people", (PEOPLE, CARE), (PEOPLE, HOUSING, EXCHANGE)),
    "exchange": _service("exchange", (EXCHANGE,), (PEOPLE,)),
    "jobs": _service("jobs", (JOBS,), (PEOPLE,)),
    "health": _service("health", (HEALTH, HEALTH_INTERNAL), (PEOPLE,)),
    "housing": _service("housing", (HOUSING,), (PEOPLE,)),
    "profiles": Rights(
        produce=tuple(t.name for t in _PROFILES_OUTPUTS + _PROFILES_INTERNAL) + tuple(dlq_name(t.name) for t in _PROFILES_INPUTS if t.has_dlq),
        consume=tuple(t.name for t in _PROFILES_INPUTS + _PROFILES_INTERNAL),
        # faust manages a few topics of its own (its assignor's leader topic) under its app id;
        # a second app id under the same prefix (a scale-out or replay run) is allowed too.
        group_prefixes=(PROFILES_APP_ID,),
        produce_prefixes=(PROFILES_APP_ID,),
        consume_prefixes=(PROFILES_APP_ID,),
        create_prefixes=(PROFILES_APP_ID,),
    ),
    "partners": Rights(
        produce=tuple(dlq_name(t.name) for t in PARTNER_FEED_INPUTS if t.has_dlq),
        consume=tuple(t.name for t in PARTNER_FEED_INPUTS),
        groups=("partners",),
        produce_prefixes=(PARTNER_TOPIC_PREFIX,),
        consume_prefixes=(PARTNER_TOPIC_PREFIX,),  # reads back its feeds, as every service (_service)
        create_prefixes=(PARTNER_TOPIC_PREFIX,),
    ),
}


def partner_principal(partner_id: str) -> str:
    return f"partner-{partner_id}"


def partner_rights(partner_id: str) -> Rights:
    """A partner reads its own feeds, in consumer groups named with its own prefix; nothing else."""
    prefix = partner_topic_prefix(partner_id)
    return Rights(consume_prefixes=(prefix,), group_prefixes=(prefix,))


@dataclass(frozen=True)
class Grant:
    """One ALLOW ACL entry: an operation (Kafka's AclOperation name) on a topic or group name or prefix."""

    resource: Literal["topic", "group"]
    name: str
    prefixed: bool
    operation: Literal["READ", "WRITE", "DESCRIBE", "CREATE", "DESCRIBE_CONFIGS"]


def grants(rights: Rights) -> list[Grant]:
    """The ACL entries that give `rights`, without duplicates; the devstack and the Kubernetes chart both apply these."""
    wanted: list[Grant] = []
    for prefixed, produce, consume, groups, create in (
        (False, rights.produce, rights.consume, rights.groups, ()),
        (True, rights.produce_prefixes, rights.consume_prefixes, rights.group_prefixes, rights.create_prefixes),
    ):
        for name in produce:
            wanted += [Grant("topic", name, prefixed, "WRITE"), Grant("topic", name, prefixed, "DESCRIBE")]
        for name in consume:
            wanted += [Grant("topic", name, prefixed, "READ"), Grant("topic", name, prefixed, "DESCRIBE")]
        for name in groups:
            wanted += [Grant("group", name, prefixed, "READ"), Grant("group", name, prefixed, "DESCRIBE")]
        for name in create:
            wanted += [Grant("topic", name, prefixed, "CREATE"), Grant("topic", name, prefixed, "DESCRIBE_CONFIGS")]
    return list(dict.fromkeys(wanted))
