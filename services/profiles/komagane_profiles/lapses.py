"""Lapse detection (DESIGN §5): days since the last participation above max(28, 2 × the median gap).

"Today" is the processor's event-time watermark (the latest event time it has folded), not the
wall clock, so the same history gives the same answer on replay.
"""

from __future__ import annotations

from datetime import date

from komagane_contracts.events.profiles import BelongingLapsed
from komagane_profiles.fold import State
from komagane_profiles.metrics import Participation, lapse_threshold_days


def lapse_of(state: State, today: date) -> BelongingLapsed | None:
    """The alert for this person as of `today`, or None (no consent, no history, or not lapsed)."""
    if "PROFILE" not in state.get("consents", []):
        return None
    history: list[Participation] = state.get("participation", [])
    if not history:
        return None  # never took part: that is not a lapse (outreach finds them other ways)
    last = max(r.day for r in history)
    threshold = lapse_threshold_days(history)
    days_since = (today - last).days
    if days_since <= threshold:
        return None
    return BelongingLapsed(person_id=state["person_id"], last_participation=last, days_since=days_since, threshold_days=threshold, as_of=today)
