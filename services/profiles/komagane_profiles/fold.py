"""Pure folding of events into per-person state, and the profile derived from it.

State is a JSON-able dict (it lives in a faust table); applying an event twice is a no-op, so
redelivery after a crash changes nothing. Outputs are always rewritten from the state.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from komagane_contracts.envelope import CloudEvent
from komagane_contracts.events.people import ConsentGranted, ConsentWithdrawn, PersonRegistered
from komagane_contracts.events.profiles import PersonProfileUpdated

State = dict[str, Any]
SEEN_IDS_KEPT = 64  # per person; redelivery happens within a few messages, not hundreds


def new_state(person_id: str) -> State:
    return {"person_id": person_id, "version": 0, "consents": [], "seen": [], "updated_at": None}


def apply(state: State, event: CloudEvent) -> bool:
    """Fold `event` into `state` in place; False when the event was already applied."""
    if event.id in state["seen"]:
        return False
    body = event.body()
    consents: set[str] = set(state["consents"])
    if isinstance(body, PersonRegistered):
        state["registration"] = {
            "age_band": body.age_band.value,
            "residency_status": body.residency_status.value,
            "preferred_language": body.preferred_language,
        }
    elif isinstance(body, ConsentGranted):
        consents.add(body.purpose)
    elif isinstance(body, ConsentWithdrawn):
        consents.discard(body.purpose)
        if body.purpose == "PROFILE":
            state.pop("belonging", None)  # derived data goes with the consent
    state["consents"] = sorted(consents)
    state["version"] += 1
    state["updated_at"] = _later(state["updated_at"], event.time)
    state["seen"] = (state["seen"] + [event.id])[-SEEN_IDS_KEPT:]
    return True


def _later(current: str | None, time: datetime) -> str:
    candidate = time.isoformat()
    if current is None:
        return candidate
    return max(current, candidate, key=datetime.fromisoformat)


def profile_of(state: State) -> PersonProfileUpdated | None:
    """The profile to publish, or None when the person has not opted in (PROFILE consent)."""
    if "PROFILE" not in state["consents"]:
        return None
    registration = state.get("registration", {})
    return PersonProfileUpdated(
        person_id=state["person_id"],
        version=state["version"],
        age_band=registration.get("age_band"),
        residency_status=registration.get("residency_status"),
        preferred_language=registration.get("preferred_language"),
        consents=state["consents"],
        updated_at=datetime.fromisoformat(state["updated_at"]),
    )


def is_profile_withdrawal(event: CloudEvent) -> bool:
    return event.type == ConsentWithdrawn.event_type and event.data.get("purpose") == "PROFILE"
