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
    since the previous check. Checks are skipped while the group rebalances."""

    def __init__(self) -> None:
        self._last: dict[TP, PartitionProgress] = {}
        # Where each partition stood when last reported: reported once per position (an offset
        # that is no message, such as a transaction marker, must not be rescued over and over).
        self._reported: dict[TP, int | None] = {}

    def check(self, app: AppT) -> dict[TP, PartitionProgress]:
        if app.rebalancing:
            self._last = {}
            return {}
        progress = partition_progress(app)
        stalled = {
            tp: now
            for tp, now in progress.items()
            if (now.held_back or now.waiting) and (before := self._last.get(tp)) is not None and (before.committed, before.read) == (now.committed, now.read)
        }
        self._last = progress
        stalled = {tp: p for tp, p in stalled.items() if self._reported.get(tp, -1) != p.committed}
        self._reported.update({tp: p.committed for tp, p in stalled.items()})
        return stalled
