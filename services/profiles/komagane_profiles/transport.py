"""faust's Kafka consumer, with stream deliveries fenced off around rebalances.

faust hands fetched messages to the streams from a loop (`_drain_messages`) that tracks, per
partition, the last offset it read; a message below it is dropped as already read, a jump
above it is recorded as a gap that later counts as acknowledged. Around a rebalance that loop
races the seek to the committed offsets (`perform_seek`): a batch fetched before the seek is
still being handed out after it, and a hand-off cut short by the revocation still records its
offset. The read offsets then run ahead of the seek, the messages fetched again from the
committed offset are dropped, and the gap marks them done: they are never folded, or the
commit waits for ever for an offset that is never acknowledged.

Here a stream message is handed out only if its batch came back after the latest seek, and
only between that seek and the next rebalance. A message held back is fetched again: every
seek puts each stream partition back at its committed offset (or at the start of its log when
nothing was committed yet, where faust's seek leaves it), and makes all its seeks in one step
of the consumer thread, so no batch mixes records from before and after it. Changelog
messages, which recovery reads and seeks by itself, pass as before.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

from faust.transport.consumer import CONSUMER_FETCHING
from faust.transport.drivers import aiokafka as faust_aiokafka
from faust.types import TP, Message
from mode import ServiceT

log = logging.getLogger(__name__)

YIELD_EVERY = 100  # messages handed out before giving the event loop a turn (a fetch can be large)


class Consumer(faust_aiokafka.Consumer):  # type: ignore[misc]  # faust's driver module is untyped here
    _n_acked: int
    # Bumped by every rebalance step and every seek: a batch fetched in an older epoch is stale.
    _epoch = 0
    _batch_epoch = 0
    # Whether the stream partitions were sought since the last rebalance began.
    _positioned = False
    skipped = 0  # stream messages held back by the fence (fetched again later)
    seeks = 0
    _delivery: asyncio.Future[Any] | None = None  # the hand-off in progress
    # The tables' changelog topics (read by recovery, never fenced), taken once the tables exist.
    _changelogs: frozenset[str] = frozenset()

    def _new_consumer_thread(self) -> ConsumerThread:
        return ConsumerThread(self, loop=self.loop, beacon=self.beacon)

    def _fence(self) -> None:
        self._epoch += 1
        self._positioned = False

    async def on_partitions_revoked(self, revoked: set[TP]) -> None:
        self._fence()
        await super().on_partitions_revoked(revoked)

    async def on_partitions_assigned(self, assigned: set[TP], generation_id: int = 0) -> None:
        self._fence()
        self._changelogs = frozenset(self.app.tables.changelog_topics)
        await super().on_partitions_assigned(assigned, generation_id)

    async def perform_seek(self) -> None:
        self._fence()
        committed, from_start = await self._thread.call_thread(self._seek_to_committed_at_once)
        self._read_offset.update({TP(tp.topic, tp.partition): offset or None for tp, offset in committed.items()})
        self._committed_offset.update({TP(tp.topic, tp.partition): offset or None for tp, offset in committed.items() if offset is not None})
        self._epoch += 1  # batches returned from here on were fetched after every seek above
        self._positioned = True
        self.seeks += 1
        self.log.info("stream partitions sought to their committed offsets (%d from the start of the log)", from_start)

    async def _seek_to_committed_at_once(self) -> tuple[dict[Any, int | None], int]:
        """In the consumer thread: every assigned partition to its committed offset (a stream
        partition with nothing committed to the start of its log), all seeks in one step.

        aiokafka's own seek_to_committed awaits each partition's offset between seeks, so a
        fetch running beside it in the thread could return records from old and new positions
        in one batch. Here the offsets are read first and then every seek is made without
        yielding: a batch that comes back after this call holds only records read afterwards.
        """
        consumer = self._thread._ensure_consumer()
        committed = {tp: await consumer.committed(tp) for tp in consumer.assignment()}
        fresh = [tp for tp, offset in committed.items() if not offset and tp.topic not in self._changelogs]
        starts = await consumer.beginning_offsets(fresh) if fresh else {}
        assigned = consumer.assignment()  # a rebalance may have begun while the offsets were read
        committed = {tp: offset for tp, offset in committed.items() if tp in assigned}
        for tp, offset in committed.items():
            if offset:
                consumer.seek(tp, offset)
        for tp, start in starts.items():
            if tp in assigned:
                consumer.seek(tp, start)
        return committed, len(starts)

    async def rescue(self) -> None:
        """Every stream partition back at its committed offset, resumed, and the flow on."""
        self.resume_partitions({tp for tp in self.assignment() if tp.topic not in self._changelogs})
        await self.perform_seek()
        self.app.flow_control.resume()
        self.resume_flow()

    async def _wait_next_records(self, timeout: float) -> Any:
        records = await super()._wait_next_records(timeout)
        self._batch_epoch = self._epoch
        return records

    def _deliverable(self, tp: TP) -> bool:
        if tp.topic in self._changelogs:
            return True
        return self._positioned and self._batch_epoch == self._epoch

    async def _drain_messages(self, fetcher: ServiceT) -> None:
        interrupter = asyncio.ensure_future(self._interrupt_hand_offs_on_suspend())
        read_offset = self._read_offset
        acks_enabled_for = self.app.topics.acks_enabled_for
        since_yield = 0
        try:
            while not (self.should_stop or fetcher.should_stop):
                self.diag.set_flag(CONSUMER_FETCHING)
                records = self.getmany(timeout=1.0)
                await asyncio.sleep(0)  # getmany may return at once, many times over
                if self.should_stop:
                    continue
                async for tp, message in records:
                    since_yield += 1
                    if since_yield > YIELD_EVERY:
                        since_yield = 0
                        await asyncio.sleep(0)
                    if not self._deliverable(tp):
                        self.skipped += 1
                        continue  # fetched again after the seek that is due (or was just done)
                    offset, last_read = message.offset, read_offset[tp]
                    if last_read is not None and offset < last_read:
                        continue  # read before
                    if last_read and offset - last_read > 1 and acks_enabled_for(message.topic):
                        await self._add_gap(tp, last_read + 1, offset)
                    if self._commit_every is not None and self._n_acked >= self._commit_every:
                        self._n_acked = 0
                        await self.commit()
                    epoch = self._epoch
                    await self._hand_off(message)
                    if self._epoch == epoch:  # not cut short by a rebalance
                        read_offset[tp] = offset
                self.diag.unset_flag(CONSUMER_FETCHING)
        except self.consumer_stopped_errors:
            if not self.transport.app.should_stop:
                raise
            self.log.info("Broker stopped consumer, shutting down...")
        except asyncio.CancelledError:
            if not self.transport.app.should_stop:
                raise
            self.log.info("Consumer shutting down for user cancel.")
        except Exception as exc:
            self.log.exception("Drain messages raised: %r", exc)
            raise
        finally:
            interrupter.cancel()
            self.diag.unset_flag(CONSUMER_FETCHING)

    async def _hand_off(self, message: Message) -> None:
        """Deliver `message` to the streams unless the flow is (or gets) suspended.

        faust does this inside `Service.wait_first`: four tasks and three cancellations per
        message, as much as folding a small event. Here it is one task, which a watcher
        cancels when the flow is suspended for a rebalance (a message not handed off is
        fetched again from the committed offset).
        """
        if self.suspend_flow.is_set():
            return
        self._delivery = delivery = asyncio.ensure_future(self.callback(message))
        try:
            await delivery
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if not delivery.cancelled() or (current is not None and current.cancelling()):
                raise  # the loop itself is being stopped
        finally:
            self._delivery = None

    async def _interrupt_hand_offs_on_suspend(self) -> None:
        while True:
            await self.suspend_flow.wait()
            if self._delivery is not None:
                self._delivery.cancel()
            await self.can_resume_flow.wait()
            await asyncio.sleep(0)  # never a busy loop, whatever order the two events are set in

    async def wait_empty(self) -> None:
        """On a stop, wait for the streams' unacknowledged messages for a bounded time only.

        faust waits until every message handed out is acknowledged and committed. With the
        broker away a batch's outputs cannot be written, so its messages are never
        acknowledged and the stop hung in "Wait for streams..." until it was killed. Their
        offsets are not committed: the next run reads them again (folding is idempotent).
        """
        if not self.app.should_stop:
            await super().wait_empty()  # a rebalance: the batches are flushed and acknowledged
            return
        await bounded(super().wait_empty(), self.app.stop_wait_seconds, "the streams' last messages to be written and committed")

    async def commit_and_end_transactions(self) -> None:
        if not self.app.should_stop:
            await super().commit_and_end_transactions()
            return
        await bounded(super().commit_and_end_transactions(), self.app.stop_wait_seconds, "the last commit")

    def fence_state(self) -> dict[str, Any]:
        return {
            "epoch": self._epoch,
            "batch_epoch": self._batch_epoch,
            "positioned": self._positioned,
            "skipped": self.skipped,
            "seeks": self.seeks,
            "flow_active": self.flow_active,
            "paused": sorted(f"{tp.topic}:{tp.partition}" for tp in self._paused_partitions),
        }


async def bounded(step: Coroutine[Any, Any, None], seconds: float, what: str) -> None:
    """`step`, given up after `seconds`. Cancelled, not awaited: faust's commit retries through
    a cancellation while the broker is away, so waiting for it to end (asyncio.wait_for) hung."""
    task = asyncio.ensure_future(step)
    done, _ = await asyncio.wait({task}, timeout=seconds)
    if task in done:
        task.result()
        return
    task.cancel()
    log.warning("stopping without waiting longer for %s (%.0f s; is Kafka away?): what was not committed is read again", what, seconds)


class ConsumerThread(faust_aiokafka.AIOKafkaConsumerThread):  # type: ignore[misc]
    """faust's consumer thread, with the broker's wait for a fetch shortened.

    aiokafka keeps one fetch in flight per broker, and leaves out of it every partition that
    still has records buffered. When the busy partitions all have some, the fetch asks only
    for the quiet ones, and the broker holds it for the whole wait: the busy partitions'
    next records cannot be fetched before it returns. faust fixes that wait at 1.5 s, and
    every message fetched after such a fetch arrived that much later (the 1.6–1.8 s tail of
    write-to-profile latency at 500 writes/s). The app's `fetch_max_wait_ms` bounds it.
    """

    def _create_worker_consumer(self, transport: Any) -> Any:
        consumer = super()._create_worker_consumer(transport)
        # Read by the consumer when it starts and builds its fetcher.
        consumer._fetch_max_wait_ms = self.app.fetch_max_wait_ms
        return consumer


class Producer(faust_aiokafka.Producer):  # type: ignore[misc]
    """faust's producer, whose stop does not wait for the broker for ever.

    Stopping flushes what is buffered and closes the client; with the broker away neither ends
    (a batch expires only after faust's 20-minute request timeout). What was not sent belongs
    to messages not acknowledged, which the next run reads and folds again.
    """

    async def flush(self) -> None:
        if not self.app.should_stop:
            await super().flush()
            return
        await bounded(super().flush(), self.app.stop_wait_seconds, "the producer's buffer to be sent")

    async def on_stop(self) -> None:
        await bounded(super().on_stop(), self.app.stop_wait_seconds, "the producer to close")


class Transport(faust_aiokafka.Transport):  # type: ignore[misc]
    Consumer = Consumer
    Producer = Producer
