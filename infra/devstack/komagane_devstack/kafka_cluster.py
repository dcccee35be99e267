"""Kafka for the devstack: one KRaft node (`make up`), or a cluster of three (`KOMAGANE_KAFKA_BROKERS=3`).

Every node is broker and controller in one process (infra/kafka/kafka.sh), with SASL/SCRAM and
ACLs. A cluster's nodes share its id, the admin password and the controller quorum; topics are
replicated for the cluster's size (komagane_contracts.topics.replication_for: 1/1 or 3/2), so a
cluster of three keeps taking writes, losing nothing acknowledged, while any one node is down.
"""

from __future__ import annotations

import asyncio
import json
import logging
import shutil
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from confluent_kafka.admin import AdminClient

from komagane_devstack.kafka_security import KafkaCredentials, provision_services
from komagane_devstack.paths import repo_root
from komagane_devstack.process import ManagedProcess, free_port, wait_until
from komagane_kit.kafka import KafkaAuth, cluster_ready, ensure_topics

log = logging.getLogger(__name__)
logging.getLogger("komagane_devstack.rdkafka").setLevel(logging.CRITICAL)


@dataclass
class KafkaNode:
    node_id: int
    port: int
    controller_port: int
    data_dir: Path
    process: ManagedProcess

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def quorum_state(self) -> dict[str, int]:
        """This node's view of the controller quorum (leaderId, leaderEpoch), from its state file."""
        path = self.data_dir / "logs" / "__cluster_metadata-0" / "quorum-state"
        try:
            state = json.loads(path.read_text())
        except (OSError, ValueError):
            return {}
        return {"leaderId": int(state.get("leaderId", -1)), "leaderEpoch": int(state.get("leaderEpoch", -1))}


class KafkaCluster:
    """`brokers` KRaft nodes on 127.0.0.1; `credentials` holds every principal's password.

    With a fixed `port` (make up) node n listens on port + 2(n−1) and its controller on the next
    port; otherwise free ports are taken once, and kept for this object's life (restarts too).
    One node keeps the layout of a single broker (its data directly in `data_dir`)."""

    def __init__(self, data_dir: Path, log_dir: Path, *, brokers: int = 1, port: int | None = None, heap: str = "1g") -> None:
        self.data_dir = data_dir
        credentials_file = data_dir / "credentials.json"
        if (data_dir / "logs" / "meta.properties").exists() and not credentials_file.exists():
            # Formatted before security was on: its admin login is unknown, so start it afresh.
            log.warning("Kafka data in %s predates SASL; removing it", data_dir)
            shutil.rmtree(data_dir)
        self.credentials = KafkaCredentials(credentials_file)
        ports = [(port + 2 * n, port + 2 * n + 1) if port else (free_port(), free_port()) for n in range(brokers)]
        if brokers == 1 and port:
            ports = [(port, free_port())]  # a single node's controller port is its own business
        voters = ",".join(f"{n + 1}@127.0.0.1:{controller}" for n, (_, controller) in enumerate(ports))
        script = repo_root() / "infra" / "kafka" / "kafka.sh"
        self.nodes: list[KafkaNode] = []
        for n, (client, controller) in enumerate(ports):
            node_dir = data_dir if brokers == 1 else data_dir / f"node-{n + 1}"
            env = {
                "KAFKA_PORT": str(client),
                "KAFKA_CONTROLLER_PORT": str(controller),
                "KAFKA_DATA_DIR": str(node_dir),
                "KAFKA_HEAP": heap,
                "KAFKA_ADMIN_PASSWORD": self.credentials.admin.password,
                "KAFKA_NODE_ID": str(n + 1),
                "KAFKA_VOTERS": voters,
                "KAFKA_REPLICATION": str(min(brokers, 3)),
            }
            name = "kafka" if brokers == 1 else f"kafka-{n + 1}"
            process = ManagedProcess(name, ["bash", str(script), "start"], log_dir=log_dir, env=env)
            self.nodes.append(KafkaNode(n + 1, client, controller, node_dir, process))
        self.bootstrap = ",".join(node.bootstrap for node in self.nodes)
        self.port = self.nodes[0].port
        self.started_in: float | None = None

    @property
    def brokers(self) -> int:
        return len(self.nodes)

    @property
    def process(self) -> ManagedProcess:
        """The first node's process (a single broker's only one)."""
        return self.nodes[0].process

    @property
    def processes(self) -> list[ManagedProcess]:
        return [node.process for node in self.nodes]

    def start(self, timeout: float = 120.0) -> None:
        began = time.monotonic()
        for node in self.nodes:  # together: a controller quorum needs a majority to elect
            node.process.start()
        self.wait_ready(timeout)
        self.started_in = time.monotonic() - began

    def wait_ready(self, timeout: float = 120.0) -> None:
        """Every node answers an admin metadata call."""
        # The client logs every refused connection while the broker boots; that is expected here.
        logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
        for node in self.nodes:
            self.wait_node_ready(node, timeout)

    def wait_node_ready(self, node: KafkaNode, timeout: float = 120.0) -> None:
        def ready() -> bool:
            node.process.check_alive()
            return self.node_ready(node)

        wait_until(ready, timeout=timeout, interval=0.3, what=f"Kafka metadata from {node.process.name}")

    def node_ready(self, node: KafkaNode) -> bool:
        return asyncio.run(cluster_ready(node.bootstrap, timeout=2.0, auth=self.admin))

    def node_of(self, process: ManagedProcess) -> KafkaNode | None:
        return next((node for node in self.nodes if node.process is process), None)

    def active_controller(self) -> KafkaNode:
        """The node leading the controller quorum, by the newest epoch any running node has seen."""
        views = [node.quorum_state() for node in self.nodes if node.process.running()]
        newest = max((v for v in views if v.get("leaderId", -1) > 0), key=lambda v: v["leaderEpoch"], default=None)
        if newest is None:
            raise RuntimeError("no node knows the controller quorum's leader")
        return next(node for node in self.nodes if node.node_id == newest["leaderId"])

    def busiest_leader(self, topic: str) -> KafkaNode:
        """The running node that leads the most partitions of `topic` (the one whose loss moves most)."""
        # librdkafka logs each refused connection to a node that is down (as it is, in chaos tests).
        quiet: dict[str, Any] = {"logger": logging.getLogger("komagane_devstack.rdkafka")}
        admin = AdminClient({"bootstrap.servers": self.bootstrap, **self.admin.librdkafka(), **quiet})
        partitions = admin.list_topics(topic, timeout=10).topics[topic].partitions.values()
        led = Counter(p.leader for p in partitions if p.leader > 0)
        running = [node for node in self.nodes if node.process.running()]
        return max(running, key=lambda node: led[node.node_id])

    @property
    def admin(self) -> KafkaAuth:
        return self.credentials.admin

    def auth(self, principal: str) -> KafkaAuth:
        return self.credentials.auth(principal)

    def create_topics(self) -> list[str]:
        """Topics from the registry (replicated for this cluster), then every service's login and ACLs."""
        created = asyncio.run(ensure_topics(self.bootstrap, auth=self.admin, brokers=self.brokers))
        provision_services(self.bootstrap, self.credentials)
        return created

    def stop(self) -> None:
        # Together: a node stopped last, alone, would wait for a controller majority that is gone.
        with ThreadPoolExecutor(max_workers=len(self.nodes)) as pool:
            list(pool.map(lambda node: node.process.stop(grace=30), self.nodes))
