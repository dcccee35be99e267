"""The profiles worker's stall watch: which input partitions count as stopped (progress.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from faust.types import TP

from komagane_profiles.progress import StallWatch, partition_progress

PEOPLE_0, PEOPLE_1 = TP("people.v1", 0), TP("people.v1", 1)
CHANGELOG_0 = TP("komagane-profiles-person-state-changelog", 0)  # read by recovery alone


@dataclass
class FakeConsumer:
    """The parts of faust's consumer bookkeeping that progress.py reads."""

    committed: dict[TP, int | None] = field(default_factory=dict)
    read: dict[TP, int | None] = field(default_factory=dict)
    acked: dict[TP, list[int]] = field(default_factory=dict)
    highwaters: dict[TP, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._committed_offset, self._read_offset, self._acked = self.committed, self.read, self.acked
        self._gap: dict[TP, Any] = {}
        self._unacked_messages: set[Any] = set()

    def highwater(self, tp: TP) -> int:
        return self.highwaters[tp]


class FakeAssignor:
    def assigned_actives(self) -> set[TP]:
        return {PEOPLE_0, PEOPLE_1, CHANGELOG_0}


@dataclass
class FakeApp:
    consumer: FakeConsumer
    assignor: FakeAssignor = field(default_factory=FakeAssignor)
    rebalancing: bool = False
    rebalancing_count: int = 1


def app_at(committed: int, read: int, highwater: int, acked: list[int] | None = None) -> FakeApp:
    """people.v1:0 as given; people.v1:1 caught up."""
    consumer = FakeConsumer(
        committed={PEOPLE_0: committed, PEOPLE_1: 50, CHANGELOG_0: None},
        read={PEOPLE_0: read, PEOPLE_1: 49, CHANGELOG_0: None},
        acked={PEOPLE_0: acked or []},
        highwaters={PEOPLE_0: highwater, PEOPLE_1: 50, CHANGELOG_0: 500},
    )
    return FakeApp(consumer)


def watch() -> StallWatch:
    return StallWatch(["people.v1"], checks=3)


def test_a_partition_with_messages_waiting_that_did_not_move_over_three_checks_is_stalled() -> None:
    stall_watch = watch()
    app: Any = app_at(committed=10, read=10, highwater=40)
    assert stall_watch.check(app) == stall_watch.check(app) == {}  # not yet three checks
    stalled = stall_watch.check(app)
    assert set(stalled) == {PEOPLE_0}
    assert stalled[PEOPLE_0].committed == 10 and stalled[PEOPLE_0].highwater == 40
    assert stall_watch.check(app) == {}  # reported once per position
    moved: Any = app_at(committed=25, read=24, highwater=40)
    assert stall_watch.check(moved) == stall_watch.check(moved) == {}
    assert set(stall_watch.check(moved)) == {PEOPLE_0}  # stopped again, further on


def test_moving_caught_up_or_rebalancing_partitions_are_not_stalled() -> None:
    stall_watch = watch()
    for read in (10, 20, 30, 35):  # moving
        app: Any = app_at(committed=read, read=read, highwater=40)
        assert stall_watch.check(app) == {}
    caught_up: Any = app_at(committed=40, read=39, highwater=40)
    assert stall_watch.check(caught_up) == stall_watch.check(caught_up) == stall_watch.check(caught_up) == {}
    rebalancing: Any = app_at(committed=10, read=10, highwater=40)
    rebalancing.rebalancing = True
    assert stall_watch.check(rebalancing) == stall_watch.check(rebalancing) == stall_watch.check(rebalancing) == {}


def test_a_rebalance_between_checks_starts_the_count_again() -> None:
    stall_watch = watch()
    app: Any = app_at(committed=10, read=10, highwater=40)
    stall_watch.check(app)
    stall_watch.check(app)
    app.rebalancing_count += 1  # a rebalance came and went between two checks
    assert stall_watch.check(app) == stall_watch.check(app) == {}
    assert set(stall_watch.check(app)) == {PEOPLE_0}


def test_acknowledged_messages_held_back_behind_a_missing_offset_count_as_stalled() -> None:
    app: Any = app_at(committed=10, read=30, highwater=30, acked=[20, 21, 22])
    progress = partition_progress(app)[PEOPLE_0]
    assert progress.held_back and progress.lowest_acked_waiting == 20
    stall_watch = watch()
    stall_watch.check(app)
    stall_watch.check(app)
    assert set(stall_watch.check(app)) == {PEOPLE_0}  # the changelog (always "behind") is not watched
