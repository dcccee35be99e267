"""Pure folding of events into per-person state, and the profile derived from it.

What each event type does to a person's state is one entry of EVENT_HANDLERS (read it to see
which events a profile knows); `apply` looks the entry up once per event and runs it. The
state's typed rows and stored form are in state.py; applying an event twice is a no-op, so
redelivery after a crash changes nothing. Outputs are always rewritten from the state. Metrics
are computed as of the latest event time, never the wall clock, so a replay gives the same
profile.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any, NamedTuple

from komagane_contracts.envelope import CloudEvent
from komagane_contracts.events.base import EventModel
from komagane_contracts.events.care import LapseFollowedUp
from komagane_contracts.events.exchange import (
    HubVisited,
    MemberJoinedGroup,
    MemberLeftGroup,
    ParticipantAttended,
    VolunteerShiftCompleted,
)
from komagane_contracts.events.health import (
    DailyActivitySummarized,
    HealthDataConsentWithdrawn,
    HealthProgramCompleted,
    HealthProgramEnrolled,
    HealthStationEnrolled,
)
from komagane_contracts.events.housing import (
    HouseholdMovedIn,
    MigrationCaseOpened,
    MigrationStageChanged,
    RelationshipRegistered,
    ResidenceRelocated,
    SettlementConfirmed,
    TrialStayBooked,
    TrialStayCompleted,
    WorkationStayCompleted,
)
from komagane_contracts.events.jobs import (
    Arrangement,
    CooperatorCommissioned,
    CooperatorTermCompleted,
    EngagementEnded,
    EngagementStarted,
    SeminarAttended,
    SeminarTaught,
    ShiftWorked,
)
from komagane_contracts.events.people import ConsentGranted, ConsentWithdrawn, PersonRegistered, PersonUpdated
from komagane_contracts.events.profiles import Belonging, JourneyStep, Living, PersonProfileUpdated, Role
from komagane_contracts.vocabulary import Controller, Sensitivity
from komagane_kit.clock import tokyo_date
from komagane_profiles import followups, healthsignals, kpis
from komagane_profiles.holding import GATES, hold, holdable, set_withdrawn
from komagane_profiles.metrics import Participation, add_record, category_bands, has_record, places, regularity, roles
from komagane_profiles.state import State, Step, is_erased_state

SEEN_IDS_KEPT = 64  # per person; redelivery happens within a few messages, not hundreds
JOURNEY_KEPT = 20

Fold = Callable[[State, Any, CloudEvent], None]  # (state, event body, event): changes the state in place
RecordOf = Callable[[Any, str], Participation]  # (event body, event id): the history's record of it


class Handler(NamedTuple):
    """What the fold does with one event type."""

    fold: Fold
    record: RecordOf | None = None  # participation events: what the history keeps of one
    kpi: kpis.Counter | None = None  # what it adds to the person's KPI summary (kpis.py; not for S2)


def person_of(body: EventModel) -> str | None:
    """The person an event is about, or None for hub-, group- or session-level events."""
    person_id = getattr(body, "person_id", None)
    return str(person_id) if person_id else None


def apply(state: State, event: CloudEvent, flags_due: kpis.FlagsDue | None = None) -> bool:
    """Fold `event` into `state` in place; False when the event was already applied. With
    `flags_due`, the months whose KPI flags the event makes stale are left there to refresh
    later (once per batch) instead of at once.

    Applied events are recognised by the last SEEN_IDS_KEPT ids, and beyond those by the ids
    the history keeps (participation records, journey steps), so a redelivery of an older
    participation event is not counted twice either.
    """
    if event.id in state["seen"]:
        return False
    body = event.body()
    handler = EVENT_HANDLERS.get(type(body), _IGNORED)
    record = handler.record(body, event.id) if handler.record is not None else None
    if _in_history(state, record, event.id):
        return False
    handler.fold(state, body, event)
    if event.sensitivity is not Sensitivity.S2:
        # City KPIs count everyone's pillar events (aggregate only); S2 stays out here too.
        changed = kpis.count(state, body, handler.kpi) | followups.refresh_kpi(state)
        months = kpis.affected_months(body, record.day if record else None)
        if flags_due is None:
            changed |= kpis.refresh_flags(state, months)
        else:
            flags_due.add(months)
        if changed:
            state["kpi_rev"] = state.get("kpi_rev", 0) + 1
    state["version"] += 1
    state["updated_at"] = _later(state["updated_at"], event.time)
    state["seen"] = (state["seen"] + [event.id])[-SEEN_IDS_KEPT:]
    return True


def _in_history(state: State, record: Participation | None, event_id: str) -> bool:
    """Whether the history keeps this event already (a record's day follows from its event)."""
    if record is not None and has_record(state.get("participation", []), record):
        return True
    return any(s.event_id == event_id for s in state.get("journey", ()))


# --- people: registration, corrections, consents -------------------------------------------------


def _registered(state: State, body: PersonRegistered, event: CloudEvent) -> None:
    state["registration"] = {
        "age_band": body.age_band.value,
        "residency_status": body.residency_status.value,
        "preferred_language": body.preferred_language,
    }


def _updated(state: State, body: PersonUpdated, event: CloudEvent) -> None:
    # A correction or a move into the town: the current values replace the registered ones.
    registration = state.setdefault("registration", {})
    registration["residency_status"] = body.residency_status.value
    registration["preferred_language"] = body.preferred_language


def _consent_granted(state: State, body: ConsentGranted, event: CloudEvent) -> None:
    state["consents"] = sorted(set(state["consents"]) | {body.purpose})
    set_withdrawn(state, body.purpose, False)
    if body.purpose == "PROFILE":
        state["profile_since"] = event.time.isoformat()  # profiling starts at the opt-in
    elif body.purpose == "HEALTH":
        state["health_since"] = event.time.isoformat()
    if body.purpose in GATES:
        _release_held(state)


def _consent_withdrawn(state: State, body: ConsentWithdrawn, event: CloudEvent) -> None:
    state["consents"] = sorted(set(state["consents"]) - {body.purpose})
    set_withdrawn(state, body.purpose, True)
    if body.purpose == "PROFILE":
        # Derived data goes with the consent: nothing of the history is kept.
        for key in ("participation", "groups", "held_roles", "engagements", "journey", "profile_since", "health", "held", followups.KEY):
            state.pop(key, None)
    elif body.purpose == "HEALTH":
        healthsignals.withdraw(state)


def _release_held(state: State) -> None:
    """A consent arrived: fold what was held (holding.py; what still lacks a consent is held again)."""
    for held in state.pop("held", ()):
        event = CloudEvent(
            id=held.event_id,
            type=held.type,
            source=held.source,
            time=datetime.fromisoformat(held.at),
            data=held.data,
            sensitivity=Sensitivity(held.sensitivity),
            controller=Controller(held.controller),
        )
        body = event.body()
        EVENT_HANDLERS.get(type(body), _IGNORED).fold(state, body, event)


# --- participation, the housing journey, groups and roles: only for people who opted in ---------


def _profiled(change: Fold) -> Fold:
    """An event that enters the profile only with the person's PROFILE consent (held while it
    is missing), and only if it happened after the opt-in: topics are not ordered among each
    other, so something that happened before the opt-in may arrive after it, and must still
    stay out. Participation at support-specific activities (S2) is kept out of the profile
    until the HEALTH-consent rules for derived S2 signals are built (profiles issue)."""

    def fold(state: State, body: Any, event: CloudEvent) -> None:
        if event.sensitivity is Sensitivity.S2:
            return
        since = state.get("profile_since")
        if "PROFILE" not in state["consents"] or since is None:
            if holdable(state, "PROFILE"):
                hold(state, event, "PROFILE", event.data)  # the opt-in may be on its way
            return
        if event.time < datetime.fromisoformat(since):
            return  # no cross-pillar profiling without the person's opt-in
        change(state, body, event)

    return fold


def _participation(record_of: RecordOf, kpi: kpis.Counter | None = None) -> Handler:
    """A participation event: its record goes into the history (metrics.py)."""

    def add(state: State, body: Any, event: CloudEvent) -> None:
        add_record(state.setdefault("participation", []), record_of(body, event.id))

    return Handler(_profiled(add), record_of, kpi)


def _journey(step_of: Callable[[Any], tuple[str, date]], kpi: kpis.Counter | None = None) -> Handler:
    """A housing event: a step of the person's journey (the last JOURNEY_KEPT, in `_journey_order`)."""

    def add(state: State, body: Any, event: CloudEvent) -> None:
        step, on = step_of(body)
        journey = [s for s in state.get("journey", ()) if s.event_id != event.id]
        journey.append(Step(step, on.isoformat(), event.id, _utc(event.time)))
        state["journey"] = sorted(journey, key=_journey_order)[-JOURNEY_KEPT:]

    return Handler(_profiled(add), kpi=kpi)


def _keyed(part: str, key: Callable[[Any], str], value: Callable[[Any], str | None] | None) -> Handler:
    """Groups, held roles and engagements the profile shows: `value` set under `key` in the
    state's `part` (started), or the key gone (ended, `value` None)."""

    def change(state: State, body: Any, event: CloudEvent) -> None:
        entries = state.setdefault(part, {})
        if value is None:
            entries.pop(key(body), None)
        else:
            entries[key(body)] = value(body)

    return Handler(_profiled(change))


def _journey_order(step: Step) -> tuple[str, str, str]:
    """Oldest first: by the step's day, then by event time (steps of one day in the order they
    happened), then by event id, so that the order never depends on arrival."""
    return step.on, step.at, step.event_id


def _utc(time: datetime) -> str:
    """Event times as comparable strings (one offset for all)."""
    return time.astimezone(UTC).isoformat() if time.tzinfo else time.isoformat()


def _shift(body: ShiftWorked, event_id: str) -> Participation:
    mode = "VOLUNTEER" if body.arrangement is Arrangement.VOLUNTEER else "WORK"
    place = f"hub:{body.hub_id}" if body.hub_id else f"engagement:{body.engagement_id}"
    return Participation(body.worked_on, place, mode, mode, body.hours, event_id)


def _unchanged(state: State, body: Any, event: CloudEvent) -> None:
    """Nothing of the event enters the profile (it may still count for the KPIs)."""


_IGNORED = Handler(_unchanged)

# Every event type that changes a person's state, with what it changes: the profile's part
# (`fold`), the history's record (`record`) and the KPI summary (`kpi`). Any other type
# changes only the state's version (and gives the person a KPI summary, kpis.count).
EVENT_HANDLERS: dict[type[EventModel], Handler] = {
    # people: never held, whatever the consents
    PersonRegistered: Handler(_registered, kpi=kpis.registered),
    PersonUpdated: Handler(_updated, kpi=kpis.updated),
    RelationshipRegistered: Handler(_unchanged, kpi=kpis.relationship_registered),
    ConsentGranted: Handler(_consent_granted),
    ConsentWithdrawn: Handler(_consent_withdrawn),
    HealthDataConsentWithdrawn: Handler(lambda state, body, event: healthsignals.withdraw(state)),
    LapseFollowedUp: Handler(lambda state, body, event: followups.apply(state, body)),
    # health signals (S2-derived): with PROFILE and HEALTH consent, coarse (healthsignals.py)
    HealthStationEnrolled: Handler(healthsignals.signal(healthsignals.station_enrolled), kpi=kpis.station_enrolled),
    HealthProgramEnrolled: Handler(healthsignals.signal(healthsignals.program_enrolled)),
    HealthProgramCompleted: Handler(healthsignals.signal(healthsignals.program_completed)),
    DailyActivitySummarized: Handler(healthsignals.signal(healthsignals.daily_activity, evidence=False)),
    # participation (exchange, jobs): a record in the history
    ParticipantAttended: _participation(
        lambda b, event_id: Participation(tokyo_date(b.attended_at), f"hub:{b.hub_id}", b.category.value, b.mode.value, 0.0, event_id),
        kpi=kpis.attended,
    ),
    HubVisited: _participation(lambda b, event_id: Participation(tokyo_date(b.visited_at), f"hub:{b.hub_id}", None, "ATTEND", 0.0, event_id), kpi=kpis.visited),
    VolunteerShiftCompleted: _participation(
        lambda b, event_id: Participation(b.worked_on, f"hub:{b.hub_id}" if b.hub_id else "volunteering", "VOLUNTEER", "VOLUNTEER", b.hours, event_id)
    ),
    ShiftWorked: _participation(_shift),
    SeminarTaught: _participation(lambda b, event_id: Participation(b.held_on, f"seminar:{b.seminar_id}", "SKILL_TEACHING", "TEACH", b.hours, event_id)),
    SeminarAttended: _participation(
        lambda b, event_id: Participation(b.held_on, f"seminar:{b.seminar_id}", "STUDY_CULTURE", "LEARN", 0.0, event_id), kpi=kpis.seminar_attended
    ),
    # the housing journey
    TrialStayBooked: _journey(lambda b: ("TRIAL_STAY_BOOKED", b.check_in)),
    TrialStayCompleted: _journey(lambda b: ("TRIAL_STAY_COMPLETED", b.completed_on), kpi=kpis.trial_stay_completed),
    MigrationCaseOpened: _journey(lambda b: (f"MIGRATION_{b.stage.value}", b.opened_on), kpi=kpis.inquiry),
    MigrationStageChanged: _journey(lambda b: (f"MIGRATION_{b.stage.value}", b.occurred_on)),
    HouseholdMovedIn: _journey(lambda b: ("MOVED_IN", b.moved_in_on), kpi=kpis.moved_in),
    SettlementConfirmed: _journey(lambda b: ("SETTLED", b.confirmed_on)),
    ResidenceRelocated: _journey(lambda b: ("RELOCATED", b.relocated_on)),
    WorkationStayCompleted: _journey(lambda b: ("WORKATION", b.ended_on)),
    # what the profile shows besides participation and the journey
    MemberJoinedGroup: _keyed("groups", lambda b: b.group_id, lambda b: b.officer_role),
    MemberLeftGroup: _keyed("groups", lambda b: b.group_id, None),
    CooperatorCommissioned: _keyed("held_roles", lambda b: b.cooperator_id, lambda b: "COOPERATOR"),
    CooperatorTermCompleted: _keyed("held_roles", lambda b: b.cooperator_id, None),
    EngagementStarted: _keyed("engagements", lambda b: b.engagement_id, lambda b: b.arrangement.value),
    EngagementEnded: _keyed("engagements", lambda b: b.engagement_id, None),
}


def _later(current: str | None, time: datetime) -> str:
    """The later of the two moments, as stored (a tie keeps the current one)."""
    if current is None or time > datetime.fromisoformat(current):
        return time.isoformat()
    return current


def profile_of(state: State) -> PersonProfileUpdated | None:
    """The profile to publish, or None when the person has not opted in (PROFILE consent)."""
    if is_erased_state(state) or "PROFILE" not in state["consents"]:
        return None
    registration = state.get("registration", {})
    updated_at = datetime.fromisoformat(state["updated_at"])
    as_of = tokyo_date(updated_at)
    history: list[Participation] = state.get("participation", [])
    groups: dict[str, str | None] = state.get("groups", {})
    journey: list[Step] = state.get("journey", [])
    return PersonProfileUpdated(
        person_id=state["person_id"],
        version=state["version"],
        age_band=registration.get("age_band"),
        residency_status=registration.get("residency_status"),
        preferred_language=registration.get("preferred_language"),
        consents=state["consents"],
        updated_at=updated_at,
        as_of=as_of,
        belonging=_belonging(history, groups, as_of),
        role=_role(state, history, groups, as_of),
        living=Living(journey=[JourneyStep(step=s.step, on=date.fromisoformat(s.on), event_id=s.event_id) for s in journey]),
        health=healthsignals.signals(state, as_of),
    )


def _belonging(history: list[Participation], groups: dict[str, str | None], as_of: date) -> Belonging:
    held = places(history, as_of)
    return Belonging(
        places=sorted(held),
        regularity_12w=regularity(history, as_of),
        category_bands=category_bands(history, as_of),
        groups=sorted(groups),
        last_participation=max((r.day for r in history), default=None),
        explanations=held,
    )


def _role(state: State, history: list[Participation], groups: dict[str, str | None], as_of: date) -> Role:
    summary = roles(history, as_of, officer_roles=[role for role in groups.values() if role])
    held: dict[str, str] = state.get("held_roles", {})
    engagements: dict[str, str] = state.get("engagements", {})
    return Role(
        role_types=sorted(set(summary.role_types) | set(held.values())),
        work_status=sorted(engagements.values())[0] if engagements else None,
        contribution_hours_this_month=summary.contribution_hours_this_month,
        contribution_ratio_90d=summary.contribution_ratio_90d,
        reciprocity_90d=summary.reciprocity_90d,
        explanations=summary.evidence,
    )


def is_profile_withdrawal(event: CloudEvent) -> bool:
    return event.type == ConsentWithdrawn.event_type and event.data.get("purpose") == "PROFILE"
