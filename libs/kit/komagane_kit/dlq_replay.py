"""Replay dead letters to the topic they came from, after the fault that put them there is fixed.

    python -m komagane_kit.dlq_replay <bootstrap> exchange.v1.dlq --offset 3      # one letter
    python -m komagane_kit.dlq_replay <bootstrap> exchange.v1.dlq --from-offset 0 # every letter
    … --dry-run                                                                   # list, send nothing

Each letter is published again to its `dlq_original_topic` with its key, value and original
headers (the `dlq_*` ones removed), so the event keeps its id and trace: every consumer group
reads it again, and those that had handled it already skip it (inbox by event id, profiles
idempotent by event id); the one that failed handles it now. The letter itself stays in the DLQ
(an audit trail); the replay prints one line per letter sent. Needs a login allowed to read the
DLQ and write the topic: the broker's operator (KAFKA_SASL_* of `admin`, docs/operations.md).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import uuid
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from komagane_kit.dlq import DLQ_HEADER_PREFIX
from komagane_kit.kafka import client_options


@dataclass(frozen=True)
class Replayed:
    dlq_offset: int
    topic: str
    key: bytes | None
    error_class: str


async def replay(bootstrap: str, dlq_topic: str, *, first: int, last: int | None = None, dry_run: bool = False) -> list[Replayed]:
    """Replay the letters at offsets first…last (inclusive; None: up to the current end)."""
    if not dlq_topic.endswith(".dlq"):
        raise ValueError(f"{dlq_topic} is not a dead-letter topic (<topic>.dlq)")
    consumer = AIOKafkaConsumer(**client_options(bootstrap), group_id=None, enable_auto_commit=False)
    producer = AIOKafkaProducer(**client_options(bootstrap), client_id=f"dlq-replay-{uuid.uuid4().hex[:6]}", enable_idempotence=True, acks="all")
    await consumer.start()
    await producer.start()
    done: list[Replayed] = []
    try:
        await consumer._client.force_metadata_update()
        tps = [TopicPartition(dlq_topic, p) for p in sorted(consumer.partitions_for_topic(dlq_topic) or ())]
        if not tps:
            raise ValueError(f"no topic {dlq_topic}")
        consumer.assign(tps)
        ends = await consumer.end_offsets(tps)
        for tp in tps:
            stop = ends[tp] if last is None else min(last + 1, ends[tp])
            if first >= stop:
                continue
            consumer.seek(tp, first)
            position = first
            while position < stop:
                batch = await consumer.getmany(tp, timeout_ms=2000)
                for record in batch.get(tp, []):
                    position = record.offset + 1
                    if record.offset >= stop:
                        break
                    headers = list(record.headers or ())
                    origin = dict(headers)
                    topic = origin.get("dlq_original_topic", b"").decode() or dlq_topic.removesuffix(".dlq")
                    kept = [(name, value) for name, value in headers if not name.startswith(DLQ_HEADER_PREFIX)]
                    if not dry_run:
                        await producer.send_and_wait(topic, key=record.key, value=record.value, headers=kept)
                    done.append(Replayed(record.offset, topic, record.key, origin.get("dlq_error_class", b"?").decode()))
    finally:
        await producer.stop()
        await consumer.stop()
    return done


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m komagane_kit.dlq_replay", description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("bootstrap")
    parser.add_argument("dlq_topic")
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--offset", type=int, help="replay the one letter at this offset")
    which.add_argument("--from-offset", type=int, help="replay every letter from this offset to the end")
    parser.add_argument("--dry-run", action="store_true", help="list the letters, send nothing")
    args = parser.parse_args(argv)
    first = args.offset if args.offset is not None else args.from_offset
    last = args.offset
    try:
        done = asyncio.run(replay(args.bootstrap, args.dlq_topic, first=first, last=last, dry_run=args.dry_run))
    except ValueError as exc:
        print(exc, file=sys.stderr)
        return 2
    verb = "would replay" if args.dry_run else "replayed"
    for letter in done:
        key = letter.key.decode(errors="replace") if letter.key else "-"
        print(f"{verb} {args.dlq_topic}@{letter.dlq_offset} → {letter.topic} (key {key}, failed with {letter.error_class})")
    print(f"{len(done)} letter(s) {verb}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
