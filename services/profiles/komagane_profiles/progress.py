"""Where each input partition stands in faust's offset bookkeeping, and a watch for partitions
that stopped moving.

Faust commits a partition up to the first gap in its acknowledged offsets, and not at all
while the lowest acknowledged offset is more than one past the committed one
(`Consumer._new_offset`). A message between them that is never acknowledged holds the
partition's commit back for good, silently. These read faust's consumer bookkeeping, which
has no public accessor.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

from faust.types import TP, AppT

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PartitionProgress:
    committed: int | None  # the next offset faust will commit from
    read: int | None
    acked_waiting: int  # acknowledged offsets not yet committed
    lowest_acked_waiting: int | None
    gaps: int
    highwater: int | None
    lowest_unacked: int | None  # the lowest offset handed to a stream and not yet acknowledged

    @property
    def waiting(self) -> bool:
        """Messages wait in the log beyond the committed offset."""
        return self.highwater is not None and self.highwater > (self.committed or 0)

    @property
    def held_back(self) -> bool:
        """Acknowledged messages wait, but faust will not commit them (see the module doc)."""
        return self.committed is not None and self.lowest_acked_waiting is not None and self.lowest_acked_waiting - self.committed > 1


def partition_progress(app: AppT) -> dict[TP, PartitionProgress]:
    consumer: Any = app.consumer
    unacked: dict[TP, int] = {}
    for message in list(consumer._unacked_messages):
        unacked[message.tp] = min(message.offset, unacked.get(message.tp, message.offset))
    out = {}
    for tp in sorted(app.assignor.assigned_actives()):
        acked = consumer._acked.get(tp) or []
        try:
            highwater = consumer.highwater(tp)
        except AssertionError:  # aiokafka: not (or no longer) assigned
            highwater = None
        out[tp] = PartitionProgress(
            committed=consumer._committed_offset.get(tp),
            read=consumer._read_offset.get(tp),
            acked_waiting=len(acked),
            lowest_acked_waiting=min(acked) if acked else None,
            gaps=len(consumer._gap.get(tp) or ()),
            highwater=highwater,
            lowest_unacked=unacked.get(tp),
        )
    return out


def progress_json(progress: dict[TP, PartitionProgress]) -> dict[str, dict[str, Any]]:
    return {f"{tp.topic}:{tp.partition}": {**asdict(p), "held_back": p.held_back} for tp, p in progress.items()}


class StallWatch:
    """Finds input partitions that stopped moving: messages wait beyond the committed offset
    (or acknowledged ones are held back), yet neither the committed nor the read offset moved
    over `checks` checks in a row, all in one generation of the group (a rebalance starts the
    count again). Only `topics` are watched: changelogs are read by recovery alone."""

    def __init__(self, topics: Iterable[str], checks: int = 3) -> None:
        self.topics = frozenset(topics)
        self.checks = checks
        self._generation = -1
        self._seen: dict[TP, tuple[tuple[int | None, int | None], int]] = {}  # position, checks at it
        # Where each partition stood when last reported: reported once per position (an offset
        # that is no message, such as a transaction marker, must not be rescued over and over).
        self._reported: dict[TP, int | None] = {}

    def check(self, app: AppT) -> dict[TP, PartitionProgress]:
        if app.rebalancing:
            self._seen = {}
            return {}
        if app.rebalancing_count != self._generation:
            self._generation = app.rebalancing_count
            self._seen = {}
        stalled = {}
        seen: dict[TP, tuple[tuple[int | None, int | None], int]] = {}
        for tp, now in partition_progress(app).items():
            if tp.topic not in self.topics or not (now.held_back or now.waiting):
                continue
            position = (now.committed, now.read)
            before, count = self._seen.get(tp, (None, 0))
            seen[tp] = (position, count + 1 if before == position else 1)
            if seen[tp][1] >= self.checks and self._reported.get(tp, -1) != now.committed:
                stalled[tp] = now
                self._reported[tp] = now.committed
        self._seen = seen
        return stalled
