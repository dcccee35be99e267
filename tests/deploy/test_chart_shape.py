"""What the rendered chart promises: bounded profile workers, probes, non-root pods, resources,
secrets by reference only, autoscaling and disruption budgets, and who may talk to whom."""

from __future__ import annotations

from typing import Any

import pytest

from deploy.render import RenderError, load_manifests, render
from deploy.tools import VALUES_DIR
from komagane_contracts.topics import PROFILES_PARTITIONS
from tests.deploy.conftest import Objects, of_kind

PILLARS = ("people", "exchange", "jobs", "health", "housing", "partners")
WORKLOADS = ("Deployment", "StatefulSet")


def _pods(objects: Objects) -> list[tuple[str, dict[str, Any]]]:
    return [(obj["metadata"]["name"], obj["spec"]["template"]) for obj in objects if obj["kind"] in WORKLOADS]


def test_profiles_workers_are_bounded_by_the_input_partitions() -> None:
    at_bound = render([VALUES_DIR / "small.yaml"], sets=[f"profiles.replicas={PROFILES_PARTITIONS}"])
    assert of_kind(at_bound, "StatefulSet")["komagane-profiles"]["spec"]["replicas"] == PROFILES_PARTITIONS
    with pytest.raises(RenderError, match=f"exceeds the {PROFILES_PARTITIONS} input partitions"):
        render([VALUES_DIR / "small.yaml"], sets=[f"profiles.replicas={PROFILES_PARTITIONS + 1}"])


def test_profiles_workers_keep_stores_on_volumes_and_join_under_their_pod_name(rendered: Objects) -> None:
    workers = of_kind(rendered, "StatefulSet")["komagane-profiles"]
    container = workers["spec"]["template"]["spec"]["containers"][0]
    env = {var["name"]: var for var in container["env"]}
    assert env["PROFILES_INSTANCE_ID"]["valueFrom"] == {"fieldRef": {"fieldPath": "metadata.name"}}
    data_dir = env["PROFILES_DATA_DIR"]["value"]
    claims = {claim["metadata"]["name"] for claim in workers["spec"]["volumeClaimTemplates"]}
    assert {(mount["name"], mount["mountPath"]) for mount in container["volumeMounts"]} >= {("data", data_dir)}
    assert "data" in claims


def test_every_container_has_probes_resources_and_a_locked_down_context(rendered: Objects) -> None:
    for name, pod in _pods(rendered):
        spec = pod["spec"]
        assert spec["securityContext"]["runAsNonRoot"] is True, name
        assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}, name
        assert spec["automountServiceAccountToken"] is False, name
        for container in spec["containers"]:
            assert container["livenessProbe"]["httpGet"]["path"] == "/livez", name
            assert container["readinessProbe"]["httpGet"]["path"] == "/readyz", name
            assert set(container["resources"]) == {"requests", "limits"}, name
            assert {"cpu", "memory"} <= set(container["resources"]["requests"]), name
            context = container["securityContext"]
            assert context["readOnlyRootFilesystem"] is True and context["allowPrivilegeEscalation"] is False, name
            assert context["capabilities"] == {"drop": ["ALL"]}, name


def test_secrets_come_only_from_secret_references(rendered: Objects) -> None:
    assert not of_kind(rendered, "Secret"), "the chart creates no Secret: they are referenced by name"
    for name, pod in _pods(rendered):
        for container in pod["spec"]["containers"]:
            for var in container["env"]:
                if any(word in var["name"] for word in ("SECRET", "PASSWORD")):
                    assert "secretKeyRef" in var.get("valueFrom", {}), (name, var["name"])


def test_the_gateway_and_the_pillars_autoscale_and_every_component_has_a_disruption_budget(rendered: Objects) -> None:
    autoscalers = of_kind(rendered, "HorizontalPodAutoscaler")
    assert {hpa["spec"]["scaleTargetRef"]["name"] for hpa in autoscalers.values()} == {f"komagane-{n}" for n in (*PILLARS, "gateway")}
    budgets = of_kind(rendered, "PodDisruptionBudget")
    workloads = {name: obj for kind in WORKLOADS for name, obj in of_kind(rendered, kind).items()}
    assert set(budgets) == set(workloads)
    for name, budget in budgets.items():
        assert budget["spec"]["selector"]["matchLabels"] == workloads[name]["spec"]["selector"]["matchLabels"]


def test_each_pillar_has_its_own_database_and_role(rendered: Objects) -> None:
    cluster = next(iter(of_kind(rendered, "Cluster").values()))
    assert cluster["spec"]["instances"] == 3
    roles = {role["name"]: role for role in cluster["spec"]["managed"]["roles"]}
    assert set(roles) == set(PILLARS)
    databases = {db["spec"]["name"]: db["spec"]["owner"] for db in of_kind(rendered, "Database").values()}
    assert databases == {name: name for name in PILLARS}
    for name in PILLARS:
        assert roles[name]["passwordSecret"] == {"name": f"komagane-db-{name}"}
        assert not roles[name]["superuser"]
        deployment = of_kind(rendered, "Deployment")[f"komagane-{name}"]
        env = {var["name"]: var for var in deployment["spec"]["template"]["spec"]["containers"][0]["env"]}
        assert env["DATABASE_URL"]["value"].endswith(f"/{name}")


def test_kafka_is_a_kraft_node_pool_of_three_with_scram_and_acls(rendered: Objects) -> None:
    kafka = next(iter(of_kind(rendered, "Kafka").values()))
    pool = next(iter(of_kind(rendered, "KafkaNodePool").values()))
    assert pool["spec"]["replicas"] == 3 and sorted(pool["spec"]["roles"]) == ["broker", "controller"]
    assert kafka["metadata"]["annotations"]["strimzi.io/kraft"] == "enabled"
    assert kafka["spec"]["kafka"]["authorization"]["type"] == "simple"
    assert all(listener["authentication"]["type"] == "scram-sha-512" for listener in kafka["spec"]["kafka"]["listeners"])


def test_a_label_given_twice_is_refused() -> None:
    """PyYAML would keep the last of two equal keys; the API server refuses the manifest."""
    with pytest.raises(RenderError, match=r"app\.kubernetes\.io/instance"):
        load_manifests("metadata:\n  labels:\n    app.kubernetes.io/instance: a\n    app.kubernetes.io/instance: a\n")
