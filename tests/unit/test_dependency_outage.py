"""A store that is away is a 503 with Retry-After (the client comes back), never a 500."""

from __future__ import annotations

import pytest
import redis.exceptions
import sqlalchemy.exc
from fastapi import FastAPI
from fastapi.testclient import TestClient

from komagane_kit.errors import install_problem_handlers


def app_raising(exc: Exception) -> TestClient:
    app = FastAPI()
    install_problem_handlers(app)

    @app.get("/thing")
    async def thing() -> None:
        raise exc

    return TestClient(app, raise_server_exceptions=False)


@pytest.mark.parametrize(
    "exc",
    [
        redis.exceptions.ConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused."),
        redis.exceptions.TimeoutError("Timeout reading from socket"),
        sqlalchemy.exc.OperationalError("SELECT 1", {}, Exception("connection failed: Connection refused")),
        sqlalchemy.exc.InterfaceError("SELECT 1", {}, Exception("connection already closed")),
        sqlalchemy.exc.TimeoutError("QueuePool limit of size 5 overflow 10 reached, connection timed out"),
    ],
    ids=["redis-refused", "redis-timeout", "db-refused", "db-closed", "db-pool-exhausted"],
)
def test_a_store_that_is_away_answers_503_with_retry_after(exc: Exception) -> None:
    response = app_raising(exc).get("/thing")
    assert response.status_code == 503 and response.headers["retry-after"] == "2"
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["type"].endswith("/dependency-unavailable") and body["status"] == 503
    assert "127.0.0.1" not in body["detail"] and "SELECT" not in body["detail"], "nothing of the failure leaks out"


def test_any_other_unexpected_error_stays_a_500_that_leaks_nothing() -> None:
    response = app_raising(ValueError("secret internals")).get("/thing")
    assert response.status_code == 500 and "secret" not in response.text
