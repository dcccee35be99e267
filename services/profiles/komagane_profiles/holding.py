"""Events held in a person's state until the consent they need arrives.

Topics are not ordered among each other: a visit or a health upload made just after the opt-in
can reach the processor before the consent does (by milliseconds, or much later when one input
partition lags behind another). Such an event is held in the person's state and folded when
the consent arrives, if it happened after it, so the order of arrival never changes a profile.
Held are at most HELD_MAX events, none more than HELD_SECONDS older than the newest of them
(event times: a person who never opts in keeps at most an hour of their latest activity here);
they are never profiled nor published, and the same events stay on the input topics anyway.
Nothing is held for a consent the person withdrew (until they give it again), and a
withdrawal drops what it gates. The consent's arrival releases them (fold._release_held).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from komagane_contracts.envelope import CloudEvent
from komagane_profiles.state import Held, State

HELD_MAX = 64
HELD_SECONDS = 3600
GATES = ("PROFILE", "HEALTH")  # the consents that gate what enters a profile


def hold(state: State, event: CloudEvent, gate: str, data: dict[str, Any]) -> None:
    """Keep `event` (with `data`, as coarse as the profile keeps it) until the consent `gate`
    names arrives (see HELD_MAX), oldest first. A redelivery is kept once."""
    at = event.time.astimezone(UTC)
    entry = Held(at.isoformat(), gate, event.id, event.type, event.source, event.sensitivity.value, event.controller.value, data)
    held: list[Held] = [h for h in state.get("held", ()) if h.event_id != event.id]
    held.append(entry)
    if len(held) > 1 and held[-2].at > entry.at:
        held.sort(key=lambda h: h.at)  # arrived out of time order
    horizon = (datetime.fromisoformat(held[-1].at) - timedelta(seconds=HELD_SECONDS)).isoformat()
    state["held"] = [h for h in held if h.at >= horizon][-HELD_MAX:]


def set_withdrawn(state: State, purpose: str, withdrawn: bool) -> None:
    """Which gating consents the person withdrew (and has not given again): nothing is held for those."""
    if purpose not in GATES:
        return
    purposes = set(state.get("withdrawn", ())) - {purpose} | ({purpose} if withdrawn else set())
    if purposes:
        state["withdrawn"] = sorted(purposes)
    else:
        state.pop("withdrawn", None)


def holdable(state: State, gate: str) -> bool:
    return not {gate, "PROFILE"} & set(state.get("withdrawn", ()))


def drop_held(state: State, gate: str) -> None:
    held = [h for h in state.pop("held", ()) if h.gate != gate]
    if held:
        state["held"] = held
