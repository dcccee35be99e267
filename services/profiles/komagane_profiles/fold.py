"""Pure folding of events into per-person state, and the profile derived from it.

State is a dict kept parsed in memory while it is folded (its participation history as
`Participation` records) and stored compactly as JSON bytes in a faust table (`encode_state`,
`decode_state`); applying an event twice is a no-op, so redelivery after a crash changes nothing. Outputs are always rewritten from the state. Metrics
are computed as of the latest event time, never the wall clock, so a replay gives the same
profile.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from statistics import median
from typing import Any

import orjson

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
from komagane_contracts.events.profiles import Belonging, HealthSignals, JourneyStep, Living, PersonProfileUpdated, Role
from komagane_contracts.vocabulary import Controller, Sensitivity
from komagane_kit.clock import tokyo_date
from komagane_kit.erasure import erasure_digest
from komagane_profiles import followups, kpis
from komagane_profiles.metrics import Participation, add_record, category_bands, from_rows, has_record, places, regularity, roles, to_rows

State = dict[str, Any]
SEEN_IDS_KEPT = 64  # per person; redelivery happens within a few messages, not hundreds

# Topics are not ordered among each other: a visit or a health upload made just after the opt-in
# can reach the processor before the consent does (by milliseconds, or much later when one input
# partition lags behind another). Such an event is held in the person's state and folded when
# the consent arrives, if it happened after it, so the order of arrival never changes a profile.
# Held are at most HELD_MAX events, none more than HELD_SECONDS older than the newest of them
# (event times: a person who never opts in keeps at most an hour of their latest activity here);
# they are never profiled nor published, and the same events stay on the input topics anyway.
# Nothing is held for a consent the person withdrew (until they give it again), and a
# withdrawal drops what it gates.
HELD_MAX = 64
HELD_SECONDS = 3600


# An erased person's state is replaced by this marker, stored under `erasure_key` instead of the
# person id (the state table's changelog is a compacted topic: nothing there may hold the id).
ERASED_KEY_PREFIX = "erased:"


def erasure_key(person_id: str) -> str:
    return ERASED_KEY_PREFIX + erasure_digest(person_id)


def erased_state() -> State:
    return {"erased": True}


def is_erased_state(state: State) -> bool:
    return bool(state.get("erased"))


def new_state(person_id: str) -> State:
    return {"person_id": person_id, "version": 0, "consents": [], "seen": [], "updated_at": None}


def encode_state(state: State) -> bytes:
    """The table value: compact JSON, the history as rows."""
    stored = dict(state)
    if "participation" in stored:
        stored["participation"] = to_rows(stored["participation"])
    return orjson.dumps(stored)  # compact UTF-8, like json.dumps(separators=(",", ":"), ensure_ascii=False)


def decode_state(raw: bytes | str | dict[str, Any]) -> State:
    """The in-memory state from a table value (bytes, or a dict from before states were bytes)."""
    state: State = orjson.loads(raw) if isinstance(raw, bytes | str) else dict(raw)
    if "participation" in state:
        state["participation"] = from_rows(state["participation"])
    return state


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
    record = _participation(body, event.id)  # what the history would keep of it, if anything
    if _in_history(state, record, event.id):
        return False
    if isinstance(body, PersonRegistered | PersonUpdated | ConsentGranted | ConsentWithdrawn):
        _apply_people(state, body)
        if isinstance(body, ConsentGranted) and body.purpose == "PROFILE":
            state["profile_since"] = event.time.isoformat()  # profiling starts at the opt-in
        if isinstance(body, ConsentGranted) and body.purpose == "HEALTH":
            state["health_since"] = event.time.isoformat()
        if isinstance(body, ConsentGranted) and body.purpose in ("PROFILE", "HEALTH"):
            _release_held(state)
    elif isinstance(body, HealthDataConsentWithdrawn):
        _withdraw_health(state)
    elif isinstance(body, LapseFollowedUp):
        followups.apply(state, body)
    else:
        _apply_gated(state, body, event)
    if event.sensitivity is not Sensitivity.S2:
        # City KPIs count everyone's pillar events (aggregate only); S2 stays out here too.
        changed = kpis.count(state, body) | followups.refresh_kpi(state)
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


def _apply_gated(state: State, body: EventModel, event: CloudEvent) -> None:
    """An event that enters the profile only with the person's consent (held while it is missing)."""
    if isinstance(body, HEALTH_SIGNAL_EVENTS):
        _apply_health(state, body, event)
    elif event.sensitivity is not Sensitivity.S2:
        # Participation at support-specific activities (S2) is kept out of the profile until
        # the HEALTH-consent rules for derived S2 signals are built (profiles issue).
        _apply_exchange(state, body, event)


def _hold(state: State, event: CloudEvent, gate: str) -> None:
    """Keep `event` until the consent `gate` names arrives (see HELD_MAX), oldest first, as
    [event time (UTC, ISO 8601: ordered as text), gate, id, type, source, sensitivity,
    controller, data]: what folding it needs, no more. A redelivery is kept once."""
    at = event.time.astimezone(UTC)
    entry = [at.isoformat(), gate, event.id, event.type, event.source, event.sensitivity.value, event.controller.value, _coarse(event)]
    held: list[list[Any]] = [h for h in state.get("held", ()) if h[2] != event.id]
    held.append(entry)
    if len(held) > 1 and held[-2][0] > entry[0]:
        held.sort(key=lambda h: str(h[0]))  # arrived out of time order
    horizon = (datetime.fromisoformat(held[-1][0]) - timedelta(seconds=HELD_SECONDS)).isoformat()
    state["held"] = [h for h in held if h[0] >= horizon][-HELD_MAX:]


def _coarse(event: CloudEvent) -> dict[str, Any]:
    """The event's data as coarse as the profile keeps it: a day's steps only in thousands and no
    walking minutes, so a raw health value is never stored outside the health service."""
    body = event.body()
    if isinstance(body, DailyActivitySummarized):
        return event.data | {"steps": body.steps // STEPS_BUCKET * STEPS_BUCKET, "brisk_walk_minutes": 0}
    return event.data


def _release_held(state: State) -> None:
    """A consent arrived: fold what was held (what still lacks a consent is held again)."""
    for at, _, event_id, event_type, source, sensitivity, controller, data in state.pop("held", ()):
        event = CloudEvent(
            id=event_id,
            type=event_type,
            source=source,
            time=datetime.fromisoformat(at),
            data=data,
            sensitivity=Sensitivity(sensitivity),
            controller=Controller(controller),
        )
        _apply_gated(state, event.body(), event)


def _set_withdrawn(state: State, purpose: str, withdrawn: bool) -> None:
    """Which gating consents the person withdrew (and has not given again): nothing is held for those."""
    if purpose not in ("PROFILE", "HEALTH"):
        return
    purposes = set(state.get("withdrawn", ())) - {purpose} | ({purpose} if withdrawn else set())
    if purposes:
        state["withdrawn"] = sorted(purposes)
    else:
        state.pop("withdrawn", None)


def _holdable(state: State, gate: str) -> bool:
    return not {gate, "PROFILE"} & set(state.get("withdrawn", ()))


def _drop_held(state: State, gate: str) -> None:
    held = [h for h in state.pop("held", ()) if h[1] != gate]
    if held:
        state["held"] = held


def _in_history(state: State, record: Participation | None, event_id: str) -> bool:
    """Whether the history keeps this event already (a record's day follows from its event)."""
    if record is not None and has_record(state.get("participation", []), record):
        return True
    return any(s[2] == event_id for s in state.get("journey", ()))


def _apply_people(state: State, body: EventModel) -> None:
    consents: set[str] = set(state["consents"])
    if isinstance(body, PersonRegistered):
        state["registration"] = {
            "age_band": body.age_band.value,
            "residency_status": body.residency_status.value,
            "preferred_language": body.preferred_language,
        }
    elif isinstance(body, PersonUpdated):
        # A correction or a move into the town: the current values replace the registered ones.
        registration = state.setdefault("registration", {})
        registration["residency_status"] = body.residency_status.value
        registration["preferred_language"] = body.preferred_language
    elif isinstance(body, ConsentGranted):
        consents.add(body.purpose)
        _set_withdrawn(state, body.purpose, False)
    elif isinstance(body, ConsentWithdrawn):
        consents.discard(body.purpose)
        _set_withdrawn(state, body.purpose, True)
        if body.purpose == "PROFILE":
            # Derived data goes with the consent: nothing of the history is kept.
            for key in ("participation", "groups", "held_roles", "engagements", "journey", "profile_since", "health", "held", followups.KEY):
                state.pop(key, None)
        if body.purpose == "HEALTH":
            _withdraw_health(state)
            return
    state["consents"] = sorted(consents)


# --- health signals (S2-derived: only with PROFILE and HEALTH consent, and coarse) -------------

HEALTH_SIGNAL_EVENTS = (HealthStationEnrolled, HealthProgramEnrolled, HealthProgramCompleted, DailyActivitySummarized)
STEP_DAYS_KEPT = 62  # two months of daily step buckets: the 28-day band and the month's KPIs
STEPS_BUCKET = 1000  # steps are kept only as thousands (the bands' limits are multiples of it)
STEPS_BANDS = ((8, "8000+"), (5, "5000-7999"), (2, "2000-4999"), (0, "<2000"))


def _withdraw_health(state: State) -> None:
    """HEALTH consent ended: everything derived from health data goes (the next profile has none)."""
    state["consents"] = [c for c in state["consents"] if c != "HEALTH"]
    _set_withdrawn(state, "HEALTH", True)
    for key in ("health", "health_since"):
        state.pop(key, None)
    _drop_held(state, "HEALTH")
    kpis.forget_health(state)


def health_allowed(state: State, time: datetime) -> bool:
    """Both consents, and the event is from after both were given."""
    if not {"PROFILE", "HEALTH"} <= set(state["consents"]):
        return False
    since = [state.get("profile_since"), state.get("health_since")]
    return all(s is not None and time >= datetime.fromisoformat(s) for s in since)


def _apply_health(state: State, body: EventModel, event: CloudEvent) -> None:
    if not {"PROFILE", "HEALTH"} <= set(state["consents"]):
        if _holdable(state, "HEALTH"):
            _hold(state, event, "HEALTH")  # the consents may be on their way
        return
    if not health_allowed(state, event.time):
        return
    health = state.setdefault("health", {"station": None, "programs": {}, "steps": {}, "evidence": []})
    if isinstance(body, HealthStationEnrolled):
        health["station"] = body.enrolled_on.isoformat()
    elif isinstance(body, HealthProgramEnrolled):
        previous = health["programs"].get(body.program_id)
        health["programs"][body.program_id] = [body.kind.value, previous[1] if previous else None]
    elif isinstance(body, HealthProgramCompleted):
        health["programs"][body.program_id] = [body.kind.value, body.completed_on.isoformat()]
    elif isinstance(body, DailyActivitySummarized):
        steps: dict[str, int] = health["steps"]
        steps[body.day.isoformat()] = body.steps // STEPS_BUCKET  # a replaced day replaces its bucket
        latest = max(date.fromisoformat(d) for d in steps)
        horizon = (latest - timedelta(days=STEP_DAYS_KEPT)).isoformat()
        health["steps"] = {d: k for d, k in sorted(steps.items()) if d >= horizon}
        kpis.count_steps(state, health["steps"], body.day)
        return  # no evidence list for daily data: it would only repeat the days
    health["evidence"] = (health["evidence"] + [event.id])[-5:]


def _health(state: State, as_of: date) -> HealthSignals | None:
    if not {"PROFILE", "HEALTH"} <= set(state["consents"]):
        return None
    health = state.get("health") or {"station": None, "programs": {}, "steps": {}, "evidence": []}
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


def _apply_exchange(state: State, body: EventModel, event: CloudEvent) -> None:
    """Participation (exchange, jobs) and the housing journey, only for people who opted in.

    By event time: topics are not ordered among each other, so something that happened before
    the opt-in may arrive after it, and must still stay out.
    """
    since = state.get("profile_since")
    if "PROFILE" not in state["consents"] or since is None:
        profiled = _participation(body, event.id) is not None or _journey_step(body) is not None or isinstance(body, PROFILED_STATE_EVENTS)
        if profiled and _holdable(state, "PROFILE"):
            _hold(state, event, "PROFILE")  # the opt-in may be on its way
        return
    if event.time < datetime.fromisoformat(since):
        return  # no cross-pillar profiling without the person's opt-in
    event_id = event.id
    record = _participation(body, event_id)
    if isinstance(body, MemberJoinedGroup):
        state.setdefault("groups", {})[body.group_id] = body.officer_role
    elif isinstance(body, MemberLeftGroup):
        state.setdefault("groups", {}).pop(body.group_id, None)
    elif isinstance(body, CooperatorCommissioned):
        state.setdefault("held_roles", {})[body.cooperator_id] = "COOPERATOR"
    elif isinstance(body, CooperatorTermCompleted):
        state.setdefault("held_roles", {}).pop(body.cooperator_id, None)
    elif isinstance(body, EngagementStarted):
        state.setdefault("engagements", {})[body.engagement_id] = body.arrangement.value
    elif isinstance(body, EngagementEnded):
        state.setdefault("engagements", {}).pop(body.engagement_id, None)
    step = _journey_step(body)
    if step is not None:
        journey = [s for s in state.get("journey", []) if s[2] != event_id] + [[step[0], step[1].isoformat(), event_id, _utc(event.time)]]
        state["journey"] = sorted(journey, key=_journey_order)[-20:]
    if record is not None:
        add_record(state.setdefault("participation", []), record)


# Events that change what the profile shows besides participation and the journey.
PROFILED_STATE_EVENTS = (MemberJoinedGroup, MemberLeftGroup, CooperatorCommissioned, CooperatorTermCompleted, EngagementStarted, EngagementEnded)


def _participation(body: EventModel, event_id: str) -> Participation | None:
    if isinstance(body, ParticipantAttended):
        return Participation(tokyo_date(body.attended_at), f"hub:{body.hub_id}", body.category.value, body.mode.value, 0.0, event_id)
    if isinstance(body, HubVisited):
        return Participation(tokyo_date(body.visited_at), f"hub:{body.hub_id}", None, "ATTEND", 0.0, event_id)
    if isinstance(body, VolunteerShiftCompleted):
        place = f"hub:{body.hub_id}" if body.hub_id else "volunteering"
        return Participation(body.worked_on, place, "VOLUNTEER", "VOLUNTEER", body.hours, event_id)
    if isinstance(body, ShiftWorked):
        mode = "VOLUNTEER" if body.arrangement is Arrangement.VOLUNTEER else "WORK"
        place = f"hub:{body.hub_id}" if body.hub_id else f"engagement:{body.engagement_id}"
        return Participation(body.worked_on, place, mode, mode, body.hours, event_id)
    if isinstance(body, SeminarTaught):
        return Participation(body.held_on, f"seminar:{body.seminar_id}", "SKILL_TEACHING", "TEACH", body.hours, event_id)
    if isinstance(body, SeminarAttended):
        return Participation(body.held_on, f"seminar:{body.seminar_id}", "STUDY_CULTURE", "LEARN", 0.0, event_id)
    return None


def _journey_order(step: list[str]) -> tuple[str, str, str]:
    """Oldest first: by the step's day, then by event time (steps of one day in the order they
    happened), then by event id, so that the order never depends on arrival. Steps kept before
    the event time was stored sort first within their day."""
    return step[1], step[3] if len(step) > 3 else "", step[2]


def _utc(time: datetime) -> str:
    """Event times as comparable strings (one offset for all)."""
    return time.astimezone(UTC).isoformat() if time.tzinfo else time.isoformat()


def _journey_step(body: EventModel) -> tuple[str, date] | None:
    if isinstance(body, TrialStayBooked):
        return "TRIAL_STAY_BOOKED", body.check_in
    if isinstance(body, TrialStayCompleted):
        return "TRIAL_STAY_COMPLETED", body.completed_on
    if isinstance(body, MigrationCaseOpened):
        return f"MIGRATION_{body.stage.value}", body.opened_on
    if isinstance(body, MigrationStageChanged):
        return f"MIGRATION_{body.stage.value}", body.occurred_on
    if isinstance(body, HouseholdMovedIn):
        return "MOVED_IN", body.moved_in_on
    if isinstance(body, SettlementConfirmed):
        return "SETTLED", body.confirmed_on
    if isinstance(body, ResidenceRelocated):
        return "RELOCATED", body.relocated_on
    if isinstance(body, WorkationStayCompleted):
        return "WORKATION", body.ended_on
    return None


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
        living=Living(journey=[JourneyStep(step=s[0], on=date.fromisoformat(s[1]), event_id=s[2]) for s in state.get("journey", [])]),
        health=_health(state, as_of),
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
