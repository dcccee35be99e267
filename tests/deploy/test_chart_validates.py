"""The chart renders for a town and for a prefecture, and every object is valid for Kubernetes
1.33 and for the operators' CRDs (Strimzi 0.49.0, CloudNativePG 1.27.1), all offline."""

from __future__ import annotations

import copy
from collections import Counter

from deploy.validate import problems
from tests.deploy.conftest import Objects, of_kind


def test_every_rendered_object_validates(rendered: Objects) -> None:
    assert problems(rendered) == []


def test_the_suite_is_all_there(rendered: Objects) -> None:
    kinds = Counter(obj["kind"] for obj in rendered)
    assert set(of_kind(rendered, "Deployment")) == {
        f"komagane-{name}" for name in ("people", "exchange", "jobs", "health", "housing", "partners", "gateway", "console")
    }
    assert set(of_kind(rendered, "StatefulSet")) == {"komagane-profiles"}
    assert kinds["Kafka"] == 1 and kinds["KafkaNodePool"] == 1 and kinds["Cluster"] == 1
    assert kinds["Database"] == 6


def test_the_validators_refuse_what_the_schemas_forbid(small: Objects) -> None:
    """Each kind of check finds a planted mistake (so an empty list above means something)."""
    broken = copy.deepcopy(small)
    deployment = next(obj for obj in broken if obj["kind"] == "Deployment")
    deployment["spec"]["replicas"] = "two"
    policy = next(obj for obj in broken if obj["kind"] == "NetworkPolicy")
    policy["spec"]["podSelectr"] = {}  # an unknown field: strict schemas refuse it
    topic = next(obj for obj in broken if obj["kind"] == "KafkaTopic")
    topic["spec"]["partitions"] = "six"
    user = next(obj for obj in broken if obj["kind"] == "KafkaUser")
    user["spec"]["authentication"]["type"] = "plain"
    cluster = next(obj for obj in broken if obj["kind"] == "Cluster")
    cluster["spec"]["instance"] = 3  # misspelled `instances`
    database = next(obj for obj in broken if obj["kind"] == "Database")
    del database["spec"]["owner"]
    found = problems(broken)
    named = {problem.split(":")[0] for problem in found}
    assert {
        f"Deployment/{deployment['metadata']['name']}",
        f"NetworkPolicy/{policy['metadata']['name']}",
        f"KafkaTopic/{topic['metadata']['name']}",
        f"KafkaUser/{user['metadata']['name']}",
        f"Cluster/{cluster['metadata']['name']}",
        f"Database/{database['metadata']['name']}",
    } <= named, found
