"""`python -m komagane_kit.kafka_provision` — the compose deployment's kafka-init — on a real broker:
logins from secret files, ACLs from kafka_access, topics from the registry; run twice, it changes
nothing. The services' passwords it is given are the ones they use, so the session goes on."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient

from komagane_contracts.kafka_access import SERVICE_RIGHTS, partner_principal
from komagane_contracts.topics import PEOPLE
from komagane_devstack.stack import Stack
from komagane_kit.kafka import KafkaAuth
from komagane_kit.kafka_provision import login_file


def _topics_seen(stack: Stack, auth: KafkaAuth) -> set[str]:
    admin = AdminClient({"bootstrap.servers": stack.kafka.bootstrap, **auth.librdkafka()})
    return set(admin.list_topics(timeout=15).topics)


def _provision(stack: Stack, logins: Path, partners: str) -> subprocess.CompletedProcess[str]:
    environment = {
        **os.environ,
        "KAFKA_SASL_USERNAME": "admin",
        "KAFKA_SASL_PASSWORD": "",
        "KAFKA_SASL_PASSWORD_FILE": str(login_file(logins, "admin")),
        "KAFKA_LOGINS_DIR": str(logins),
        "KAFKA_PARTNERS": partners,
    }
    command = [sys.executable, "-m", "komagane_kit.kafka_provision", stack.kafka.bootstrap]
    return subprocess.run(command, env=environment, capture_output=True, text=True, timeout=180, check=False)


@pytest.mark.timeout(400)
def test_kafka_init_provisions_logins_and_acls_from_secret_files(stack: Stack, tmp_path: Path) -> None:
    partner = f"provisioned{secrets.token_hex(3)}"
    logins = tmp_path / "secrets"
    logins.mkdir()
    for principal in ("admin", *SERVICE_RIGHTS):
        login_file(logins, principal).write_text(stack.kafka.credentials.password(principal) + "\n")
    partner_password = secrets.token_urlsafe(24)
    login_file(logins, partner_principal(partner)).write_text(partner_password)

    first = _provision(stack, logins, partner)
    assert first.returncode == 0, first.stderr
    assert partner_principal(partner) in first.stdout
    # The partner logs in with the password from its file, and sees no internal topic.
    seen = _topics_seen(stack, KafkaAuth(partner_principal(partner), partner_password))
    assert PEOPLE.name not in seen and not any(not t.startswith(f"partner.{partner}.") for t in seen if not t.startswith("__")), seen
    # Services keep working with their passwords (the same as in the files): people still reads its topic.
    assert PEOPLE.name in _topics_seen(stack, stack.kafka.auth("people"))
    with pytest.raises(KafkaException):
        _topics_seen(stack, KafkaAuth(partner_principal(partner), "not-the-password"))

    second = _provision(stack, logins, partner)
    assert second.returncode == 0, second.stderr
    assert "created topic" not in second.stdout, "every topic existed already"

    login_file(logins, "jobs").unlink()
    missing = _provision(stack, logins, partner)
    assert missing.returncode != 0 and "kafka-jobs" in missing.stderr + missing.stdout
