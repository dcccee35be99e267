"""Where each input partition stands in faust's offset bookkeeping, and a watch for a commit
that cannot move.

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


class CommitWatch:
    """Logs a partition whose commit is held back on two checks in a row, with what holds it."""

    def __init__(self) -> None:
        self._held: dict[TP, PartitionProgress] = {}

    def check(self, app: AppT) -> list[TP]:
        """The partitions held back since the previous check (logged as a warning)."""
        progress = partition_progress(app)
        stuck = []
        for tp, now in progress.items():
            before = self._held.get(tp)
            if now.held_back and before is not None and before.committed == now.committed:
                stuck.append(tp)
                log.warning("commit of %s:%d held back: %s", tp.topic, tp.partition, asdict(now))
        self._held = {tp: p for tp, p in progress.items() if p.held_back}
        return stuck
