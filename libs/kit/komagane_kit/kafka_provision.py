"""Every Kafka principal's SCRAM login and ACLs, from the rights table `komagane_contracts.kafka_access`.

One code path for every deployment: the devstack calls it on each start (passwords it generated
and keeps), and the compose deployment's `kafka-init` runs it as a command (passwords from secret
files). Provisioning is idempotent: a login is upserted, an ACL created if missing.

    python -m komagane_kit.kafka_provision kafka:9092

The command logs in as the broker's super user (KAFKA_SASL_USERNAME / KAFKA_SASL_PASSWORD_FILE),
waits for the cluster, creates the registry's topics (replicated for KAFKA_BROKERS), then gives
each service its login from `$KAFKA_LOGINS_DIR/kafka-<principal>` and each partner named in
KAFKA_PARTNERS (space-separated ids) its login from `kafka-partner-<id>`.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
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
from komagane_kit.kafka import KafkaAuth, ensure_topics, wait_for_cluster

SCRAM_ITERATIONS = 8192
TIMEOUT_S = 30.0
Passwords = Callable[[str], str]  # principal → its password


def acl_bindings(principal: str, rights: Rights) -> list[AclBinding]:
    """The ACLs granting `rights` to `principal` (allow only; everything else is denied). The entries
    come from `kafka_access.grants`, which the Kubernetes chart's KafkaUsers are generated from too."""
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


def provision(bootstrap: str, admin: KafkaAuth, passwords: Passwords, principals: dict[str, Rights]) -> None:
    """Create (or refresh) the SCRAM login and the ACLs of each principal."""
    client = AdminClient({"bootstrap.servers": bootstrap, **admin.librdkafka()})
    upserts: list[UserScramCredentialAlteration] = [
        UserScramCredentialUpsertion(name, ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, SCRAM_ITERATIONS), passwords(name).encode()) for name in principals
    ]
    for future in client.alter_user_scram_credentials(upserts, request_timeout=TIMEOUT_S).values():
        future.result()
    bindings = [binding for name, rights in principals.items() for binding in acl_bindings(name, rights)]
    if bindings:
        for future in client.create_acls(bindings, request_timeout=TIMEOUT_S).values():
            future.result()


def principals_for(partners: list[str]) -> dict[str, Rights]:
    """Every service's rights, and each partner's (only its own `partner.<id>.` topics and groups)."""
    return {**SERVICE_RIGHTS, **{partner_principal(p): partner_rights(p) for p in partners}}


def login_file(directory: Path, principal: str) -> Path:
    """Where a deployment keeps a principal's password: `kafka-<principal>` (`kafka-partner-<id>`)."""
    return directory / f"kafka-{principal}"


def main() -> None:
    import sys

    bootstrap = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092")
    admin = KafkaAuth.from_env()
    if admin is None:
        raise SystemExit("KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD(_FILE) of the broker's super user are required")
    logins = Path(os.environ.get("KAFKA_LOGINS_DIR", "/run/secrets"))
    partners = os.environ.get("KAFKA_PARTNERS", "").split()

    def password(principal: str) -> str:
        path = login_file(logins, principal)
        if not path.is_file():
            raise SystemExit(f"no password for Kafka principal {principal!r}: expected the secret file {path}")
        return path.read_text().strip()

    async def topics() -> None:
        await wait_for_cluster(bootstrap, timeout=120, auth=admin)
        for name in await ensure_topics(bootstrap, auth=admin, brokers=int(os.environ.get("KAFKA_BROKERS", "1"))):
            print(f"created topic {name}", flush=True)

    asyncio.run(topics())
    principals = principals_for(partners)
    provision(bootstrap, admin, password, principals)
    print(f"logins and ACLs of {', '.join(principals)}", flush=True)


if __name__ == "__main__":
    main()
