"""The gateway as the end-to-end tests call it: authenticated, as admin unless a test says otherwise."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from komagane_devstack.stack import Stack
from tests.support.platform import gateway_client


@pytest.fixture
async def gateway(stack: Stack) -> AsyncIterator[httpx.AsyncClient]:
    async with gateway_client(stack, "admin", subject="e2e-admin") as client:
        yield client
