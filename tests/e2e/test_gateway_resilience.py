"""A service that is down or silent: the gateway answers 503/504 problem+json quickly, never hangs.

A second gateway process runs beside the stack's with one service pointed at a port nothing
listens on (exchange) and another at a socket that accepts connections and never answers (jobs);
the other services are the stack's real ones.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from komagane_devstack.process import free_port
from komagane_devstack.stack import Stack
from tests.support.gateways import extra_gateway

THRESHOLD = 3


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A listening socket that never answers: connections open, requests time out."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    yield int(sock.getsockname()[1])
    sock.close()


async def test_a_dead_or_silent_service_gives_problem_answers_quickly(stack: Stack, tmp_path: Path, silent_port: int) -> None:
    env = {
        "EXCHANGE_URL": f"http://127.0.0.1:{free_port()}",
        "JOBS_URL": f"http://127.0.0.1:{silent_port}",
        "UPSTREAM_READ_TIMEOUT_SECONDS": "1",
        "CIRCUIT_FAILURE_THRESHOLD": str(THRESHOLD),
        "CIRCUIT_OPEN_SECONDS": "30",
    }
    token = stack.mint_token("admin")
    with extra_gateway(stack, tmp_path, **env) as gateway:
        async with httpx.AsyncClient(base_url=gateway.url, timeout=30, headers={"Authorization": f"Bearer {token}"}) as client:
            began = time.monotonic()
            down = await client.get("/v1/hubs")
            assert time.monotonic() - began < 5
            assert down.status_code == 503, down.text
            assert down.headers["content-type"] == "application/problem+json"
            assert down.json()["type"].endswith("/service-unavailable") and down.json()["service"] == "exchange"
            assert int(down.headers["retry-after"]) >= 1

            # The GET was tried three times (retries), which opened the circuit: now the
            # gateway answers at once, with how long until it tries again.
            open_answer = await client.get("/v1/sessions")
            assert open_answer.status_code == 503
            assert 1 <= int(open_answer.headers["retry-after"]) <= 30
            # A write is never retried, and gets the same quick answer.
            write = await client.post("/v1/hubs", json={"name": "x"})
            assert write.status_code == 503

            began = time.monotonic()
            slow = await client.get("/v1/opportunities")
            assert slow.status_code == 504, slow.text
            assert time.monotonic() - began < 5  # the read timeout (1 s), not retried
            assert slow.json()["type"].endswith("/upstream-timeout")

            # The other services are unaffected.
            people = await client.get("/v1/people/unknown-person")
            assert people.status_code == 404, people.text
            assert (await client.get("/readyz")).status_code == 503
