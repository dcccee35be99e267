"""The gateway as the telemetry tests call it: authenticated as admin."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from komagane_devstack.stack import Stack
from tests.support.platform import gateway_client


@pytest.fixture
async def gateway(stack: Stack) -> AsyncIterator[httpx.AsyncClient]:
    async with gateway_client(stack, "admin", subject="telemetry-admin") as client:
        yield client
