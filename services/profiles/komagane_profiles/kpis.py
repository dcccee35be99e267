"""City KPIs per calendar month (docs/architecture.md, How a profile is computed), by event time, aggregate only.

Two halves, both pure:

* Person side (`count`, `refresh_flags`): every person's state carries a small KPI summary —
  age band, registration and 関係人口 months, and per month the counts of what they did (hub
  visits, 通いの場 attendances, seminars, trial stays, moves) plus, for people who opted in to
  profiling, whether they had a place and a role at that month's end. It is folded with the rest
  of the person state, so it inherits its idempotency (events are applied once by id). The
  whole summary travels, under a pseudonym, on an internal topic with one key ("city").

* City side (`contribution`, `apply_contribution`, `city_kpis`): the summary becomes the
  person's contribution to each month's totals; the previous contribution is remembered per
  pseudonym, and only the difference is added to the totals. Re-delivering a summary therefore
  changes nothing, and the totals depend only on each person's final summary — not on the order
  in which people, topics or partitions were read — so replaying the topics rebuilds them
  exactly.

Outputs never carry person ids: totals only, with every cell of fewer than SUPPRESS_BELOW
people (and whatever is derived from it) suppressed.
"""

from __future__ import annotations

import functools
import hashlib
import uuid
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, timedelta
from statistics import median
from typing import Any

from komagane_contracts.envelope import CloudEvent
from komagane_contracts.events.base import EventModel
from komagane_contracts.events.exchange import ActivityCategory, HubVisited, ParticipantAttended
from komagane_contracts.events.health import HealthStationEnrolled
from komagane_contracts.events.housing import HouseholdMovedIn, MigrationCaseOpened, RelationshipRegistered, TrialStayCompleted
from komagane_contracts.events.jobs import SeminarAttended
from komagane_contracts.events.people import ConsentGranted, ConsentWithdrawn, PersonRegistered, PersonUpdated
from komagane_contracts.events.profiles import CityKpisUpdated
from komagane_contracts.vocabulary import AgeBand, ResidencyStatus
from komagane_kit.clock import tokyo_date
from komagane_profiles.metrics import CONTRIBUTING_MODES, Participation

SUPPRESS_BELOW = 10
SENIOR_BANDS = frozenset({AgeBand.SENIOR_65_74.value, AgeBand.SENIOR_75_PLUS.value})
ROLE_MONTHS = 12  # a participation counts towards the role of this month and the next 11
CONVERSION_DAYS = 365
_PSEUDONYM_KEY = b"komagane-profiles-kpis-v1"
_EVENT_NAMESPACE = uuid.UUID("6f1d2c1e-7b0a-4c53-9a3e-0c6c8f4b5a10")

Summary = dict[str, Any]
Contribution = dict[str, dict[str, int]]  # month → counter → value
Totals = dict[str, int]


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


def count(state: dict[str, Any], body: EventModel) -> bool:
    """Fold one (already de-duplicated) event into the person's KPI summary; True if it changed."""
    summary: Summary = state.setdefault("kpi", new_summary())
    if isinstance(body, PersonRegistered):
        month = month_of(tokyo_date(body.registered_at))
        changed = bool(summary["band"] != body.age_band.value or summary["registered"] != month)
        summary["band"], summary["registered"] = body.age_band.value, month
        if body.residency_status is ResidencyStatus.RELATIONSHIP:
            changed |= _relationship(summary, month)
        return changed
    if isinstance(body, PersonUpdated):
        # Corrected to 関係人口 (or becoming one): counted from the month of the change.
        if body.residency_status is ResidencyStatus.RELATIONSHIP:
            return _relationship(summary, month_of(tokyo_date(body.updated_at)))
        return False
    if isinstance(body, RelationshipRegistered):
        return _relationship(summary, month_of(body.registered_on))
    if isinstance(body, HouseholdMovedIn):
        summary["moves"][body.move_id] = body.moved_in_on.isoformat()
        return True
    if isinstance(body, TrialStayCompleted):
        summary["trials"][body.stay_id] = body.completed_on.isoformat()
        return True
    if isinstance(body, MigrationCaseOpened):  # the funnel's first step: an inquiry
        inquiries: dict[str, str] = summary.setdefault("inquiries", {})
        changed = inquiries.get(body.case_id) != body.opened_on.isoformat()
        inquiries[body.case_id] = body.opened_on.isoformat()
        return changed
    if isinstance(body, ParticipantAttended):
        month = month_of(tokyo_date(body.attended_at))
        _bump(summary, month, "visits")
        if body.is_kayoinoba or body.category is ActivityCategory.KAYOINOBA:
            _bump(summary, month, "kayoinoba")
        return True
    if isinstance(body, HubVisited):
        _bump(summary, month_of(tokyo_date(body.visited_at)), "visits")
        return True
    if isinstance(body, SeminarAttended):
        _bump(summary, month_of(body.held_on), "seminars")
        return True
    if isinstance(body, HealthStationEnrolled):
        month = month_of(body.enrolled_on)
        if summary.get("station") is not None and summary["station"] <= month:
            return False
        summary["station"] = month  # the first enrolment counts
        return True
    return False


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


# --- city side -------------------------------------------------------------------------------

# Counters of a person's contribution to a month; the "*_people" ones are 0/1 per person.
PEOPLE_COUNTERS = (
    "hub_visitors",
    "profiled",
    "place",
    "role",
    "kayoinoba_65",
    "social_65",
    "seminar_people",
    "trial_people",
    "converted_people",
    "move_people",
    "inquiry_people",
    "registered_65",
    "relationship",
    "followed_up_people",
)


def contribution(summary: Mapping[str, Any]) -> Contribution:
    """What one person adds to each month's totals."""
    out: Contribution = {}

    def add(month: str, counter: str, value: int = 1) -> None:
        if value:
            cell = out.setdefault(month, {})
            cell[counter] = cell.get(counter, 0) + value

    senior = summary.get("band") in SENIOR_BANDS
    for month, cell in summary.get("months", {}).items():
        visits, seminars = cell.get("visits", 0), cell.get("seminars", 0)
        add(month, "hub_visits", visits)
        add(month, "hub_visitors", int(visits > 0))
        add(month, "seminar_attendances", seminars)
        add(month, "seminar_people", int(seminars > 0))
        for flag in ("profiled", "place", "role"):
            add(month, flag, cell.get(flag, 0))
        if senior:
            add(month, "kayoinoba_65", int(cell.get("kayoinoba", 0) > 0))
            add(month, "social_65", int(visits + seminars > 0))
    moves = sorted(date.fromisoformat(d) for d in summary.get("moves", {}).values())
    move_months: dict[str, int] = {}
    for moved_in in moves:
        move_months[month_of(moved_in)] = move_months.get(month_of(moved_in), 0) + 1
    for month, n in move_months.items():
        add(month, "moves", n)
        add(month, "move_people", 1)
    inquiry_months: dict[str, int] = {}
    for opened in summary.get("inquiries", {}).values():
        inquiry_months[opened[:7]] = inquiry_months.get(opened[:7], 0) + 1
    for month, n in inquiry_months.items():
        add(month, "inquiries", n)
        add(month, "inquiry_people", 1)
    trial_months: dict[str, list[int]] = {}
    for completed in sorted(summary.get("trials", {}).values()):
        day = date.fromisoformat(completed)
        moved = any(day <= m <= day + timedelta(days=CONVERSION_DAYS) for m in moves)
        trial_months.setdefault(month_of(day), []).append(int(moved))
    for month, outcomes in trial_months.items():
        add(month, "trial_stays", len(outcomes))
        add(month, "trial_people", 1)
        add(month, "converted_stays", sum(outcomes))
        add(month, "converted_people", int(any(outcomes)))
    if senior and summary.get("registered"):
        add(summary["registered"], "registered_65")
    if summary.get("relationship"):
        add(summary["relationship"], "relationship")
    if summary.get("station"):
        add(summary["station"], "station_enrolled")
    for month, bucket in summary.get("steps", {}).items():
        add(month, "step_walkers")
        add(month, f"steps_k{min(int(bucket), MAX_STEPS_BUCKET)}")
    followed_up = [month_of(date.fromisoformat(start)) for start in summary.get("followed_up", {})]  # followups.py
    for month in followed_up:
        add(month, "lapses_followed_up_14d")
    for month in set(followed_up):
        add(month, "followed_up_people")
    return out


MAX_STEPS_BUCKET = 30  # 30,000 steps a day and more share one bucket


CUMULATIVE = frozenset({"registered_65", "relationship", "station_enrolled"})


def apply_contribution(totals: dict[str, Totals], old: Contribution, new: Contribution) -> set[str]:
    """Replace a person's old contribution by the new one in `totals` (month → counters), in
    place; returns the months whose KPIs changed (later months too when a running total did)."""
    changed: set[str] = set()
    cumulative_from: str | None = None
    for month in set(old) | set(new):
        before, after = old.get(month, {}), new.get(month, {})
        for counter in set(before) | set(after):
            delta = after.get(counter, 0) - before.get(counter, 0)
            if not delta:
                continue
            cell = totals.setdefault(month, {})
            value = cell.get(counter, 0) + delta
            if value:
                cell[counter] = value
            else:
                cell.pop(counter, None)
            changed.add(month)
            if counter in CUMULATIVE and (cumulative_from is None or month < cumulative_from):
                cumulative_from = month
    if cumulative_from is not None:
        changed |= {m for m in totals if m >= cumulative_from}
    return changed


def city_kpis(month: str, totals: Mapping[str, Mapping[str, int]]) -> CityKpisUpdated:
    """The KPIs of `month` from the totals of every month (running totals need the earlier ones)."""
    t = totals.get(month, {})
    registered_65 = sum(m.get("registered_65", 0) for k, m in totals.items() if k <= month)
    relationship_population = sum(m.get("relationship", 0) for k, m in totals.items() if k <= month)
    station_enrolled = sum(m.get("station_enrolled", 0) for k, m in totals.items() if k <= month)
    suppressed: list[str] = []

    def cell(name: str, value: int, people: int) -> int | None:
        if people < SUPPRESS_BELOW:
            suppressed.append(name)
            return None
        return value

    def rate(name: str, numerator: int | None, denominator: int | None) -> float | None:
        if numerator is None or denominator is None or denominator == 0:
            suppressed.append(name)
            return None
        return round(numerator / denominator, 4)

    get = t.get
    kayoinoba = cell("kayoinoba_participants_65_plus", get("kayoinoba_65", 0), get("kayoinoba_65", 0))
    social = cell("social_participants_65_plus", get("social_65", 0), get("social_65", 0))
    registered = cell("registered_65_plus", registered_65, registered_65)
    completed = cell("trial_stays_completed", get("trial_stays", 0), get("trial_people", 0))
    moved = cell("trial_stays_moved_within_12m", get("converted_stays", 0), get("converted_people", 0))
    return CityKpisUpdated(
        month=month,
        hub_visits=cell("hub_visits", get("hub_visits", 0), get("hub_visitors", 0)),
        hub_visitors=cell("hub_visitors", get("hub_visitors", 0), get("hub_visitors", 0)),
        profiled_participants=cell("profiled_participants", get("profiled", 0), get("profiled", 0)),
        people_with_place=cell("people_with_place", get("place", 0), get("place", 0)),
        people_with_role=cell("people_with_role", get("role", 0), get("role", 0)),
        registered_65_plus=registered,
        kayoinoba_participants_65_plus=kayoinoba,
        kayoinoba_rate_65_plus=rate("kayoinoba_rate_65_plus", kayoinoba, registered),
        social_participants_65_plus=social,
        social_participation_share_65_plus=rate("social_participation_share_65_plus", social, registered),
        seminar_attendances=cell("seminar_attendances", get("seminar_attendances", 0), get("seminar_people", 0)),
        seminar_attendees=cell("seminar_attendees", get("seminar_people", 0), get("seminar_people", 0)),
        migration_inquiries=cell("migration_inquiries", get("inquiries", 0), get("inquiry_people", 0)),
        trial_stays_completed=completed,
        trial_stays_moved_within_12m=moved,
        migration_conversion=rate("migration_conversion", moved, completed),
        moves=cell("moves", get("moves", 0), get("move_people", 0)),
        relationship_registrations=cell("relationship_registrations", get("relationship", 0), get("relationship", 0)),
        relationship_population=cell("relationship_population", relationship_population, relationship_population),
        health_station_enrolments=cell("health_station_enrolments", get("station_enrolled", 0), get("station_enrolled", 0)),
        health_station_enrolled=cell("health_station_enrolled", station_enrolled, station_enrolled),
        step_walkers=cell("step_walkers", get("step_walkers", 0), get("step_walkers", 0)),
        median_daily_steps=cell("median_daily_steps", _median_steps(t), get("step_walkers", 0)),
        lapses_followed_up_within_14d=cell("lapses_followed_up_within_14d", get("lapses_followed_up_14d", 0), get("followed_up_people", 0)),
        suppressed=sorted(suppressed),
    )


def _median_steps(cell: Mapping[str, int]) -> int:
    """The median of the people's monthly step buckets, as the bucket's midpoint in steps."""
    walkers = cell.get("step_walkers", 0)
    seen = 0
    for bucket in range(MAX_STEPS_BUCKET + 1):
        seen += cell.get(f"steps_k{bucket}", 0)
        if walkers and 2 * seen >= walkers:
            return bucket * 1000 + 500
    return 0


def kpi_cloud_event(kpis: CityKpisUpdated) -> CloudEvent:
    """The KPIs as a CloudEvent whose id and time derive from its content: a replay re-emits
    byte-identical messages (time: the start of the month, Asia/Tokyo)."""
    body = kpis.model_dump_json().encode()
    event_id = str(uuid.uuid5(_EVENT_NAMESPACE, f"{kpis.month}:{hashlib.sha256(body).hexdigest()}"))
    start = datetime.fromisoformat(f"{kpis.month}-01T00:00:00+09:00").astimezone(UTC)
    return CloudEvent.of(kpis, time=start, event_id=event_id)
