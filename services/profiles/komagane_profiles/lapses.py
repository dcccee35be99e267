"""Lapse detection (docs/architecture.md, How a profile is computed): days since the last participation above max(28, 2 × the median gap).

An alert closes when the person takes part again, or when care staff's follow-up says so
(followups.py): the lapse is then no longer due.

"Today" is the processor's event-time watermark (the latest event time it has folded), not the
wall clock, so the same history gives the same answer on replay.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta

import redis.asyncio as aioredis

from komagane_contracts.events.profiles import BelongingLapsed
from komagane_contracts.readmodels import LAPSE_ALERTS_KEY
from komagane_profiles import followups
from komagane_profiles.metrics import Participation, lapse_threshold_days
from komagane_profiles.state import State


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
    if found is None:
        return None
    due = found[0] + timedelta(days=found[1] + 1)
    return None if followups.closes(state, due) else due


def lapse_of(state: State, today: date) -> BelongingLapsed | None:
    """The alert for this person as of `today`, or None (no consent, no history, or not lapsed)."""
    found = _last_and_threshold(state)
    if found is None:
        return None
    last, threshold = found
    days_since = (today - last).days
    due = last + timedelta(days=threshold + 1)
    if days_since <= threshold or followups.closes(state, due):
        return None
    return BelongingLapsed(
        person_id=state["person_id"],
        last_participation=last,
        days_since=days_since,
        threshold_days=threshold,
        as_of=today,
        usual_places=usual_places(state.get("participation", []), last),
        groups=sorted(state.get("groups", {})),
        follow_ups=followups.of_lapse(state, due),
    )


USUAL_PLACES_DAYS = 90
USUAL_PLACES_KEPT = 5


def usual_places(history: list[Participation], last: date) -> list[str]:
    """Where the person went most in the 90 days up to their last participation (most often first)."""
    since = last - timedelta(days=USUAL_PLACES_DAYS)
    counts = Counter(r.place for r in history if since < r.day <= last)
    return [place for place, _ in sorted(counts.items(), key=lambda pc: (-pc[1], pc[0]))[:USUAL_PLACES_KEPT]]


async def refresh_told_alerts(redis: aioredis.Redis, alerts: dict[str, BelongingLapsed]) -> None:
    """Rewrite alerts already told (in the hash) whose people were folded again, e.g. with a
    follow-up; one not told yet is left to the lapse check, whose HSETNX tells it once."""
    if not alerts:
        return
    people = list(alerts)
    told = await redis.hmget(LAPSE_ALERTS_KEY, people)
    fresh = [p for p, value in zip(people, told, strict=True) if value is not None]
    if fresh:
        pipeline = redis.pipeline(transaction=False)
        for person_id in fresh:
            pipeline.hset(LAPSE_ALERTS_KEY, person_id, alerts[person_id].model_dump_json())
        await pipeline.execute()


class LapseWatch:
    """When each person of this worker's partitions lapses if nothing else happens
    (`lapse_due`), kept at every flush and on every recovery: the periodic check then reads
    the states that are due, not every state of the town (a whole town's states, decoded every
    minute, held the event loop for longer than the latency the profiles promise)."""

    def __init__(self) -> None:
        self.due: dict[str, date] = {}

    def note(self, person_id: str, state: State) -> date | None:
        due = lapse_due(state)
        if due is None:
            self.due.pop(person_id, None)
        else:
            self.due[person_id] = due
        return due
