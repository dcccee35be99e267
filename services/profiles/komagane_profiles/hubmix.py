"""The ごちゃまぜ (mix) index of a hub: how evenly its attendees spread over the age bands.

Normalised Shannon entropy over the five bands {0-17, 18-39, 40-64, 65-74, 75+}: 0 when everyone
is from one band, 1 when all bands are equally present. Computed per session and per month;
a session is "mixed" when at least three bands are present. Aggregate only: a month with fewer
than SUPPRESS_BELOW attendances shows no index at all.
"""

from __future__ import annotations

import math
from collections import Counter
from itertools import islice
from typing import Any

from komagane_contracts.vocabulary import AgeBand

BANDS = [band.value for band in AgeBand]
SUPPRESS_BELOW = 10
MIXED_SESSION_BANDS = 3
MONTHS_KEPT = 13
TOP_SESSIONS = 3
# The attendance ids a hub remembers, oldest first: at least SEEN_KEPT, and the oldest
# SEEN_TRIM at once beyond that (a dict, so asking is one lookup whatever the count).
SEEN_KEPT = 2000
SEEN_TRIM = 500

HubState = dict[str, Any]


def mix_index(counts: dict[str, int]) -> float:
    total = sum(counts.values())
    if total == 0:
        return 0.0
    entropy = -sum((n / total) * math.log(n / total) for n in counts.values() if n > 0)
    return round(entropy / math.log(len(BANDS)), 4)


def new_hub(hub_id: str) -> HubState:
    return {"hub_id": hub_id, "sessions": {}, "seen": {}}


def add_attendance(state: HubState, *, attendance_id: str, session_id: str, month: str, age_band: str) -> bool:
    """Count one attendance; False when this attendance was counted before (redelivery)."""
    seen: dict[str, int] = state["seen"]
    if isinstance(seen, list):  # a state stored before the ids were a dict
        seen = state["seen"] = dict.fromkeys(seen, 1)
    if attendance_id in seen:
        return False
    sessions = state["sessions"]
    session = sessions.get(session_id)
    if session is None:
        session = sessions[session_id] = {"month": month, "bands": {}}
        _keep_recent_months(state)  # only a new session can bring a new month
    session["bands"][age_band] = session["bands"].get(age_band, 0) + 1
    seen[attendance_id] = 1
    if len(seen) > SEEN_KEPT + SEEN_TRIM:
        for old in list(islice(seen, SEEN_TRIM)):
            del seen[old]
    return True


def _keep_recent_months(state: HubState) -> None:
    months = sorted({s["month"] for s in state["sessions"].values()})
    if len(months) > MONTHS_KEPT:
        old = set(months[: len(months) - MONTHS_KEPT])
        state["sessions"] = {k: v for k, v in state["sessions"].items() if v["month"] not in old}


def summary(state: HubState) -> dict[str, Any]:
    """Per month: sessions, attendances, mix index over all attendances, share of mixed sessions."""
    by_month: dict[str, list[dict[str, int]]] = {}
    for session in state["sessions"].values():
        by_month.setdefault(session["month"], []).append(session["bands"])
    months: dict[str, Any] = {}
    for month, sessions in sorted(by_month.items()):
        total: Counter[str] = Counter()
        for bands in sessions:
            total.update(bands)
        attendances = sum(total.values())
        suppressed = attendances < SUPPRESS_BELOW
        mixed = sum(1 for bands in sessions if sum(1 for n in bands.values() if n > 0) >= MIXED_SESSION_BANDS)
        months[month] = {
            "sessions": len(sessions),
            "attendances": None if suppressed else attendances,
            "mix_index": None if suppressed else mix_index(dict(total)),
            "mixed_session_share": None if suppressed else round(mixed / len(sessions), 4),
            "suppressed": suppressed,
            "bands": {} if suppressed else {band: _shown(total[band]) for band in BANDS},
            "top_sessions": [] if suppressed else _most_mixed(state, month),
        }
    return {"hub_id": state["hub_id"], "months": months}


def _shown(count: int) -> int | None:
    """A count of people as published: 1–9 suppressed (None), 0 and 10+ as they are."""
    return None if 0 < count < SUPPRESS_BELOW else count


def _most_mixed(state: HubState, month: str) -> list[dict[str, Any]]:
    """The month's sessions with the most age bands present, then the highest index (no counts)."""
    ranked = []
    for session_id, session in state["sessions"].items():
        if session["month"] != month:
            continue
        bands: dict[str, int] = session["bands"]
        present = sum(1 for n in bands.values() if n > 0)
        index = mix_index(bands)
        ranked.append((-present, -index, session_id, sum(bands.values()) >= SUPPRESS_BELOW))
    ranked.sort()
    return [{"session_id": sid, "bands_present": -present, "mix_index": -index if shown else None} for present, index, sid, shown in ranked[:TOP_SESSIONS]]
