"""Driving the running platform in end-to-end tests: register people and wait for replicas."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from psycopg import connect

from komagane_devstack.stack import Stack, StackConfig
from tests.support.waiting import eventually


@contextmanager
def own_platform(data_dir: Path, extra_env: dict[str, str], **config: Any) -> Iterator[Stack]:
    """A platform of a test module's own (one that kills processes the session's tests must not
    see, or runs what they do not need, such as `observe=True`), its broker's operator login in
    the environment meanwhile (tests/support/kafka.py reads it), the session's restored afterwards."""
    platform = Stack(StackConfig(data_dir=data_dir, extra_env=extra_env, **config))
    try:
        platform.start()
    except BaseException:
        print(platform.log_tails())
        platform.stop()
        raise
    saved = {key: os.environ.get(key) for key in platform.kafka.admin.env()}
    os.environ.update(platform.kafka.admin.env())
    try:
        yield platform
    finally:
        for key, value in saved.items():
            os.environ.pop(key, None) if value is None else os.environ.__setitem__(key, value)
        platform.stop()


def gateway_client(stack: Stack, role: str = "admin", *, subject: str | None = None, hub_id: str | None = None, timeout: float = 60) -> httpx.AsyncClient:
    """A client of the running gateway, authenticated as `role` with a token from its development key."""
    assert stack.gateway is not None
    token = stack.mint_token(role, subject=subject, hub_id=hub_id)
    return httpx.AsyncClient(base_url=stack.gateway.url, timeout=timeout, headers={"Authorization": f"Bearer {token}"})


async def register_people(
    gateway: httpx.AsyncClient,
    stack: Stack,
    *,
    known_to: str,
    count: int | None = None,
    residencies: Sequence[str] | None = None,
    birth_years: Sequence[int] | None = None,
    name: str = "参加者",
) -> list[str]:
    """Register people through the gateway, then wait until `known_to`'s people replica has them.

    Pillar services learn about people from Kafka, so a fresh registration reaches them a moment
    later; tests wait for that instead of retrying writes.
    """
    statuses = list(residencies) if residencies is not None else ["RESIDENT"] * (count or 0)
    ids = []
    for i, residency in enumerate(statuses):
        birth_year = birth_years[i] if birth_years else 1930 + (i * 7) % 90
        body = {"display_name": f"{name} {i}", "birth_year": birth_year, "residency_status": residency}
        response = await gateway.post("/v1/people", json=body)
        assert response.status_code == 201, response.text
        ids.append(str(response.json()["id"]))
    assert stack.postgres is not None
    database = stack.postgres.url(known_to)

    async def replicated() -> bool:
        with connect(database) as conn:
            row = conn.execute("SELECT count(*) FROM known_person WHERE person_id = ANY(%s)", (ids,)).fetchone()
        return row is not None and row[0] == len(ids)

    await eventually(replicated, timeout=60, what=f"people replicated to the {known_to} service")
    return ids
