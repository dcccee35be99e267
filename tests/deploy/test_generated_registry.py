"""The chart's Kafka topics and users come from the contract registries and cannot drift from them."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest

from deploy import generate
from komagane_contracts import topics
from komagane_contracts.kafka_access import SERVICE_RIGHTS, grants, partner_principal, partner_rights
from komagane_contracts.topics import all_topic_specs
from tests.deploy.conftest import Objects, of_kind

STRIMZI_OPERATIONS = {"READ": "Read", "WRITE": "Write", "DESCRIBE": "Describe", "CREATE": "Create", "DESCRIBE_CONFIGS": "DescribeConfigs"}


def test_the_committed_registry_file_is_what_the_generator_writes() -> None:
    assert generate.REGISTRY_FILE.read_text(encoding="utf-8") == generate.render(), "run: python -m deploy.generate"
    assert generate.main(["--check"]) == 0


def test_a_change_to_the_topic_registry_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    specs = all_topic_specs()
    changed = [dataclasses.replace(specs[0], partitions=specs[0].partitions + 6), *specs[1:]]
    monkeypatch.setattr(generate, "all_topic_specs", lambda: changed)
    assert generate.main(["--check"]) == 1


def test_a_change_to_a_principals_rights_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    people = SERVICE_RIGHTS["people"]
    wider = dataclasses.replace(people, consume=(*people.consume, topics.ALERTS.name))
    monkeypatch.setattr(generate, "SERVICE_RIGHTS", {**SERVICE_RIGHTS, "people": wider})
    assert generate.main(["--check"]) == 1


def _acl_set(acls: list[dict[str, Any]]) -> set[tuple[str, str, str, str]]:
    return {(acl["resource"]["type"], acl["resource"]["name"], acl["resource"]["patternType"], op) for acl in acls for op in acl["operations"]}


def _expected_acls(rights: Any) -> set[tuple[str, str, str, str]]:
    return {(g.resource, g.name, "prefix" if g.prefixed else "literal", STRIMZI_OPERATIONS[g.operation]) for g in grants(rights)}


def test_every_registry_topic_is_a_kafka_topic_with_its_partitions_and_config(rendered: Objects) -> None:
    rendered_topics = of_kind(rendered, "KafkaTopic")
    specs = all_topic_specs()
    assert set(rendered_topics) == {spec.name for spec in specs}
    for spec in specs:
        topic = rendered_topics[spec.name]["spec"]
        assert topic["topicName"] == spec.name
        assert topic["partitions"] == spec.partitions
        assert topic["replicas"] == 3
        assert topic["config"] == {**spec.config(), "min.insync.replicas": "2"}


def test_every_principal_is_a_kafka_user_with_exactly_its_registry_acls(small: Objects) -> None:
    users = of_kind(small, "KafkaUser")
    assert set(users) == set(SERVICE_RIGHTS)
    for name, rights in SERVICE_RIGHTS.items():
        spec = users[name]["spec"]
        assert spec["authentication"] == {"type": "scram-sha-512"}
        assert _acl_set(spec["authorization"]["acls"]) == _expected_acls(rights)


def test_partners_get_their_own_user_reading_only_their_own_prefix(large: Objects) -> None:
    users = of_kind(large, "KafkaUser")
    for partner in ("shinkin-bank", "university-lab"):
        user = users[partner_principal(partner)]
        acls = _acl_set(user["spec"]["authorization"]["acls"])
        assert acls == _expected_acls(partner_rights(partner))
        assert all(name.startswith(f"partner.{partner}.") for _, name, _, _ in acls)
        assert {op for *_, op in acls} <= {"Read", "Describe"}


def test_the_registry_file_is_json_with_the_profiles_partitions() -> None:
    data = json.loads(generate.REGISTRY_FILE.read_text(encoding="utf-8"))
    assert data["profilesPartitions"] == topics.PROFILES_PARTITIONS
