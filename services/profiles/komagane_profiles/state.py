"""A person's state: its typed rows in memory, and its stored form (a faust table value).

State is a dict kept parsed in memory while it is folded (fold.py) and stored compactly as
JSON bytes: `encode_state` turns its typed rows (`Participation`, `Held`, `Step`) into JSON
arrays, `decode_state` turns them back, and is the one converter of every stored form a
worker may find in its table or changelog (older forms included), so those keep loading.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import orjson

from komagane_kit.erasure import erasure_digest
from komagane_profiles.metrics import from_rows, to_rows

State = dict[str, Any]

# An erased person's state is replaced by this marker, stored under `erasure_key` instead of the
# person id (the state table's changelog is a compacted topic: nothing there may hold the id).
ERASED_KEY_PREFIX = "erased:"


class Held(NamedTuple):
    """An event kept until the consent it needs arrives (fold._hold): what folding it needs, no more."""

    at: str  # event time, UTC, ISO 8601: ordered as text
    gate: str  # the consent it waits for: "PROFILE" or "HEALTH"
    event_id: str
    type: str
    source: str
    sensitivity: str
    controller: str
    data: dict[str, Any]  # as coarse as the profile keeps it (fold._coarse)


class Step(NamedTuple):
    """One step of the person's housing journey (trial stay, migration stage, move, …)."""

    step: str
    on: str  # the day, ISO 8601
    event_id: str
    at: str  # event time, UTC, ISO 8601 ("" for steps stored before it was: they sort first in their day)


def erasure_key(person_id: str) -> str:
    return ERASED_KEY_PREFIX + erasure_digest(person_id)


def erased_state() -> State:
    return {"erased": True}


def is_erased_state(state: State) -> bool:
    return bool(state.get("erased"))


def new_state(person_id: str) -> State:
    return {"person_id": person_id, "version": 0, "consents": [], "seen": [], "updated_at": None}


def encode_state(state: State) -> bytes:
    """The table value: compact JSON, every typed row as a JSON array."""
    stored = dict(state)
    if "participation" in stored:
        stored["participation"] = to_rows(stored["participation"])
    if "held" in stored:
        stored["held"] = [tuple(h) for h in stored["held"]]
    if "journey" in stored:
        stored["journey"] = [tuple(s) for s in stored["journey"]]
    return orjson.dumps(stored)  # compact UTF-8, like json.dumps(separators=(",", ":"), ensure_ascii=False)


def decode_state(raw: bytes | str | dict[str, Any]) -> State:
    """The in-memory state from a table value: bytes, or a dict from before states were bytes;
    journey steps stored before their event time was (three elements) get "" for it."""
    state: State = orjson.loads(raw) if isinstance(raw, bytes | str) else dict(raw)
    if "participation" in state:
        state["participation"] = from_rows(state["participation"])
    if "held" in state:
        state["held"] = [Held(*h) for h in state["held"]]
    if "journey" in state:
        state["journey"] = [Step(s[0], s[1], s[2], s[3] if len(s) > 3 else "") for s in state["journey"]]
    return state
