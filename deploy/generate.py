"""Writes the chart's registry data from the contracts, so Kafka topics and users cannot drift from them.

`python -m deploy.generate` writes deploy/helm/komagane/generated/registry.json;
`python -m deploy.generate --check` exits 1 when the file differs from what the registries give
(tests/deploy runs the same comparison). The chart's templates turn the file into Strimzi
`KafkaTopic` and `KafkaUser` resources and bound the profiles workers by the input partitions.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from komagane_contracts.kafka_access import PARTNER_TOPIC_PREFIX, SERVICE_RIGHTS, Grant, grants, partner_principal, partner_rights
from komagane_contracts.topics import PRODUCTION_BROKERS, PROFILES_PARTITIONS, TopicSpec, all_topic_specs, replication_for

CHART_DIR = Path(__file__).resolve().parent / "helm" / "komagane"
REGISTRY_FILE = CHART_DIR / "generated" / "registry.json"
# Stands for a partner's id in the partner ACL pattern; the chart substitutes each configured partner.
PARTNER_PLACEHOLDER = "__PARTNER__"

# The chart's Kafka is three brokers (a KafkaNodePool of three), replicated as the registry says
# for that size (replication_for: every partition on all three, a write acknowledged by two).
BROKERS = PRODUCTION_BROKERS
REPLICATION = replication_for(BROKERS)

# Strimzi names the operations in CamelCase; the registry uses Kafka's AclOperation names.
_STRIMZI_OPERATIONS = {"READ": "Read", "WRITE": "Write", "DESCRIBE": "Describe", "CREATE": "Create", "DESCRIBE_CONFIGS": "DescribeConfigs"}


def _topic(spec: TopicSpec) -> dict[str, Any]:
    return {"name": spec.name, "partitions": spec.partitions, "replicas": REPLICATION.factor, "config": dict(sorted(spec.config(BROKERS).items()))}


def _acls(rights_grants: list[Grant]) -> list[dict[str, Any]]:
    """Strimzi's `simple` authorization rules, one per resource with its operations together."""
    rules: dict[tuple[str, str, bool], list[str]] = {}
    for grant in rights_grants:
        rules.setdefault((grant.resource, grant.name, grant.prefixed), []).append(_STRIMZI_OPERATIONS[grant.operation])
    return [
        {"resource": {"type": kind, "name": name, "patternType": "prefix" if prefixed else "literal"}, "operations": operations}
        for (kind, name, prefixed), operations in rules.items()
    ]


def registry() -> dict[str, Any]:
    """What the chart needs from the contracts, in a stable order."""
    return {
        "generatedBy": "python -m deploy.generate (from komagane_contracts.topics and kafka_access); do not edit",
        "kafka": {"brokers": BROKERS, "replicationFactor": REPLICATION.factor, "minInsyncReplicas": REPLICATION.min_insync},
        "profilesPartitions": PROFILES_PARTITIONS,
        "topics": [_topic(spec) for spec in sorted(all_topic_specs(), key=lambda s: s.name)],
        "users": [{"name": name, "acls": _acls(grants(rights))} for name, rights in sorted(SERVICE_RIGHTS.items())],
        "partner": {
            "placeholder": PARTNER_PLACEHOLDER,
            "topicPrefix": PARTNER_TOPIC_PREFIX,
            "user": partner_principal(PARTNER_PLACEHOLDER),
            "acls": _acls(grants(partner_rights(PARTNER_PLACEHOLDER))),
        },
    }


def render() -> str:
    return json.dumps(registry(), indent=1, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m deploy.generate", description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare instead of writing; exit 1 on a difference")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        current = REGISTRY_FILE.read_text(encoding="utf-8") if REGISTRY_FILE.exists() else ""
        if current != text:
            print(f"{REGISTRY_FILE} differs from the registries: run python -m deploy.generate", file=sys.stderr)
            return 1
        return 0
    REGISTRY_FILE.parent.mkdir(parents=True, exist_ok=True)
    REGISTRY_FILE.write_text(text, encoding="utf-8")
    print(f"wrote {REGISTRY_FILE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
