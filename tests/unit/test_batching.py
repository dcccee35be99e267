"""The profiles worker's batching (batching.py): where batches end, live and while catching up.

The stream and the consumer are in-memory stand-ins with what BatchingAgent reads (events with
their partition and offset, acks, the broker's high-water mark); the agent itself is real.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from types import SimpleNamespace
from typing import Any

from faust.types import TP

from komagane_profiles.batching import BatchingAgent

TOPIC_0 = TP("exchange.v1", 0)


class FakeStream:
    """`noack()` and the manual stream in one: events from a queue, acks recorded."""

    def __init__(self, highwater: int, expected_acks: int) -> None:
        self.queue: asyncio.Queue[Any] = asyncio.Queue()
        self.acked: list[int] = []
        self.all_acked = asyncio.Event()
        self.expected_acks = expected_acks
        self.app = SimpleNamespace(consumer=SimpleNamespace(highwater=lambda tp: highwater))

    def noack(self) -> FakeStream:
        return self

    async def events(self) -> AsyncIterator[Any]:
        while True:
            yield await self.queue.get()

    async def ack(self, event: Any) -> None:
        self.acked.append(event.message.offset)
        if len(self.acked) == self.expected_acks:
            self.all_acked.set()


async def batch_sizes(
    *, events: int, highwater: int, max_events: int, catch_up_max_events: int, catch_up_max_keys: int | None = None, key_every: int = 1
) -> tuple[list[int], list[int], bool]:
    """Run an agent over `events` messages (all waiting at once; message n is about key
    n // key_every); the sizes of its flushes, the offsets it acknowledged, and whether it
    counted itself as catching up."""
    stream = FakeStream(highwater, events)
    sizes: list[int] = []
    keys: set[int] = set()

    async def flush() -> None:
        sizes.append(len(agent.pending))
        keys.clear()

    async def fold(event: Any) -> None:
        keys.add(event.message.offset // key_every)

    agent = BatchingAgent(
        "test",
        flush,
        max_events=max_events,
        catch_up_max_events=catch_up_max_events,
        catch_up_max_keys=catch_up_max_keys,
        keys=lambda: len(keys),
        max_delay=0.01,
    )
    for offset in range(events):
        stream.queue.put_nowait(SimpleNamespace(message=SimpleNamespace(tp=TOPIC_0, offset=offset)))
    runner = asyncio.ensure_future(agent.run(stream, fold))  # type: ignore[arg-type]
    try:
        await asyncio.wait_for(stream.all_acked.wait(), timeout=10)
    finally:
        runner.cancel()
        await asyncio.gather(runner, return_exceptions=True)
    return sizes, stream.acked, agent.catching_up


async def test_live_batches_end_at_max_events_and_the_tick_flushes_the_rest() -> None:
    # After the first batch, 8 messages wait: less than a batch, so not behind.
    sizes, acked, catching_up = await batch_sizes(events=18, highwater=18, max_events=10, catch_up_max_events=40)
    assert sizes == [10, 8]
    assert acked == list(range(18)) and not catching_up


async def test_catching_up_batches_grow_and_a_batch_that_stopped_growing_is_flushed() -> None:
    # 10,000 messages in the partition and 100 delivered: far behind after the first batch.
    sizes, acked, catching_up = await batch_sizes(events=100, highwater=10_000, max_events=10, catch_up_max_events=40)
    assert sizes == [10, 40, 40, 10], "the last 10 wait for one tick (still growing?), then go"
    assert acked == list(range(100)) and catching_up


async def test_a_catching_up_batch_also_ends_when_it_holds_max_keys() -> None:
    # Three messages per key. The live first batch ends at 10 messages (mid-key); a catching-up
    # batch ends with the first message of its 12th key (offsets 10–42, then 43–75), well
    # before 40 messages would end it; the last 24 (9 keys) go at a tick.
    sizes, acked, _ = await batch_sizes(events=100, highwater=10_000, max_events=10, catch_up_max_events=40, catch_up_max_keys=12, key_every=3)
    assert sizes == [10, 33, 33, 24]
    assert acked == list(range(100))
