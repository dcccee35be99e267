"""Care staff's follow-ups of lapse alerts (LapseFollowedUp), folded into the person's state.

A follow-up belongs to the lapse that was under way on its day: the participation before that
day, its last day and its threshold (lapses.py) give the lapse's first day ("due"); a follow-up
on a day when the person was not lapsed belongs to no lapse. Everything here is derived from the
event times and the history, never from the order in which topics were read, so a replay gives
the same alerts and KPIs.

* The alert of the current lapse shows its follow-ups, and closes with a closing outcome
  (DECLINED, MOVED_AWAY: komagane_contracts.events.care.CLOSING_OUTCOMES). A return (new
  participation) starts over: the old follow-ups belong to the old lapse.
* The city KPIs count, per month in which a lapse began, the lapses whose first follow-up came
  within FOLLOW_UP_DAYS of that day (`refresh_kpi`, kept in the person's KPI summary).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from komagane_contracts.events.care import CLOSING_OUTCOMES, LapseFollowedUp
from komagane_contracts.events.profiles import LapseFollowUp
from komagane_kit.clock import tokyo_date
from komagane_profiles.kpis import new_summary
from komagane_profiles.metrics import Participation, lapse_threshold_days

State = dict[str, Any]
KEY = "follow_ups"  # [[followed_up_at (UTC, ISO 8601), follow_up_id, outcome], …], oldest first
KPI_KEY = "followed_up"  # in the KPI summary: {first day of a lapse (ISO): 1} for those followed up in time
KEPT = 50  # per person: follow-ups of long ago lapses are not shown and no longer counted
FOLLOW_UP_DAYS = 14
_CLOSING = frozenset(o.value for o in CLOSING_OUTCOMES)


def apply(state: State, body: LapseFollowedUp) -> None:
    """Keep the follow-up (a redelivery replaces itself). Lapse alerts exist only with PROFILE
    consent, so without it nothing is kept; a withdrawal drops what was (fold._apply_people)."""
    if "PROFILE" not in state["consents"]:
        return
    entry = [body.followed_up_at.astimezone(UTC).isoformat(), body.follow_up_id, body.outcome.value]
    entries = [e for e in state.get(KEY, ()) if e[1] != body.follow_up_id] + [entry]
    state[KEY] = sorted(entries)[-KEPT:]


def lapse_start(history: list[Participation], day: date) -> date | None:
    """The first day of the lapse under way on `day` (as the history before that day tells), or None."""
    before = [r for r in history if r.day < day]
    if not before:
        return None
    start = max(r.day for r in before) + timedelta(days=lapse_threshold_days(before) + 1)
    return start if day >= start else None


def of_lapse(state: State, start: date) -> list[LapseFollowUp]:
    """The follow-ups of the lapse that began on `start` (the current one: none after a return)."""
    return [
        LapseFollowUp(follow_up_id=follow_up_id, outcome=outcome, followed_up_at=datetime.fromisoformat(at))
        for at, follow_up_id, outcome in state.get(KEY, ())
        if tokyo_date(datetime.fromisoformat(at)) >= start
    ]


def closes(state: State, start: date) -> bool:
    """Whether a follow-up of the lapse that began on `start` closed it."""
    return any(f.outcome in _CLOSING for f in of_lapse(state, start))


def refresh_kpi(state: State) -> bool:
    """Recompute the person's lapses followed up in time (after any event: a late participation
    can move a lapse's first day); True if the KPI summary changed."""
    if KEY not in state and KPI_KEY not in state.get("kpi", {}):
        return False
    history: list[Participation] = state.get("participation", [])
    first: dict[date, date] = {}  # lapse start → first follow-up day
    for at, _, _ in state.get(KEY, ()):
        day = tokyo_date(datetime.fromisoformat(at))
        start = lapse_start(history, day)
        if start is not None and start not in first:
            first[start] = day
    in_time = {start.isoformat(): 1 for start, day in first.items() if (day - start).days <= FOLLOW_UP_DAYS}
    summary: dict[str, Any] = state.setdefault("kpi", new_summary())
    if summary.get(KPI_KEY, {}) == in_time:
        return False
    if in_time:
        summary[KPI_KEY] = in_time
    else:
        summary.pop(KPI_KEY, None)
    return True
