"""Matching (参加支援): rank open opportunities for a person, with a reason for every score.

Pure and deterministic: no database, no clock, no randomness. The same person and the same
opportunities always give the same ranking (ties broken by opportunity id), so staff can
explain a suggestion and tests can pin it. Each component scores 0–1 and says why; the total
is the weighted sum on a 0–100 scale.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from komagane_jobs.areas import hops

WEIGHTS: dict[str, float] = {"skills": 0.35, "availability": 0.25, "accessibility": 0.2, "language": 0.1, "distance": 0.1}
_CLOSENESS = {0: 1.0, 1: 0.6, 2: 0.3}  # by area borders crossed; further than 2 scores 0.1
INTERPRETER = "INTERPRETER"


@dataclass(frozen=True)
class Slot:
    """A weekly time window: weekday 0 = Monday, minutes since midnight, end exclusive."""

    weekday: int
    start: int
    end: int


@dataclass(frozen=True)
class Seeker:
    skills: frozenset[str]
    languages: frozenset[str]
    availability: tuple[Slot, ...]
    needs: frozenset[str]
    area: str | None


@dataclass(frozen=True)
class Offer:
    opportunity_id: str
    skills: tuple[str, ...]
    slots: tuple[Slot, ...]
    min_weekly_hours: float
    accommodations: frozenset[str]
    languages: tuple[str, ...]
    area: str | None


@dataclass(frozen=True)
class Component:
    name: str
    score: float
    weight: float
    reason: str


@dataclass(frozen=True)
class Match:
    opportunity_id: str
    score: float
    components: tuple[Component, ...] = field(default=())


def _merged(slots: Iterable[Slot]) -> dict[int, list[tuple[int, int]]]:
    """Slots per weekday with overlaps merged, so no minute is counted twice."""
    by_day: dict[int, list[tuple[int, int]]] = {}
    for slot in sorted(slots, key=lambda s: (s.weekday, s.start, s.end)):
        day = by_day.setdefault(slot.weekday, [])
        if day and slot.start <= day[-1][1]:
            day[-1] = (day[-1][0], max(day[-1][1], slot.end))
        else:
            day.append((slot.start, slot.end))
    return by_day


def _primary(tag: str) -> str:
    return tag.split("-", 1)[0].lower()


def _readable(words: Iterable[str]) -> str:
    return ", ".join(w.lower().replace("_", " ") for w in sorted(words))


def _hours(minutes: float) -> str:
    return f"{minutes / 60:.1f} h"


class _Prepared:
    """The seeker's side, computed once per ranking rather than once per opportunity."""

    def __init__(self, seeker: Seeker) -> None:
        self.seeker = seeker
        self.availability = _merged(seeker.availability)
        self.languages = frozenset(_primary(t) for t in seeker.languages)


def _skills(p: _Prepared, offer: Offer) -> Component:
    wanted = offer.skills
    if not wanted:
        return Component("skills", 1.0, WEIGHTS["skills"], "no particular skills required")
    have = [s for s in wanted if s in p.seeker.skills]
    missing = [s for s in wanted if s not in p.seeker.skills]
    reason = f"has {len(have)} of {len(wanted)} wanted skills"
    reason += f": {_readable(have)}" if have else ""
    reason += f"; not: {_readable(missing)}" if missing else ""
    return Component("skills", len(have) / len(wanted), WEIGHTS["skills"], reason)


def _availability(p: _Prepared, offer: Offer) -> Component:
    if not offer.slots:
        return Component("availability", 1.0, WEIGHTS["availability"], "hours arranged individually")
    if not p.availability:
        return Component("availability", 0.0, WEIGHTS["availability"], "no availability declared")
    overlap = 0
    offered = 0
    for day, windows in _merged(offer.slots).items():
        free = p.availability.get(day, ())
        for start, end in windows:
            offered += end - start
            for f_start, f_end in free:
                overlap += max(0, min(end, f_end) - max(start, f_start))
    needed = offer.min_weekly_hours * 60 if offer.min_weekly_hours > 0 else offered
    score = min(1.0, overlap / needed) if needed else 1.0
    reason = f"available {_hours(overlap)} of the {_hours(offered)} offered each week"
    if offer.min_weekly_hours > 0:
        reason += f" (minimum {_hours(needed)})"
    return Component("availability", score, WEIGHTS["availability"], reason)


def _accessibility(p: _Prepared, offer: Offer) -> Component:
    needs = p.seeker.needs
    if not needs:
        return Component("accessibility", 1.0, WEIGHTS["accessibility"], "no accessibility needs declared")
    met = needs & offer.accommodations
    missing = needs - offer.accommodations
    reason = f"meets {len(met)} of {len(needs)} accessibility needs"
    reason += f": {_readable(met)}" if met else ""
    reason += f"; missing: {_readable(missing)}" if missing else ""
    return Component("accessibility", len(met) / len(needs), WEIGHTS["accessibility"], reason)


def _language(p: _Prepared, offer: Offer) -> Component:
    if not offer.languages:
        return Component("language", 1.0, WEIGHTS["language"], "no working language given")
    shared = sorted(t for t in offer.languages if _primary(t) in p.languages)
    if shared:
        return Component("language", 1.0, WEIGHTS["language"], f"works in {', '.join(shared)}, which the person speaks")
    if INTERPRETER in offer.accommodations:
        return Component("language", 0.5, WEIGHTS["language"], f"works in {', '.join(offer.languages)}; an interpreter is offered")
    return Component("language", 0.0, WEIGHTS["language"], f"works in {', '.join(offer.languages)}, which the person does not speak")


def _distance(p: _Prepared, offer: Offer) -> Component:
    if offer.area is None or p.seeker.area is None:
        return Component("distance", 0.5, WEIGHTS["distance"], "area not known on one side")
    apart = hops(p.seeker.area, offer.area)
    if apart is None:
        return Component("distance", 0.25, WEIGHTS["distance"], f"{offer.area} is not in the area table")
    if apart == 0:
        return Component("distance", 1.0, WEIGHTS["distance"], f"in the person's own area ({offer.area})")
    closeness = _CLOSENESS.get(apart, 0.1)
    plural = "border" if apart == 1 else "borders"
    return Component("distance", closeness, WEIGHTS["distance"], f"{offer.area} is {apart} area {plural} from {p.seeker.area}")


_SCORERS = (_skills, _availability, _accessibility, _language, _distance)


def _match(p: _Prepared, offer: Offer) -> Match:
    components = tuple(scorer(p, offer) for scorer in _SCORERS)
    total = round(100 * sum(c.score * c.weight for c in components), 1)
    return Match(offer.opportunity_id, total, components)


def score(seeker: Seeker, offer: Offer) -> Match:
    return _match(_Prepared(seeker), offer)


def rank(seeker: Seeker, offers: Iterable[Offer]) -> list[Match]:
    """Best first; equal scores in opportunity id order, so the ranking is stable."""
    prepared = _Prepared(seeker)
    return sorted((_match(prepared, offer) for offer in offers), key=lambda m: (-m.score, m.opportunity_id))
