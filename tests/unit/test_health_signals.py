"""Coarse health signals in the profile (PROFILE and HEALTH consent only) and health KPIs."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from komagane_contracts.envelope import CloudEvent
from komagane_contracts.events.base import EventModel
from komagane_contracts.events.health import (
    DailyActivitySummarized,
    HealthDataConsentWithdrawn,
    HealthProgramCompleted,
    HealthProgramEnrolled,
    HealthProgramKind,
    HealthStationEnrolled,
)
from komagane_contracts.events.people import ConsentGranted, ConsentWithdrawn, PersonRegistered
from komagane_contracts.vocabulary import AgeBand, ResidencyStatus
from komagane_profiles.fold import apply, profile_of
from komagane_profiles.pipeline import Replay
from komagane_profiles.state import encode_state, new_state

T0 = datetime(2026, 5, 1, 1, tzinfo=UTC)
LATER = 20 * 24 * 60  # minutes: health data is sent days after the days it describes
STEPS = 97_531  # distinctive: it must never be stored as such


def at(body: EventModel, minutes: int) -> CloudEvent:
    return CloudEvent.of(body, time=T0 + timedelta(minutes=minutes))


def person_events(person: str, *, health: bool = True) -> list[CloudEvent]:
    body = PersonRegistered(
        person_id=person, age_band=AgeBand.SENIOR_65_74, residency_status=ResidencyStatus.RESIDENT, preferred_language="ja", lives_alone=False, registered_at=T0
    )
    events = [at(body, 0), at(ConsentGranted(person_id=person, purpose="PROFILE", granted_at=T0), 1)]  # fmt: skip
    if health:
        events.append(at(ConsentGranted(person_id=person, purpose="HEALTH", granted_at=T0), 2))
    return events


def health_events(person: str, steps: int = 6_400) -> list[CloudEvent]:
    day = date(2026, 5, 10)
    events = [
        at(HealthStationEnrolled(person_id=person, group_id="g1", enrolled_on=day), LATER + 10),
        at(HealthProgramEnrolled(person_id=person, program_id="walk", kind=HealthProgramKind.WALKING_CLUB, enrolled_on=day), LATER + 11),
        at(HealthProgramEnrolled(person_id=person, program_id="food", kind=HealthProgramKind.FOOD_HEALTH_STAY, enrolled_on=day), LATER + 12),
        at(
            HealthProgramCompleted(person_id=person, program_id="food", kind=HealthProgramKind.FOOD_HEALTH_STAY, completed_on=day, points_awarded=5), LATER + 13
        ),
    ]
    for n in range(5):
        events.append(
            at(
                DailyActivitySummarized(person_id=person, day=day + timedelta(days=n), steps=steps + 100 * n, brisk_walk_minutes=20, replaced=False),
                LATER + 20 + n,
            )
        )
    return events


def folded(events: list[CloudEvent]) -> dict[str, Any]:
    state = new_state("p")
    for event in events:
        apply(state, event)
    return state


def test_coarse_signals_only_with_both_consents_and_never_a_step_count() -> None:
    state = folded(person_events("p") + health_events("p", steps=STEPS))
    profile = profile_of(state)
    assert profile is not None and profile.health is not None
    assert profile.health.station_enrolled and profile.health.programs_active == ["WALKING_CLUB"]
    assert profile.health.programs_completed_12m == 1 and profile.health.steps_band_28d == "8000+"
    assert str(STEPS) not in encode_state(state).decode() and str(STEPS) not in profile.model_dump_json()

    only_profile = profile_of(folded(person_events("p", health=False) + health_events("p")))
    assert only_profile is not None and only_profile.health is None


def test_withdrawing_health_consent_removes_the_signals_and_rewrites_the_profile() -> None:
    for withdrawal in (
        ConsentWithdrawn(person_id="p", purpose="HEALTH", withdrawn_at=T0),
        HealthDataConsentWithdrawn(person_id="p", withdrawn_at=T0),
    ):
        state = folded(person_events("p") + health_events("p"))
        before = profile_of(state)
        assert before is not None and before.health is not None
        apply(state, at(withdrawal, LATER + 60))
        after = profile_of(state)
        assert after is not None and after.health is None and after.version == before.version + 1
        assert "health" not in state and "HEALTH" not in after.consents
        assert "steps" not in state["kpi"]
        # Health data arriving after the withdrawal stays out.
        apply(state, at(DailyActivitySummarized(person_id="p", day=date(2026, 5, 20), steps=3000, brisk_walk_minutes=1, replaced=False), LATER + 61))
        assert "health" not in state


def test_health_kpis_count_enrolment_and_the_median_of_monthly_steps_suppressing_small_cells() -> None:
    def city(people: int) -> dict[str, Any]:
        events = []
        for i in range(people):
            events += person_events(f"p{i}") + health_events(f"p{i}", steps=1_000 * (i % 10) + 200)
        replay = Replay()
        replay.feed_all((e.value(), e.headers()) for e in events)
        return replay.city_kpis()["2026-05"].model_dump()

    nine = city(9)
    assert nine["health_station_enrolments"] is None and nine["median_daily_steps"] is None
    assert {"health_station_enrolments", "step_walkers", "median_daily_steps"} <= set(nine["suppressed"])
    ten = city(10)
    assert (ten["health_station_enrolments"], ten["health_station_enrolled"], ten["step_walkers"]) == (10, 10, 10)
    assert ten["median_daily_steps"] == 4_500  # buckets 0..9 thousand: the 5th of 10 is 4 (4,000–4,999)


def test_health_data_that_arrives_before_the_consents_is_profiled_when_they_arrive() -> None:
    people, health = person_events("p"), health_events("p")
    in_order = folded(people + health)
    consents_last = folded(health + people)
    assert "held" not in consents_last
    assert profile_of(consents_last) == profile_of(in_order)
    assert consents_last["kpi"] == in_order["kpi"]


def test_no_health_data_waits_once_the_consent_was_withdrawn() -> None:
    state = folded(person_events("p") + [at(ConsentWithdrawn(person_id="p", purpose="HEALTH", withdrawn_at=T0), 5)])
    apply(state, at(DailyActivitySummarized(person_id="p", day=date(2026, 5, 20), steps=3000, brisk_walk_minutes=1, replaced=False), LATER))
    assert "held" not in state and "health" not in state


def test_health_data_waiting_for_the_opt_in_is_kept_only_as_coarse_as_the_profile_keeps_it() -> None:
    registration, profile, health = person_events("p")
    state = folded([registration, health] + health_events("p", steps=STEPS))  # HEALTH given, PROFILE not yet
    assert state["held"] and str(STEPS) not in encode_state(state).decode()
    apply(state, profile)
    shown = profile_of(state)
    assert shown is not None and shown.health is not None and shown.health.steps_band_28d == "8000+"
    assert str(STEPS) not in encode_state(state).decode()
