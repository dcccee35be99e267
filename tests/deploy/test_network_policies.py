"""Who may talk to whom: only the gateway and the console are reachable from outside; a pillar
service only from the gateway; the console calls only the gateway; partners reach Kafka's partner
listener only, from their own networks."""

from __future__ import annotations

from typing import Any

from tests.deploy.conftest import Objects, of_kind

PILLARS = ("people", "exchange", "jobs", "health", "housing", "partners")
RELEASE_PODS = {"app.kubernetes.io/instance": "komagane"}


def _selects_release_pod(peer: dict[str, Any]) -> bool:
    """A peer that is a pod of this release (in the policy's namespace), not the outside world."""
    labels = peer.get("podSelector", {}).get("matchLabels", {})
    return set(peer) == {"podSelector"} and labels.get("app.kubernetes.io/instance") == "komagane"


def _open_to_outside(policy: dict[str, Any]) -> bool:
    """Whether any ingress rule admits something other than the release's own pods."""
    return any(not rule.get("from") or not all(_selects_release_pod(peer) for peer in rule["from"]) for rule in policy["spec"].get("ingress", []))


def test_everything_is_denied_unless_a_policy_allows_it(rendered: Objects) -> None:
    deny = of_kind(rendered, "NetworkPolicy")["komagane-default-deny"]["spec"]
    assert deny["podSelector"]["matchLabels"]["app.kubernetes.io/instance"] == "komagane"
    assert sorted(deny["policyTypes"]) == ["Egress", "Ingress"]
    assert "ingress" not in deny and "egress" not in deny
    for name, workload in {**of_kind(rendered, "Deployment"), **of_kind(rendered, "StatefulSet")}.items():
        labels = workload["spec"]["template"]["metadata"]["labels"]
        assert deny["podSelector"]["matchLabels"].items() <= labels.items(), name


def test_only_the_gateway_and_the_console_are_reachable_from_outside(rendered: Objects) -> None:
    policies = of_kind(rendered, "NetworkPolicy")
    open_ones = {name for name, policy in policies.items() if _open_to_outside(policy) and name != "komagane-pg"}
    assert open_ones == {"komagane-gateway", "komagane-console"}


def test_pillar_services_accept_calls_only_from_the_gateway(rendered: Objects) -> None:
    policies = of_kind(rendered, "NetworkPolicy")
    for name in PILLARS:
        rules = policies[f"komagane-{name}"]["spec"]["ingress"]
        assert [peer for rule in rules for peer in rule["from"]] == [{"podSelector": {"matchLabels": {"app.kubernetes.io/name": "gateway", **RELEASE_PODS}}}]
    assert policies["komagane-profiles"]["spec"]["ingress"] == []


def test_the_console_calls_only_the_gateway(rendered: Objects) -> None:
    egress = of_kind(rendered, "NetworkPolicy")["komagane-console"]["spec"]["egress"]
    pod_peers = [peer["podSelector"]["matchLabels"] for rule in egress for peer in rule["to"] if "podSelector" in peer and "namespaceSelector" not in peer]
    assert pod_peers == [{"app.kubernetes.io/name": "gateway", **RELEASE_PODS}]
    others = [rule for rule in egress if not any("podSelector" in peer and "namespaceSelector" not in peer for peer in rule["to"])]
    # The rest: DNS, the identity provider over HTTPS, and the telemetry collector the values name.
    for rule in others:
        assert {port["port"] for port in rule["ports"]} <= {53, 443, 4317}, rule


def test_kafkas_internal_listener_admits_only_the_release_kafka_clients(rendered: Objects) -> None:
    kafka = next(iter(of_kind(rendered, "Kafka").values()))
    listeners = {listener["name"]: listener for listener in kafka["spec"]["kafka"]["listeners"]}
    assert listeners["plain"]["networkPolicyPeers"] == [{"podSelector": {"matchLabels": {**RELEASE_PODS, "komagane.jp/kafka-client": "true"}}}]
    clients = {
        name
        for kind in ("Deployment", "StatefulSet")
        for name, obj in of_kind(rendered, kind).items()
        if obj["spec"]["template"]["metadata"]["labels"].get("komagane.jp/kafka-client") == "true"
    }
    assert clients == {f"komagane-{name}" for name in (*PILLARS, "profiles")}


def test_partners_reach_only_the_partner_listener_from_their_networks(large: Objects) -> None:
    kafka = next(iter(of_kind(large, "Kafka").values()))
    listeners = {listener["name"]: listener for listener in kafka["spec"]["kafka"]["listeners"]}
    partner = listeners["partners"]
    assert partner["tls"] is True and partner["authentication"]["type"] == "scram-sha-512"
    assert partner["networkPolicyPeers"] == [{"ipBlock": {"cidr": "203.0.113.0/24"}}, {"ipBlock": {"cidr": "192.0.2.64/26"}}]
    assert all("ipBlock" not in peer for peer in listeners["plain"]["networkPolicyPeers"])


def test_the_small_town_has_no_partner_listener(small: Objects) -> None:
    kafka = next(iter(of_kind(small, "Kafka").values()))
    assert [listener["name"] for listener in kafka["spec"]["kafka"]["listeners"]] == ["plain"]
