"""Lapse detection (docs/architecture.md, How a profile is computed): days since the last participation above max(28, 2 × the median gap).

"Today" is the processor's event-time watermark (the latest event time it has folded), not the
wall clock, so the same history gives the same answer on replay.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import ClassVar

from komagane_contracts.events.profiles import BelongingLapsed
from komagane_profiles.fold import State
from komagane_profiles.metrics import Participation, lapse_threshold_days


def _last_and_threshold(state: State) -> tuple[date, int] | None:
    """The last participation day and the lapse threshold, or None (no consent or no history)."""
    if "PROFILE" not in state.get("consents", []):
        return None
    history: list[Participation] = state.get("participation", [])
    if not history:
        return None  # never took part: that is not a lapse (outreach finds them other ways)
    return max(r.day for r in history), lapse_threshold_days(history)


def lapse_due(state: State) -> date | None:
    """The first day on which this person counts as lapsed if nothing else happens, or None
    (no consent or no history): `lapse_of` finds an alert exactly from this day on."""
    found = _last_and_threshold(state)
    return None if found is None else found[0] + timedelta(days=found[1] + 1)


def lapse_of(state: State, today: date) -> BelongingLapsed | None:
    """The alert for this person as of `today`, or None (no consent, no history, or not lapsed)."""
    found = _last_and_threshold(state)
    if found is None:
        return None
    last, threshold = found
    days_since = (today - last).days
    if days_since <= threshold:
        return None
    return BelongingLapsed(person_id=state["person_id"], last_participation=last, days_since=days_since, threshold_days=threshold, as_of=today)


class Watermark:
    """The latest event time this worker has folded: "now" for event-time checks such as lapses."""

    latest: datetime | None = None

    @classmethod
    def advance(cls, time: datetime) -> None:
        if cls.latest is None or time > cls.latest:
            cls.latest = time


class LapseWatch:
    """When each person of this worker's partitions lapses if nothing else happens
    (`lapse_due`), kept at every flush and on every recovery: the periodic check then reads
    the states that are due, not every state of the town (a whole town's states, decoded every
    minute, held the event loop for longer than the latency the profiles promise)."""

    due: ClassVar[dict[str, date]] = {}

    @classmethod
    def note(cls, person_id: str, state: State) -> date | None:
        due = lapse_due(state)
        if due is None:
            cls.due.pop(person_id, None)
        else:
            cls.due[person_id] = due
        return due
