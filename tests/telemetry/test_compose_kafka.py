"""The compose deployment's Kafka is secured like `make up`'s: the same start script, SASL/SCRAM on
every listener, and every login and ACL made by kafka-init from `komagane_contracts.kafka_access`."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from pathlib import Path

from komagane_contracts.kafka_access import SERVICE_RIGHTS, partner_principal
from tests.telemetry.deployment import CORE, ROOT, resolved

SECRETS = "/run/secrets/"


def _secret_names(service: dict[str, object]) -> set[str]:
    return {entry["source"] if isinstance(entry, dict) else str(entry) for entry in service.get("secrets") or []}  # type: ignore[attr-defined]


def test_every_principal_of_the_rights_table_has_a_secret_and_kafka_init_provisions_it() -> None:
    config = resolved(CORE)
    services, secrets = config["services"], config["secrets"]
    init = services["kafka-init"]
    partners = init["environment"]["KAFKA_PARTNERS"].split()
    principals = {*SERVICE_RIGHTS, *(partner_principal(p) for p in partners)}
    assert {f"kafka-{p}" for p in principals} | {"kafka-admin"} == set(secrets), "secrets and kafka_access differ"
    assert _secret_names(init) == set(secrets), "kafka-init needs every login to provision it"
    dockerfile = (Path(init["build"]["context"]) / init["build"]["dockerfile"]).read_text()
    assert 'CMD ["python", "-m", "komagane_kit.kafka_provision", "kafka:9092"]' in dockerfile
    assert init["environment"]["KAFKA_SASL_USERNAME"] == "admin"
    for secret in secrets.values():
        assert Path(secret["file"]).parent == ROOT / ".secrets", secret


def test_each_service_logs_in_to_kafka_as_itself_with_its_own_secret_only() -> None:
    services = resolved(CORE)["services"]
    clients = {name: s for name, s in services.items() if "KAFKA_BOOTSTRAP_SERVERS" in (s.get("environment") or {})}
    assert set(clients) == set(SERVICE_RIGHTS), "every principal of kafka_access is a compose service and vice versa"
    for name, service in clients.items():
        environment = service["environment"]
        assert environment["KAFKA_SASL_USERNAME"] == name, name
        assert environment["KAFKA_SASL_PASSWORD_FILE"] == f"{SECRETS}kafka-{name}", name
        assert "KAFKA_SASL_PASSWORD" not in environment, name
        assert _secret_names(service) == {f"kafka-{name}"}, f"{name} sees another principal's password"
    others = {name for name in services if name not in clients and name not in ("kafka", "kafka-init")}
    assert all(not any(s.startswith("kafka-") for s in _secret_names(services[n])) for n in others)


def test_the_broker_runs_the_devstacks_start_script_with_sasl_on_every_listener(tmp_path: Path) -> None:
    kafka = resolved(CORE)["services"]["kafka"]
    mounts = {v["target"]: v["source"] for v in kafka["volumes"] if v["type"] == "bind"}
    assert Path(mounts["/opt/komagane-kafka/kafka.sh"]) == ROOT / "infra/kafka/kafka.sh"
    assert kafka["command"] == ["bash", "/opt/komagane-kafka/kafka.sh", "start"]
    assert "--command-config" in " ".join(kafka["healthcheck"]["test"]), "the health check must log in"
    # The script's configuration for exactly this environment, written as the container would.
    password = tmp_path / "kafka-admin"
    password.write_text("s3cret-for-this-test\n")
    environment = {k: str(v) for k, v in kafka["environment"].items()}
    environment |= {"KAFKA_DATA_DIR": str(tmp_path / "data"), "KAFKA_ADMIN_PASSWORD_FILE": str(password), "PATH": os.environ["PATH"]}
    subprocess.run(["bash", str(ROOT / "infra/kafka/kafka.sh"), "config"], env=environment, check=True, timeout=30)
    properties = dict(line.split("=", 1) for line in (tmp_path / "data/server.properties").read_text().splitlines() if "=" in line and not line.startswith("#"))
    protocols = dict(pair.split(":") for pair in properties["listener.security.protocol.map"].split(","))
    assert protocols == {"CLIENT": "SASL_PLAINTEXT", "CONTROLLER": "SASL_PLAINTEXT", "PARTNER": "SASL_PLAINTEXT"}
    assert properties["advertised.listeners"] == "CLIENT://kafka:9092,PARTNER://127.0.0.1:9094"
    assert properties["allow.everyone.if.no.acl.found"] == "false" and properties["super.users"] == "User:admin"
    assert 's3cret-for-this-test"' in properties["listener.name.client.scram-sha-512.sasl.jaas.config"]
    for written in ("server.properties", "admin.properties"):
        assert stat.S_IMODE((tmp_path / "data" / written).stat().st_mode) == 0o600, written


def test_the_secrets_script_makes_each_missing_password_once(tmp_path: Path) -> None:
    (tmp_path / "infra/scripts").mkdir(parents=True)
    shutil.copy(ROOT / "infra/scripts/compose-secrets.sh", tmp_path / "infra/scripts/")
    shutil.copy(ROOT / CORE, tmp_path / CORE)
    script = ["bash", str(tmp_path / "infra/scripts/compose-secrets.sh")]
    subprocess.run(script, check=True, capture_output=True, timeout=30)
    made = {p.name: p.read_text() for p in (tmp_path / ".secrets").iterdir()}
    assert set(made) == set(resolved(CORE)["secrets"])
    assert len(set(made.values())) == len(made) and all(len(v) >= 32 for v in made.values())
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in (tmp_path / ".secrets").iterdir())
    again = subprocess.run(script, check=True, capture_output=True, text=True, timeout=30)
    assert again.stdout == "" and {p.name: p.read_text() for p in (tmp_path / ".secrets").iterdir()} == made
