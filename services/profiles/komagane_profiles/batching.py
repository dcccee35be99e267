"""Fold messages one at a time, write what they caused in batches, acknowledge only after.

Waiting for the broker (and Redis) after every message capped the worker at a few hundred
messages a second. Here an agent folds each message into in-memory state as it arrives and a
flush writes the batch's outputs together: the output messages are sent without waiting one
by one and their acknowledgements collected at the end, Redis gets one pipeline, each changed
table key is written once. Only when a flush has finished are its messages acknowledged to
faust (`stream.noack()`), so an offset is committed only after everything its message caused
is durable; a crash before that folds the messages again, and folding is idempotent.

A flush happens every `max_events` messages, and at most `max_delay` seconds after a message
arrived, so a quiet stream is not held back. The agent also tells whether the worker is behind
(more than a batch still waiting in its partitions, by the broker's high-water marks): catching
up after a restart or rebuilding from offset 0, when per-message spans would only add to old,
finished traces (app.py), and when batches may grow to `catch_up_max_events`, or until they
hold `catch_up_max_keys` keys: nobody waits for any one message then, and the more of a
person's events one batch holds, the fewer times their state is loaded, profiled and written.
A failing flush is retried (with backoff) until it succeeds: giving up would acknowledge
messages whose outputs were never written.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any

import faust
from faust.streams import _current_event  # the event a table write belongs to (its partition)
from faust.types import TP, EventT
from opentelemetry import trace

log = logging.getLogger(__name__)
tracer = trace.get_tracer("komagane.profiles")


@contextmanager
def as_event(event: EventT) -> Iterator[None]:
    """Table writes inside go to the changelog (and store) partition of `event`'s message.

    Faust takes the partition of a table write from the message being processed; a flush runs
    after the loop has moved on, so it names the message each key's state came from.
    """
    token = _current_event.set(weakref.ref(event))
    try:
        yield
    finally:
        _current_event.reset(token)


class BatchingAgent:
    """Runs one agent's stream: `fold` per message, `flush` per batch, then the acks."""

    def __init__(
        self,
        name: str,
        flush: Callable[[], Awaitable[None]],
        *,
        max_events: int,
        max_delay: float,
        catch_up_max_events: int | None = None,
        catch_up_max_keys: int | None = None,
        keys: Callable[[], int] | None = None,
        retry_backoff: float = 0.5,
    ) -> None:
        self.name = name
        self.flush = flush
        self.max_events = max_events
        self.catch_up_max_events = max(max_events, catch_up_max_events or max_events)
        # While catching up a batch also ends once `keys()` (how many keys it holds decoded in
        # memory) reaches `catch_up_max_keys`: what it holds is bounded by keys, not messages.
        self.catch_up_max_keys = catch_up_max_keys
        self.keys = keys
        self.max_delay = max_delay
        self.retry_backoff = retry_backoff
        self.pending: list[EventT] = []
        self.lock = asyncio.Lock()
        self.flushes = 0
        self.catching_up = False
        self._next_offsets: dict[TP, int] = {}  # per input partition: the offset after the last message seen
        self._pending_at_tick = 0  # the batch's size at the last tick that let it grow

    async def run(self, stream: faust.StreamT[bytes], fold: Callable[[EventT], Awaitable[None]]) -> None:
        manual = stream.noack()
        consumer = stream.app.consumer
        ticker = asyncio.ensure_future(self._tick(manual, consumer))
        try:
            async for event in manual.events():
                async with self.lock:
                    await fold(event)
                    self.pending.append(event)
                    message = event.message
                    self._next_offsets[message.tp] = message.offset + 1
                if self._full():
                    self._note_lag(consumer)
                    await self.flush_now(manual)
        finally:
            ticker.cancel()

    def _full(self) -> bool:
        if not self.catching_up:
            return len(self.pending) >= self.max_events
        if len(self.pending) >= self.catch_up_max_events:
            return True
        return self.keys is not None and self.catch_up_max_keys is not None and self.keys() >= self.catch_up_max_keys

    def _note_lag(self, consumer: Any) -> None:
        """Sets `catching_up`: whether more than a batch still waits in the partitions read."""
        waiting = 0
        for tp, next_offset in list(self._next_offsets.items()):
            try:
                highwater = consumer.highwater(tp)
            except AssertionError:  # aiokafka: no longer assigned to this worker
                del self._next_offsets[tp]
                continue
            if highwater is not None:
                waiting += max(0, highwater - next_offset)
        self.catching_up = waiting > self.max_events

    async def _tick(self, manual: faust.StreamT[bytes], consumer: Any) -> None:
        """Flushes a pending batch every `max_delay` seconds, unless the worker is catching up
        and the batch is still growing (the run loop flushes it when full; a batch that stopped
        growing, say for a rebalance, is flushed here).

        Nothing but cancellation may end this loop: it is what flushes a quiet stream, and a
        batch never flushed is never acknowledged (the worker would stop committing).
        """
        while True:
            await asyncio.sleep(self.max_delay)
            if not self.pending:
                continue
            try:
                self._note_lag(consumer)
                if self.catching_up and self.max_events < self.catch_up_max_events and self._pending_at_tick < len(self.pending) and not self._full():
                    self._pending_at_tick = len(self.pending)
                    continue
                await self.flush_now(manual)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("%s: a timed flush failed; the next tick tries again", self.name)

    async def flush_now(self, manual: faust.StreamT[bytes]) -> None:
        async with self.lock:
            if not self.pending:
                return
            attempt = 0
            while True:
                attempt += 1
                try:
                    with tracer.start_as_current_span(f"profiles flush {self.name}") as span:
                        span.set_attributes({"messaging.batch.message_count": len(self.pending), "komagane.catching_up": self.catching_up})
                        await self.flush()
                    break
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.exception("%s: writing a batch of %d failed (attempt %d); retrying", self.name, len(self.pending), attempt)
                    await asyncio.sleep(min(10.0, self.retry_backoff * 2 ** min(attempt - 1, 5)))
            for event in self.pending:
                await manual.ack(event)
            self.pending.clear()
            self._pending_at_tick = 0
            self.flushes += 1
