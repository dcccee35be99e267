"""Fold messages one at a time, write what they caused in batches, acknowledge only after.

Waiting for the broker (and Redis) after every message capped the worker at a few hundred
messages a second. Here an agent folds each message into in-memory state as it arrives and a
flush writes the batch's outputs together: the output messages are sent without waiting one
by one and their acknowledgements collected at the end, Redis gets one pipeline, each changed
table key is written once. Only when a flush has finished are its messages acknowledged to
faust (`stream.noack()`), so an offset is committed only after everything its message caused
is durable; a crash before that folds the messages again, and folding is idempotent.

A flush happens every `max_events` messages, and at most `max_delay` seconds after a message
arrived, so a quiet stream is not held back. A worker that is behind — catching up after a
restart, or rebuilding from offset 0 — has nobody waiting on a short delay: while more than a
batch is still waiting in its partitions (the broker's high-water marks tell), batches grow to
`catch_up_max_events` or `catch_up_max_delay` seconds. A person with twenty waiting events is
then written once rather than twenty times, and the delay is back to `max_delay` as soon as the
worker has caught up. A failing flush is retried (with backoff) until it
succeeds: giving up would acknowledge messages whose outputs were never written.
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
        catch_up_max_delay: float | None = None,
        retry_backoff: float = 0.5,
    ) -> None:
        self.name = name
        self.flush = flush
        self.max_events = max_events
        self.max_delay = max_delay
        self.catch_up_max_events = max(max_events, catch_up_max_events or max_events)
        self.catch_up_max_delay = max(max_delay, catch_up_max_delay or max_delay)
        self.retry_backoff = retry_backoff
        self.pending: list[EventT] = []
        self.lock = asyncio.Lock()
        self.flushes = 0
        self.catching_up = False
        self._next_offsets: dict[TP, int] = {}  # per input partition: the offset after the last message seen
        self._batch_started = 0.0
        self._folding = False

    async def run(self, stream: faust.StreamT[bytes], fold: Callable[[EventT], Awaitable[None]]) -> None:
        manual = stream.noack()
        consumer = stream.app.consumer
        ticker = asyncio.ensure_future(self._tick(manual, consumer))
        loop = asyncio.get_running_loop()
        try:
            async for event in manual.events():
                if self.lock.locked():  # a timed flush is writing: the batch waits for it
                    async with self.lock:
                        pass
                if not self.pending:
                    self._batch_started = loop.time()
                # Not the lock per message (it costs as much as a small fold): a timed flush
                # looks at `_folding` instead, should folding ever wait (a retry, a DLQ send).
                self._folding = True
                try:
                    await fold(event)
                finally:
                    self._folding = False
                self.pending.append(event)
                message = event.message
                self._next_offsets[message.tp] = message.offset + 1
                waiting = len(self.pending)  # (how far behind is looked up once per max_events)
                if waiting >= self.catch_up_max_events or (waiting % self.max_events == 0 and not self._behind(consumer)):
                    await self.flush_now(manual)
        finally:
            ticker.cancel()

    def _behind(self, consumer: Any) -> bool:
        """Whether more than a batch is still waiting in the partitions this agent reads."""
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
        return self.catching_up

    async def _tick(self, manual: faust.StreamT[bytes], consumer: Any) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(self.max_delay)
            try:
                due = bool(self.pending) and not self._folding and (loop.time() - self._batch_started >= self.catch_up_max_delay or not self._behind(consumer))
            except Exception:  # the timer must outlive any surprise: it is what flushes a quiet stream
                log.exception("%s: could not tell how far behind the worker is; flushing", self.name)
                due = bool(self.pending) and not self._folding
            if due:
                await self.flush_now(manual)

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
            self.flushes += 1
