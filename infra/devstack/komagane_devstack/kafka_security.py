"""Kafka principals for the local broker: generated SCRAM passwords and ACLs from the rights table.

Passwords are generated on first start and kept in the broker's data dir (mode 600, never in
git); `admin` is the broker's own super user. Every other principal (one per service, one per
partner) gets a SCRAM credential and exactly the ACLs `komagane_contracts.kafka_access` lists.
Provisioning is idempotent, so it runs on every start. `python -m komagane_devstack.kafka_security
partner <partner_id>` provisions a partner on a running `make up` broker and prints its login.
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path

from confluent_kafka.admin import (
    AclBinding,
    AclOperation,
    AclPermissionType,
    AdminClient,
    ResourcePatternType,
    ResourceType,
    ScramCredentialInfo,
    ScramMechanism,
    UserScramCredentialAlteration,
    UserScramCredentialUpsertion,
)

from komagane_contracts.kafka_access import SERVICE_RIGHTS, Rights, grants, partner_principal, partner_rights
from komagane_kit.kafka import KafkaAuth

ADMIN = "admin"
SCRAM_ITERATIONS = 8192
TIMEOUT_S = 30.0


class KafkaCredentials:
    """principal → password, persisted as JSON next to the broker's data."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._passwords: dict[str, str] = json.loads(path.read_text()) if path.exists() else {}

    def password(self, principal: str) -> str:
        if principal not in self._passwords:
            self._passwords[principal] = secrets.token_urlsafe(24)
            self._save()
        return self._passwords[principal]

    def auth(self, principal: str) -> KafkaAuth:
        return KafkaAuth(principal, self.password(principal))

    @property
    def admin(self) -> KafkaAuth:
        return self.auth(ADMIN)

    def _save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        with open(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as f:
            json.dump(self._passwords, f, indent=1, sort_keys=True)
        tmp.replace(self.path)


def acl_bindings(principal: str, rights: Rights) -> list[AclBinding]:
    """The ACLs granting `rights` to `principal` (allow only; everything else is denied)."""
    user = f"User:{principal}"
    return [
        AclBinding(
            ResourceType[grant.resource.upper()],
            grant.name,
            ResourcePatternType.PREFIXED if grant.prefixed else ResourcePatternType.LITERAL,
            user,
            "*",
            AclOperation[grant.operation],
            AclPermissionType.ALLOW,
        )
        for grant in grants(rights)
    ]


def provision(bootstrap: str, credentials: KafkaCredentials, principals: dict[str, Rights]) -> None:
    """Create (or refresh) the SCRAM login and the ACLs of each principal."""
    admin = AdminClient({"bootstrap.servers": bootstrap, **credentials.admin.librdkafka()})
    upserts: list[UserScramCredentialAlteration] = [
        UserScramCredentialUpsertion(name, ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, SCRAM_ITERATIONS), credentials.password(name).encode())
        for name in principals
    ]
    for future in admin.alter_user_scram_credentials(upserts, request_timeout=TIMEOUT_S).values():
        future.result()
    bindings = [binding for name, rights in principals.items() for binding in acl_bindings(name, rights)]
    if bindings:
        for future in admin.create_acls(bindings, request_timeout=TIMEOUT_S).values():
            future.result()


def provision_services(bootstrap: str, credentials: KafkaCredentials) -> None:
    provision(bootstrap, credentials, dict(SERVICE_RIGHTS))


def provision_partner(bootstrap: str, credentials: KafkaCredentials, partner_id: str) -> KafkaAuth:
    """A partner's login, able to read only `partner.<partner_id>.*` in its own groups."""
    principal = partner_principal(partner_id)
    provision(bootstrap, credentials, {principal: partner_rights(partner_id)})
    return credentials.auth(principal)


def main() -> None:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m komagane_devstack.kafka_security")
    parser.add_argument("command", choices=["partner"])
    parser.add_argument("partner_id")
    parser.add_argument("--bootstrap", default=f"127.0.0.1:{os.environ.get('KOMAGANE_KAFKA_PORT', '9092')}")
    parser.add_argument("--data-dir", default=os.environ.get("KOMAGANE_DATA_DIR", ".data"))
    args = parser.parse_args()
    auth = provision_partner(args.bootstrap, KafkaCredentials(Path(args.data_dir) / "kafka" / "credentials.json"), args.partner_id)
    print(json.dumps({"bootstrap": args.bootstrap, **auth.librdkafka()}, indent=1))


if __name__ == "__main__":
    main()
