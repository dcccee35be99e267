"""A service answers only the gateway: every request but its probes needs a valid internal token."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from komagane_exchange.main import build_app
from komagane_exchange.settings import ExchangeSettings
from komagane_kit import internal_auth
from komagane_kit.internal_auth import INTERNAL_TOKEN_HEADER, Identity, internal_headers, mint_internal_token, verify_internal_token
from tests.support.internal import INTERNAL_SECRET, as_gateway

HUB = {"name_ja": "ぱとな", "name_en": "Patona", "kind": "CIVIC_CENTRE", "area": "赤穂"}


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    settings = ExchangeSettings(
        database_url=f"sqlite:///{tmp_path / 'exchange.db'}",
        kafka_bootstrap_servers="127.0.0.1:9",
        outbox_backoff_max_seconds=60,
        internal_token_secret=INTERNAL_SECRET,
    )
    with TestClient(build_app(settings)) as test_client:  # no default headers: each request says who it is
        yield test_client


def assert_refused(response: object) -> None:
    assert response.status_code == 401, response.text  # type: ignore[attr-defined]
    assert response.headers["content-type"] == "application/problem+json"  # type: ignore[attr-defined]
    assert response.headers["www-authenticate"].startswith("Bearer")  # type: ignore[attr-defined]
    assert response.json()["type"].endswith("/internal-token-required")  # type: ignore[attr-defined]


def test_without_or_with_a_forged_internal_token_nothing_but_the_probes_answers(client: TestClient) -> None:
    assert_refused(client.get("/v1/hubs"))
    assert_refused(client.post("/v1/hubs", json=HUB))
    assert_refused(client.get("/v1/hubs", headers=internal_headers("z" * 48)))  # another secret
    assert_refused(client.get("/v1/hubs", headers=internal_headers(INTERNAL_SECRET, ttl_seconds=-120)))  # expired
    assert_refused(client.get("/v1/hubs", headers={INTERNAL_TOKEN_HEADER: "not-a-jwt", "X-Actor": "admin"}))
    assert client.get("/livez").status_code == 200
    assert client.get("/readyz").status_code == 200
    assert client.get("/openapi.json").status_code == 200
    assert client.get("/v1/hubs", headers=as_gateway()).status_code == 200


def test_a_stored_idempotent_response_is_not_replayed_to_an_unauthenticated_caller(client: TestClient) -> None:
    key = {"Idempotency-Key": "hub-once"}
    created = client.post("/v1/hubs", json=HUB, headers={**as_gateway(), **key})
    assert created.status_code == 201
    assert_refused(client.post("/v1/hubs", json=HUB, headers=key))


def test_a_service_without_a_secret_refuses_everything(tmp_path: Path) -> None:
    settings = ExchangeSettings(database_url=f"sqlite:///{tmp_path / 'e.db'}", kafka_bootstrap_servers="127.0.0.1:9", internal_token_secret="")
    with TestClient(build_app(settings)) as client:
        assert_refused(client.get("/v1/hubs", headers=internal_headers("q" * 48)))
        assert client.get("/livez").status_code == 200


def test_a_token_signed_once_a_second_still_names_its_caller_and_its_time(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = [int(time.time()) + 0.2]  # PyJWT checks `iat` against the real clock (with the leeway)
    monkeypatch.setattr(time, "time", lambda: clock[0])
    resident = Identity(subject="p-1", roles=frozenset({"resident"}))
    staff = Identity(subject="s-1", roles=frozenset({"staff"}), hub_id="hub-1")
    first = mint_internal_token(INTERNAL_SECRET, resident)
    assert mint_internal_token(INTERNAL_SECRET, resident) == first
    assert verify_internal_token(INTERNAL_SECRET, mint_internal_token(INTERNAL_SECRET, staff)) == staff
    clock[0] += 1
    later = mint_internal_token(INTERNAL_SECRET, resident)
    assert later != first
    assert verify_internal_token(INTERNAL_SECRET, later) == resident
    with pytest.raises(internal_auth.InternalTokenError):
        verify_internal_token(INTERNAL_SECRET, later, now=clock[0] + internal_auth.DEFAULT_TTL_SECONDS + internal_auth.LEEWAY_SECONDS)
