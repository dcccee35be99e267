"""Closing a Kafka client while the broker is away: bounded, and never failing the caller's stop."""

from __future__ import annotations

import asyncio
import time

import pytest

from komagane_kit.kafka import stop_client


class Client:
    """Stands in for an aiokafka client whose `stop()` meets an absent broker."""

    def __init__(self, behaviour: str) -> None:
        self.behaviour = behaviour

    async def stop(self) -> None:
        if self.behaviour == "hangs":
            await asyncio.Event().wait()  # a flush that never gets an answer
        if self.behaviour == "stray-cancel":
            raise asyncio.CancelledError  # what aiokafka's consumer raises from a retried fetch


@pytest.mark.parametrize("behaviour", ["hangs", "stray-cancel", "fine"])
async def test_a_client_that_cannot_close_cleanly_is_closed_within_the_bound(behaviour: str) -> None:
    began = time.monotonic()
    await stop_client(Client(behaviour), name="test", timeout=0.3)
    assert time.monotonic() - began < 1.0


async def test_the_callers_own_cancellation_still_propagates() -> None:
    task = asyncio.create_task(stop_client(Client("hangs"), name="test", timeout=30))
    await asyncio.sleep(0)  # let it start waiting
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
