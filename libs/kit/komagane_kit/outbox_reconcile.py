"""Which outbox rows a relay that died had already published, so its successor does not again.

The relay marks rows published after the broker acknowledged them. A process killed between the
two leaves acknowledged rows unmarked; without this check its successor would publish them a
second time. At start, before its first batch, the relay reads the tail of every partition its
oldest unpublished rows go to (at most one batch of them can be in that state, and each landed
within the last `batch_size` records of its partition) and marks those it finds by event id.
A service reads back only the topics it writes (kafka_access grants it).
"""

from __future__ import annotations

from collections.abc import Iterable

from aiokafka import AIOKafkaConsumer, TopicPartition

from komagane_kit.kafka import ABANDON_SECONDS, client_options, stop_client


async def published_event_ids(bootstrap: str, topics: Iterable[str], *, depth: int, timeout_ms: int = 2000) -> set[str]:
    """The `ce_id` of the last `depth` records of every partition of `topics`."""
    consumer = AIOKafkaConsumer(**client_options(bootstrap), group_id=None, enable_auto_commit=False, request_timeout_ms=timeout_ms * 5)
    await consumer.start()
    try:
        await consumer._client.force_metadata_update()  # a fresh consumer knows no partitions yet
        partitions = [TopicPartition(t, p) for t in sorted(set(topics)) for p in sorted(consumer.partitions_for_topic(t) or set())]
        if not partitions:
            return set()
        consumer.assign(partitions)
        ends = await consumer.end_offsets(partitions)
        starts = await consumer.beginning_offsets(partitions)
        for tp in partitions:
            consumer.seek(tp, max(starts[tp], ends[tp] - depth))
        found: set[str] = set()
        remaining = {tp for tp in partitions if ends[tp] > starts[tp]}
        while remaining:
            batches = await consumer.getmany(*remaining, timeout_ms=timeout_ms)
            if not batches:
                break  # nothing came in time: check what was read (a duplicate is the worst case)
            for tp, records in batches.items():
                for record in records:
                    event_id = dict(record.headers or ()).get("ce_id")
                    if event_id is not None:
                        found.add(event_id.decode())
                if records and records[-1].offset + 1 >= ends[tp]:
                    remaining.discard(tp)
        return found
    finally:
        await stop_client(consumer, name="outbox read-back", timeout=ABANDON_SECONDS)
