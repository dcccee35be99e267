"""The profiles fold forgets an erased person, keeps the anonymous counts, and a replay of the
history (the erasure included) never brings them back (komagane_profiles.pipeline)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from komagane_contracts.envelope import CloudEvent
from komagane_contracts.events.exchange import ActivityCategory, ParticipantAttended, ParticipationMode
from komagane_contracts.events.people import ConsentGranted, PersonErased, PersonRegistered
from komagane_contracts.vocabulary import AgeBand, ResidencyStatus
from komagane_profiles.kpis import pseudonym
from komagane_profiles.pipeline import Replay

T0 = datetime(2026, 5, 1, 10, 0, tzinfo=UTC)
ERASED, STAYS = "11111111-0000-4000-8000-000000000001", "22222222-0000-4000-8000-000000000002"


def history(person_id: str, attendances: int = 3) -> list[CloudEvent]:
    registered = PersonRegistered(
        person_id=person_id, age_band=AgeBand.SENIOR_75_PLUS, residency_status=ResidencyStatus.RESIDENT,
        preferred_language="ja", lives_alone=True, registered_at=T0,
    )  # fmt: skip
    events = [CloudEvent.of(registered, time=T0), CloudEvent.of(ConsentGranted(person_id=person_id, purpose="PROFILE", granted_at=T0), time=T0)]
    for n in range(attendances):
        at = T0 + timedelta(days=7 * n + 1)
        attended = ParticipantAttended(
            person_id=person_id, attendance_id=f"{person_id}-a{n}", session_id=f"s{n}", activity_id="a", hub_id="h",
            category=ActivityCategory.KAYOINOBA, is_kayoinoba=True, mode=ParticipationMode.ATTEND, attended_at=at,
        )  # fmt: skip
        events.append(CloudEvent.of(attended, time=at))
    return events


def erasure(person_id: str, at: datetime) -> CloudEvent:
    return CloudEvent.of(PersonErased(person_id=person_id, erased_at=at), time=at)


def feed(replay: Replay, events: list[CloudEvent]) -> None:
    for event in events:
        replay.feed(event.value(), event.headers())
    replay.flush()


def mentions(replay: Replay, person_id: str) -> list[str]:
    """Keys or values of the fold's state that still carry the person id."""
    found = [key for key, state in replay.people.items() if person_id in key or person_id in repr(state)]
    found += [key for key, value in replay.contributions.items() if pseudonym(person_id) in key or person_id in repr(value)]
    return found


def test_erasure_drops_the_profile_and_state_and_keeps_the_counts_anonymously() -> None:
    replay = Replay()
    feed(replay, history(ERASED) + history(STAYS))
    assert set(replay.profiles()) == {ERASED, STAYS}
    kpis_before = replay.city_kpis()
    hubs_before = replay.hub_mixes()

    feed(replay, [erasure(ERASED, T0 + timedelta(days=30))])
    assert set(replay.profiles()) == {STAYS}
    assert mentions(replay, ERASED) == []
    assert replay.city_kpis() == kpis_before  # the anonymous counts already held stay
    assert replay.hub_mixes() == hubs_before

    # Events about them arriving afterwards (a lagging topic) are ignored, as is a redelivery.
    feed(replay, history(ERASED, attendances=5)[3:] + [erasure(ERASED, T0 + timedelta(days=30))])
    assert set(replay.profiles()) == {STAYS} and mentions(replay, ERASED) == []


def test_a_replay_from_the_start_does_not_bring_them_back_whatever_the_batches() -> None:
    events = history(ERASED) + history(STAYS) + [erasure(ERASED, T0 + timedelta(days=30))] + history(ERASED, attendances=5)[3:]
    for batch_size in (1, 3, 1000):
        replay = Replay(batch_size=batch_size)
        feed(replay, events)
        assert set(replay.profiles()) == {STAYS}, batch_size
        assert mentions(replay, ERASED) == [], batch_size
