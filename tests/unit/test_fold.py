"""Folding people events into profile state: idempotent, and withdrawal erases the profile."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from komagane_contracts.envelope import CloudEvent
from komagane_contracts.events.people import ConsentGranted, ConsentWithdrawn, PersonRegistered
from komagane_contracts.vocabulary import AgeBand, ResidencyStatus
from komagane_profiles.fold import apply, profile_of
from komagane_profiles.state import new_state

T0 = datetime(2026, 5, 1, 10, 0, tzinfo=UTC)


def events() -> list[CloudEvent]:
    return [
        CloudEvent.of(
            PersonRegistered(
                person_id="p", age_band=AgeBand.SENIOR_65_74, residency_status=ResidencyStatus.RELATIONSHIP,
                preferred_language="pt-BR", lives_alone=False, registered_at=T0,
            ),
            time=T0,
        ),
        CloudEvent.of(ConsentGranted(person_id="p", purpose="PROFILE", granted_at=T0), time=T0 + timedelta(minutes=1)),
    ]  # fmt: skip


def test_profile_exists_only_with_profile_consent() -> None:
    state = new_state("p")
    registration, consent = events()
    assert apply(state, registration)
    assert profile_of(state) is None
    assert apply(state, consent)
    profile = profile_of(state)
    assert profile is not None
    assert (profile.version, profile.age_band, profile.residency_status, profile.consents) == (
        2,
        AgeBand.SENIOR_65_74,
        ResidencyStatus.RELATIONSHIP,
        ["PROFILE"],
    )
    assert profile.updated_at == T0 + timedelta(minutes=1)


def test_redelivered_event_changes_nothing() -> None:
    state = new_state("p")
    for event in events():
        apply(state, event)
    snapshot = dict(state)
    redelivered = replace(events()[0], id=state["seen"][0])
    assert not apply(state, redelivered)
    assert state == snapshot


def test_an_older_participation_event_redelivered_past_the_seen_ids_changes_nothing() -> None:
    from komagane_contracts.events.exchange import HubVisited
    from komagane_profiles.fold import SEEN_IDS_KEPT

    state = new_state("p")
    for event in events():
        apply(state, event)
    visits = [
        CloudEvent.of(
            HubVisited(person_id="p", visit_id=f"v{n}", hub_id="h", visited_at=T0 + timedelta(days=1, minutes=n)), time=T0 + timedelta(days=1, minutes=n)
        )
        for n in range(SEEN_IDS_KEPT + 10)
    ]
    for visit in visits:
        assert apply(state, visit)
    assert visits[0].id not in state["seen"]
    version, kpi = state["version"], repr(state["kpi"])
    assert not apply(state, visits[0])
    assert (state["version"], repr(state["kpi"])) == (version, kpi)


def test_withdrawal_removes_the_profile_and_regrant_restores_it() -> None:
    state = new_state("p")
    for event in events():
        apply(state, event)
    apply(state, CloudEvent.of(ConsentWithdrawn(person_id="p", purpose="PROFILE", withdrawn_at=T0), time=T0 + timedelta(minutes=2)))
    assert profile_of(state) is None
    apply(state, CloudEvent.of(ConsentGranted(person_id="p", purpose="PROFILE", granted_at=T0), time=T0 + timedelta(minutes=3)))
    profile = profile_of(state)
    assert profile is not None and profile.version == 4


def test_out_of_order_event_time_never_moves_updated_at_back() -> None:
    state = new_state("p")
    registration, consent = events()
    apply(state, consent)
    apply(state, registration)
    assert state["updated_at"] == (T0 + timedelta(minutes=1)).isoformat()


def test_participation_before_the_opt_in_stays_out_even_when_it_arrives_later() -> None:
    from komagane_contracts.events.exchange import VolunteerShiftCompleted

    state = new_state("p")
    for event in events():  # registered at T0, PROFILE granted at T0 + 1 min
        apply(state, event)

    def shift(minutes: int, hours: float) -> CloudEvent:
        body = VolunteerShiftCompleted(person_id="p", shift_id=f"s{minutes}", worked_on=T0.date(), hours=hours)
        return CloudEvent.of(body, time=T0 + timedelta(minutes=minutes))

    apply(state, shift(0, 5.0))  # happened at T0, before the opt-in, delivered after it
    apply(state, shift(2, 1.5))
    profile = profile_of(state)
    assert profile is not None and profile.role is not None
    assert profile.role.contribution_hours_this_month == 1.5


def visit(minutes: float, n: int = 0) -> CloudEvent:
    from komagane_contracts.events.exchange import HubVisited

    when = T0 + timedelta(minutes=minutes)
    return CloudEvent.of(HubVisited(person_id="p", visit_id=f"v{minutes}-{n}", hub_id="h", visited_at=when), time=when)


def test_a_visit_that_arrives_before_the_opt_in_it_followed_is_profiled_when_the_opt_in_arrives() -> None:
    registration, consent = events()  # PROFILE granted at T0 + 1 min
    before, after = visit(0.5), visit(2)
    in_order, consent_last = new_state("p"), new_state("p")
    for event in (registration, consent, before, after):
        apply(in_order, event)
    for event in (registration, after, before):
        apply(consent_last, event)
    assert profile_of(consent_last) is None and len(consent_last["held"]) == 2
    apply(consent_last, consent)
    assert "held" not in consent_last
    assert [r.event_id for r in consent_last["participation"]] == [after.id]  # the visit from before the opt-in stays out
    assert profile_of(consent_last) == profile_of(in_order)


def test_what_waits_for_a_consent_is_bounded_and_nothing_waits_after_a_withdrawal() -> None:
    from komagane_profiles.holding import HELD_MAX, HELD_SECONDS

    registration, consent = events()
    state = new_state("p")
    apply(state, registration)
    for n in range(HELD_MAX + 3):
        apply(state, visit(2, n))
    assert len(state["held"]) == HELD_MAX
    apply(state, visit(2 + HELD_SECONDS / 60 + 1))  # more than HELD_SECONDS after the others
    assert len(state["held"]) == 1
    apply(state, consent)
    apply(state, CloudEvent.of(ConsentWithdrawn(person_id="p", purpose="PROFILE", withdrawn_at=T0), time=T0 + timedelta(hours=1)))
    apply(state, visit(61))
    assert "held" not in state and "withdrawn" in state
    apply(state, replace(consent, id="regrant", time=T0 + timedelta(hours=2)))
    assert "withdrawn" not in state and "participation" not in state  # the visit before the new opt-in stays out


def test_journey_steps_of_one_day_follow_event_time_whatever_the_arrival_order() -> None:
    """Opened, consulted and toured on one day: listed as they happened, with any event ids and
    in any order of arrival (the ids used to decide)."""
    from itertools import permutations

    from komagane_contracts.events.housing import MigrationCaseOpened, MigrationStage, MigrationStageChanged

    day = T0.date()
    opened = MigrationCaseOpened(person_id="p", case_id="c", stage=MigrationStage.INQUIRY, opened_on=day, household_size=1, recorded_by="s")
    steps = [CloudEvent.of(opened, time=T0 + timedelta(minutes=5), event_id="ffff")]
    for minutes, (previous, stage), event_id in ((6, ("INQUIRY", "CONSULTED"), "0000"), (7, ("CONSULTED", "TOURED"), "8888")):
        changed = MigrationStageChanged(person_id="p", case_id="c", previous_stage=previous, stage=stage, occurred_on=day, recorded_by="s")
        steps.append(CloudEvent.of(changed, time=T0 + timedelta(minutes=minutes), event_id=event_id))
    for order in permutations(steps):
        state = new_state("p")
        for event in (*events(), *order):
            apply(state, event)
        profile = profile_of(state)
        assert profile is not None and profile.living is not None
        assert [s.step for s in profile.living.journey] == ["MIGRATION_INQUIRY", "MIGRATION_CONSULTED", "MIGRATION_TOURED"], order


def test_a_correction_replaces_residency_and_language_in_the_profile_and_counts_a_new_relationship() -> None:
    from komagane_contracts.events.people import PersonUpdated

    state = new_state("p")
    registration, consent = events()
    registration = CloudEvent.of(registration.body().model_copy(update={"residency_status": ResidencyStatus.VISITOR}), time=T0)
    for event in (registration, consent):
        apply(state, event)
    assert state["kpi"]["relationship"] is None
    at = T0 + timedelta(days=40)
    corrected = PersonUpdated(
        person_id="p", residency_status=ResidencyStatus.RELATIONSHIP, preferred_language="ja", lives_alone=True,
        changed=["residency_status", "preferred_language", "lives_alone"], cause="CORRECTION", updated_at=at,
    )  # fmt: skip
    assert apply(state, CloudEvent.of(corrected, time=at))
    profile = profile_of(state)
    assert profile is not None
    expected = (3, AgeBand.SENIOR_65_74, ResidencyStatus.RELATIONSHIP, "ja")
    assert (profile.version, profile.age_band, profile.residency_status, profile.preferred_language) == expected
    assert state["kpi"]["relationship"] == "2026-06"  # 関係人口 from the month of the change
    moved = corrected.model_copy(update={"residency_status": ResidencyStatus.RESIDENT, "changed": ["residency_status"], "cause": "MOVED_IN"})
    assert apply(state, CloudEvent.of(moved, time=at + timedelta(days=1)))
    profile = profile_of(state)
    assert profile is not None and profile.residency_status is ResidencyStatus.RESIDENT


def test_the_handler_table_names_only_event_types_without_subclasses() -> None:
    """`apply` looks a body's exact type up in EVENT_HANDLERS (one dict lookup per event): a
    subclass of a listed type would silently fall through to "unchanged", so none may exist."""
    from komagane_contracts.events.base import EventModel
    from komagane_profiles.fold import EVENT_HANDLERS

    for event_type in EVENT_HANDLERS:
        assert issubclass(event_type, EventModel) and not event_type.__subclasses__(), event_type
