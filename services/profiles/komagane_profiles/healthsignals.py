"""Health signals of a profile: S2-derived, so only with PROFILE and HEALTH consent, and coarse.

The fold's handlers of health events (`signal`, used by fold.EVENT_HANDLERS), the withdrawal
of the HEALTH consent, and the `HealthSignals` part of the profile.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from statistics import median
from typing import Any

from komagane_contracts.envelope import CloudEvent
from komagane_contracts.events.health import DailyActivitySummarized, HealthProgramCompleted, HealthProgramEnrolled, HealthStationEnrolled
from komagane_contracts.events.profiles import HealthSignals
from komagane_profiles import kpis
from komagane_profiles.holding import drop_held, hold, holdable, set_withdrawn
from komagane_profiles.state import State

STEP_DAYS_KEPT = 62  # two months of daily step buckets: the 28-day band and the month's KPIs
STEPS_BUCKET = 1000  # steps are kept only as thousands (the bands' limits are multiples of it)
STEPS_BANDS = ((8, "8000+"), (5, "5000-7999"), (2, "2000-4999"), (0, "<2000"))

Health = dict[str, Any]  # {"station", "programs", "steps", "evidence"}
Change = Callable[[State, Health, Any], None]


def _new_health() -> Health:
    return {"station": None, "programs": {}, "steps": {}, "evidence": []}


def withdraw(state: State) -> None:
    """HEALTH consent ended: everything derived from health data goes (the next profile has none)."""
    state["consents"] = [c for c in state["consents"] if c != "HEALTH"]
    set_withdrawn(state, "HEALTH", True)
    for key in ("health", "health_since"):
        state.pop(key, None)
    drop_held(state, "HEALTH")
    kpis.forget_health(state)


def allowed(state: State, time: datetime) -> bool:
    """Both consents, and the event is from after both were given."""
    if not {"PROFILE", "HEALTH"} <= set(state["consents"]):
        return False
    since = [state.get("profile_since"), state.get("health_since")]
    return all(s is not None and time >= datetime.fromisoformat(s) for s in since)


def signal(change: Change, *, evidence: bool = True) -> Callable[[State, Any, CloudEvent], None]:
    """A health event's fold: held while a consent is missing, ignored from before the consents,
    else `change` of the person's health part (and the event id kept as evidence)."""

    def fold(state: State, body: Any, event: CloudEvent) -> None:
        if not {"PROFILE", "HEALTH"} <= set(state["consents"]):
            if holdable(state, "HEALTH"):
                hold(state, event, "HEALTH", _coarse(body, event))  # the consents may be on their way
            return
        if not allowed(state, event.time):
            return
        health = state.setdefault("health", _new_health())
        change(state, health, body)
        if evidence:
            health["evidence"] = (health["evidence"] + [event.id])[-5:]

    return fold


def _coarse(body: Any, event: CloudEvent) -> dict[str, Any]:
    """The event's data as coarse as the profile keeps it: a day's steps only in thousands and no
    walking minutes, so a raw health value is never stored outside the health service."""
    if isinstance(body, DailyActivitySummarized):
        return event.data | {"steps": body.steps // STEPS_BUCKET * STEPS_BUCKET, "brisk_walk_minutes": 0}
    return event.data


def station_enrolled(state: State, health: Health, body: HealthStationEnrolled) -> None:
    health["station"] = body.enrolled_on.isoformat()


def program_enrolled(state: State, health: Health, body: HealthProgramEnrolled) -> None:
    previous = health["programs"].get(body.program_id)
    health["programs"][body.program_id] = [body.kind.value, previous[1] if previous else None]


def program_completed(state: State, health: Health, body: HealthProgramCompleted) -> None:
    health["programs"][body.program_id] = [body.kind.value, body.completed_on.isoformat()]


def daily_activity(state: State, health: Health, body: DailyActivitySummarized) -> None:
    """No evidence list for daily data (`signal(..., evidence=False)`): it would only repeat the days."""
    steps: dict[str, int] = health["steps"]
    steps[body.day.isoformat()] = body.steps // STEPS_BUCKET  # a replaced day replaces its bucket
    latest = max(date.fromisoformat(d) for d in steps)
    horizon = (latest - timedelta(days=STEP_DAYS_KEPT)).isoformat()
    health["steps"] = {d: k for d, k in sorted(steps.items()) if d >= horizon}
    kpis.count_steps(state, health["steps"], body.day)


def signals(state: State, as_of: date) -> HealthSignals | None:
    """The profile's health part as of `as_of`, or None without both consents."""
    if not {"PROFILE", "HEALTH"} <= set(state["consents"]):
        return None
    health = state.get("health") or _new_health()
    window = (as_of - timedelta(days=27)).isoformat()
    buckets = sorted(k for d, k in health["steps"].items() if window <= d <= as_of.isoformat())
    band = None
    if buckets:
        middle = median(buckets)
        band = next(name for lower, name in STEPS_BANDS if middle >= lower)
    year_ago = (as_of - timedelta(days=365)).isoformat()
    return HealthSignals(
        station_enrolled=health["station"] is not None,
        programs_active=sorted({kind for kind, completed in health["programs"].values() if completed is None}),
        programs_completed_12m=sum(1 for _, completed in health["programs"].values() if completed is not None and year_ago < completed <= as_of.isoformat()),
        steps_band_28d=band,
        explanations=list(health["evidence"]),
    )
