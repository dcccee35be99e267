"""Group commit: what concurrent requests ask of a store goes in one round trip.

A call to Redis or a database transaction costs the caller far more in system calls, client
bookkeeping and commits than the store spends on one request's part of it. So requests do not
each make their own: they queue an item, and while one batch is out the next one gathers; when
the first comes back the gathered items go together. Under load a request pays a fraction of a
round trip; alone, it waits for nothing (its batch leaves on the next turn of the event loop).
Users: the gateway's rate limiter (one script call per batch) and idempotency store (one
pipeline per batch), and the services' grouped writes (komagane_kit.fastpath.grouped_writes, one transaction per batch).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

from opentelemetry import context as otel_context

Item = TypeVar("Item")
Result = TypeVar("Result")


class GroupCommit(Generic[Item, Result]):
    """`send(items)` answers a batch: one result per item, in order (an exception instance
    fails just that item). If `send` raises, every item of its batch fails with it."""

    def __init__(self, send: Callable[[list[Item]], Awaitable[Sequence[Result | BaseException]]]) -> None:
        self._send = send
        self._queue: list[tuple[Item, asyncio.Future[Result]]] = []
        self._sending = False

    async def submit(self, item: Item) -> Result:
        loop = asyncio.get_running_loop()
        answer: asyncio.Future[Result] = loop.create_future()
        self._queue.append((item, answer))
        if not self._sending:
            self._sending = True
            loop.call_soon(self._send_next)  # after the other ready requests have queued
        return await answer

    def _send_next(self) -> None:
        batch, self._queue = self._queue, []
        if not batch:
            self._sending = False
            return
        # Outside any request's trace: the call serves many requests.
        token = otel_context.attach(otel_context.Context())
        try:
            task = asyncio.ensure_future(self._answer(batch))
        finally:
            otel_context.detach(token)
        task.add_done_callback(lambda _: self._send_next())

    async def _answer(self, batch: list[tuple[Item, asyncio.Future[Result]]]) -> None:
        try:
            results = await self._send([item for item, _ in batch])
        except asyncio.CancelledError:
            for _, answer in batch:
                answer.cancel()
            raise
        except Exception as exc:  # every waiting request gets the failure
            for _, answer in batch:
                if not answer.done():
                    answer.set_exception(exc)
            return
        for (_, answer), result in zip(batch, results, strict=True):
            if answer.done():  # (the request may have gone: client disconnected)
                continue
            if isinstance(result, BaseException):
                answer.set_exception(result)
            else:
                answer.set_result(result)
