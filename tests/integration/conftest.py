"""Fixtures of the integration tests that need more than one test module."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from komagane_devstack.infra import RedisServer


@pytest.fixture
async def redis_client(tmp_path: Path) -> AsyncIterator[aioredis.Redis]:
    """A client of a Redis server of the test's own (started and stopped with it)."""
    server = RedisServer(tmp_path)
    server.start()
    client = aioredis.Redis.from_url(server.url)
    yield client
    await client.aclose()
    server.stop()
