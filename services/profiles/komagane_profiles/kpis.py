"""City KPIs per calendar month (docs/architecture.md, How a profile is computed), by event
time, aggregate only: the person side, pure (the city side is citykpis.py).

Every person's state carries a small KPI summary (`count`, `refresh_flags`): age band,
registration and 関係人口 months, and per month the counts of what they did (hub visits, 通いの場
attendances, seminars, trial stays, moves) plus, for people who opted in to profiling, whether
they had a place and a role at that month's end. It is folded with the rest of the person
state, so it inherits its idempotency (events are applied once by id). The whole summary
travels, under a pseudonym, on an internal topic with one key ("city"), to citykpis.py.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable, Iterable, Mapping
from datetime import date, timedelta
from statistics import median
from typing import Any

from komagane_contracts.events.base import EventModel
from komagane_contracts.events.exchange import ActivityCategory, HubVisited, ParticipantAttended
from komagane_contracts.events.health import HealthStationEnrolled
from komagane_contracts.events.housing import HouseholdMovedIn, MigrationCaseOpened, RelationshipRegistered, TrialStayCompleted
from komagane_contracts.events.jobs import SeminarAttended
from komagane_contracts.events.people import ConsentGranted, ConsentWithdrawn, PersonRegistered, PersonUpdated
from komagane_contracts.vocabulary import ResidencyStatus
from komagane_kit.clock import tokyo_date
from komagane_profiles.metrics import CONTRIBUTING_MODES, Participation

ROLE_MONTHS = 12  # a participation counts towards the role of this month and the next 11
_PSEUDONYM_KEY = b"komagane-profiles-kpis-v1"

Summary = dict[str, Any]


@functools.lru_cache(maxsize=4096)
def month_of(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"  # called for every record of a history per event


def pseudonym(person_id: str) -> str:
    """A stable pseudonym for the city side: it never needs (or sees) the person id."""
    return hashlib.blake2b(person_id.encode(), key=_PSEUDONYM_KEY, digest_size=12).hexdigest()


def new_summary() -> Summary:
    return {"band": None, "registered": None, "relationship": None, "months": {}, "trials": {}, "moves": {}}


def count_steps(state: dict[str, Any], step_buckets: Mapping[str, int], day: date) -> None:
    """The person's median daily-steps bucket (thousands) of `day`'s month, from the days kept.
    Only called for people with PROFILE and HEALTH consent (fold._apply_health)."""
    summary: Summary = state.setdefault("kpi", new_summary())
    month = month_of(day)
    buckets = sorted(k for d, k in step_buckets.items() if d.startswith(month))
    value = int(median(buckets)) if buckets else None
    steps = summary.setdefault("steps", {})
    if value is not None and steps.get(month) != value:
        steps[month] = value
        state["kpi_rev"] = state.get("kpi_rev", 0) + 1


def forget_health(state: dict[str, Any]) -> None:
    """HEALTH consent withdrawn: the person's step figures leave the city totals too."""
    summary: Summary | None = state.get("kpi")
    if summary is not None and summary.pop("steps", None):
        state["kpi_rev"] = state.get("kpi_rev", 0) + 1


# --- person side -----------------------------------------------------------------------------


Counter = Callable[[Summary, Any], bool]  # (KPI summary, event body): True if the summary changed


def count(state: dict[str, Any], body: EventModel, counter: Counter | None) -> bool:
    """Fold one (already de-duplicated) event into the person's KPI summary with the counter of
    its type (the `kpi` of its entry in fold.EVENT_HANDLERS); True if it changed. Every
    event counted gives the person a summary, whether its type counts anything or not."""
    summary: Summary = state.setdefault("kpi", new_summary())
    return counter(summary, body) if counter is not None else False


def registered(summary: Summary, body: PersonRegistered) -> bool:
    month = month_of(tokyo_date(body.registered_at))
    changed = bool(summary["band"] != body.age_band.value or summary["registered"] != month)
    summary["band"], summary["registered"] = body.age_band.value, month
    if body.residency_status is ResidencyStatus.RELATIONSHIP:
        changed |= _relationship(summary, month)
    return changed


def updated(summary: Summary, body: PersonUpdated) -> bool:
    """Corrected to 関係人口 (or becoming one): counted from the month of the change."""
    if body.residency_status is ResidencyStatus.RELATIONSHIP:
        return _relationship(summary, month_of(tokyo_date(body.updated_at)))
    return False


def relationship_registered(summary: Summary, body: RelationshipRegistered) -> bool:
    return _relationship(summary, month_of(body.registered_on))


def moved_in(summary: Summary, body: HouseholdMovedIn) -> bool:
    summary["moves"][body.move_id] = body.moved_in_on.isoformat()
    return True


def trial_stay_completed(summary: Summary, body: TrialStayCompleted) -> bool:
    summary["trials"][body.stay_id] = body.completed_on.isoformat()
    return True


def inquiry(summary: Summary, body: MigrationCaseOpened) -> bool:
    """A migration case opened: the funnel's first step."""
    inquiries: dict[str, str] = summary.setdefault("inquiries", {})
    changed = inquiries.get(body.case_id) != body.opened_on.isoformat()
    inquiries[body.case_id] = body.opened_on.isoformat()
    return changed


def attended(summary: Summary, body: ParticipantAttended) -> bool:
    month = month_of(tokyo_date(body.attended_at))
    _bump(summary, month, "visits")
    if body.is_kayoinoba or body.category is ActivityCategory.KAYOINOBA:
        _bump(summary, month, "kayoinoba")
    return True


def visited(summary: Summary, body: HubVisited) -> bool:
    _bump(summary, month_of(tokyo_date(body.visited_at)), "visits")
    return True


def seminar_attended(summary: Summary, body: SeminarAttended) -> bool:
    _bump(summary, month_of(body.held_on), "seminars")
    return True


def station_enrolled(summary: Summary, body: HealthStationEnrolled) -> bool:
    month = month_of(body.enrolled_on)
    if summary.get("station") is not None and summary["station"] <= month:
        return False
    summary["station"] = month  # the first enrolment counts
    return True


def _relationship(summary: Summary, month: str) -> bool:
    if summary["relationship"] is not None and summary["relationship"] <= month:
        return False
    summary["relationship"] = month
    return True


def _bump(summary: Summary, month: str, counter: str) -> None:
    cell = summary["months"].setdefault(month, {})
    cell[counter] = cell.get(counter, 0) + 1


def affected_months(body: EventModel, participation_day: date | None) -> Iterable[str] | None:
    """Months whose place/role flags an event can change: None means all of them."""
    if isinstance(body, ConsentGranted | ConsentWithdrawn) and body.purpose == "PROFILE":
        return None
    if participation_day is None:
        return ()
    return _months_from(date(participation_day.year, participation_day.month, 1))


@functools.lru_cache(maxsize=1024)
def _months_from(first: date) -> tuple[str, ...]:
    return tuple(month_of(_add_months(first, n)) for n in range(ROLE_MONTHS))


class FlagsDue:
    """Months whose flags a batch's events made stale, refreshed once per person and batch
    (`refresh_flags` regroups the person's whole history: a person with twenty events in a
    batch need not do it twenty times). The flags come out the same: each month is computed
    from the history as it ends up, as the last event affecting it would have."""

    def __init__(self) -> None:
        self.months: set[str] = set()
        self.every_month = False

    def add(self, months: Iterable[str] | None) -> None:
        if months is None:
            self.every_month = True
        else:
            self.months.update(months)

    def refresh(self, state: dict[str, Any]) -> bool:
        """Refresh the months due (then none are); True if any flag changed."""
        if not (self.every_month or self.months):
            return False
        months, self.months, every_month, self.every_month = self.months, set(), self.every_month, False
        return refresh_flags(state, None if every_month else months)


def refresh_flags(state: dict[str, Any], months: Iterable[str] | None) -> bool:
    """Recompute, for the given months, whether the person took part as a profiled person, and
    had a place and a role at that month's end; True if anything changed.

    From the profile's own history, so only people with PROFILE consent count, and only from
    their opt-in; a withdrawal (history erased) clears every month.
    """
    summary: Summary = state.setdefault("kpi", new_summary())
    if months is not None and not months:
        return False  # nothing to recompute: most events are not participation
    history: list[Participation] = state.get("participation", [])
    index = _FlagIndex(history)
    candidates = set(summary["months"]) | set(index.active) if months is None else set(months)
    changed = False
    for month in sorted(candidates):
        cell = summary["months"].get(month, {})
        flags: dict[str, int] = {}
        if month in index.active:
            flags["profiled"] = 1
            if index.place_at_end_of(month):
                flags["place"] = 1
            if index.role_at_end_of(month):
                flags["role"] = 1
        for flag in ("profiled", "place", "role"):
            if cell.get(flag, 0) != flags.get(flag, 0):
                changed = True
                if flag in flags:
                    cell[flag] = flags[flag]
                else:
                    cell.pop(flag, None)
        if cell:
            summary["months"][month] = cell
        else:
            summary["months"].pop(month, None)
    return changed


class _FlagIndex:
    """The history grouped once per event for the month-end flags, which are checked for up to
    twelve months each time: the same answers as `metrics.places` and `metrics.roles`
    (non-empty as of the month's end), without walking the whole history per month."""

    def __init__(self, history: list[Participation]) -> None:
        self.active: dict[str, int] = {}  # month → month number (year × 12 + month − 1)
        self.place_months: dict[str, set[int]] = {}
        self.contributing_days: list[date] = []
        numbers: set[int] = set()
        for day, place, _, mode, _, _ in history:
            number = day.year * 12 + day.month - 1
            if number not in numbers:  # naming a month is dearer than the rest of the loop
                numbers.add(number)
                self.active.setdefault(month_of(day), number)
            months = self.place_months.get(place)
            if months is None:
                self.place_months[place] = {number}
            else:
                months.add(number)
            if mode in CONTRIBUTING_MODES:
                self.contributing_days.append(day)

    def place_at_end_of(self, month: str) -> bool:
        """A place attended in at least 2 of this month and the two before (metrics.places)."""
        number = self.active[month]
        window = {number - 2, number - 1, number}
        return any(len(window & seen) >= 2 for seen in self.place_months.values())

    def role_at_end_of(self, month: str) -> bool:
        """Any contribution in the 365 days up to the month's end (metrics.roles' role types)."""
        end = _month_end(month)
        year_ago = end - timedelta(days=365)
        return any(year_ago < day <= end for day in self.contributing_days)


def _add_months(first: date, n: int) -> date:
    years, month0 = divmod(first.month - 1 + n, 12)
    return date(first.year + years, month0 + 1, 1)


def _month_end(month: str) -> date:
    first = date.fromisoformat(f"{month}-01")
    return _add_months(first, 1) - timedelta(days=1)
