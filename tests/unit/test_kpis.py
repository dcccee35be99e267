"""City KPIs: suppression, definitions, and the same totals whatever the order or redelivery."""

from __future__ import annotations

import random
import zlib
from datetime import UTC, date, datetime, timedelta
from typing import Any

from komagane_contracts.envelope import CloudEvent
from komagane_contracts.events.base import EventModel
from komagane_contracts.events.exchange import ActivityCategory, ParticipantAttended, ParticipationMode, VolunteerShiftCompleted
from komagane_contracts.events.housing import HouseholdMovedIn, MigrationCaseOpened, MigrationStage, MoveChannel, TrialStayCompleted
from komagane_contracts.events.people import ConsentGranted, ConsentWithdrawn, PersonRegistered
from komagane_contracts.vocabulary import AgeBand, ResidencyStatus
from komagane_profiles import citykpis, kpis
from komagane_profiles.pipeline import Replay, city_totals
from komagane_profiles.synthetic import Message, people_events

T0 = datetime(2025, 4, 1, 1, 0, tzinfo=UTC)  # 10:00 in Tokyo


def event(body: EventModel, at: datetime) -> CloudEvent:
    return CloudEvent.of(body, time=at)


def registered(person_id: str, band: AgeBand, at: datetime = T0, residency: ResidencyStatus = ResidencyStatus.RESIDENT) -> CloudEvent:
    return event(
        PersonRegistered(person_id=person_id, age_band=band, residency_status=residency, preferred_language="ja", lives_alone=False, registered_at=at), at
    )


def attended(person_id: str, at: datetime, *, kayoinoba: bool = False, mode: ParticipationMode = ParticipationMode.ATTEND, hub: str = "hub-1") -> CloudEvent:
    category = ActivityCategory.KAYOINOBA if kayoinoba else ActivityCategory.HOBBY
    body = ParticipantAttended(
        person_id=person_id, attendance_id=f"{person_id}-{at.isoformat()}", session_id=f"s-{at.date()}", activity_id="a",
        hub_id=hub, category=category, is_kayoinoba=kayoinoba, mode=mode, attended_at=at,
    )  # fmt: skip
    return event(body, at)


def feed(events: list[CloudEvent]) -> Replay:
    replay = Replay()
    replay.feed_all((e.value(), e.headers()) for e in events)
    return replay


def test_cells_under_ten_people_are_suppressed_with_whatever_derives_from_them() -> None:
    nine = [e for i in range(9) for e in (registered(f"p{i}", AgeBand.SENIOR_75_PLUS), attended(f"p{i}", T0, kayoinoba=True))]
    month = feed(nine).city_kpis()["2025-04"]
    assert month.hub_visits is None and month.hub_visitors is None and month.kayoinoba_rate_65_plus is None
    assert {"hub_visits", "hub_visitors", "kayoinoba_participants_65_plus", "kayoinoba_rate_65_plus", "registered_65_plus"} <= set(month.suppressed)
    ten = nine + [registered("p9", AgeBand.SENIOR_75_PLUS), attended("p9", T0, kayoinoba=True), attended("p9", T0 + timedelta(days=1))]
    month = feed(ten).city_kpis()["2025-04"]
    assert (month.hub_visits, month.hub_visitors, month.registered_65_plus, month.kayoinoba_participants_65_plus) == (11, 10, 10, 10)
    assert month.kayoinoba_rate_65_plus == 1.0
    assert "hub_visits" not in month.suppressed
    assert "people_with_place" in month.suppressed  # nobody opted in to profiling


def test_kayoinoba_rate_is_over_everyone_65_plus_registered_by_the_month_end() -> None:
    events = [registered(f"s{i}", AgeBand.SENIOR_65_74, T0 - timedelta(days=40)) for i in range(20)]
    events += [registered(f"y{i}", AgeBand.ADULT_18_39) for i in range(10)]
    events += [attended(f"s{i}", T0 + timedelta(days=3), kayoinoba=True) for i in range(10)]
    events += [attended(f"y{i}", T0 + timedelta(days=3), kayoinoba=True) for i in range(10)]  # not 65+
    all_months = feed(events).city_kpis()
    april = all_months["2025-04"]
    assert (april.registered_65_plus, april.kayoinoba_participants_65_plus, april.kayoinoba_rate_65_plus) == (20, 10, 0.5)
    assert april.social_participation_share_65_plus == 0.5
    assert all_months["2025-02"].registered_65_plus == 20  # registered in February (running total)


def test_places_and_roles_count_only_profiled_participants() -> None:
    events = []
    for i in range(12):
        person = f"p{i}"
        events += [registered(person, AgeBand.ADULT_40_64, T0 - timedelta(days=70))]
        if i < 10:
            events.append(event(ConsentGranted(person_id=person, purpose="PROFILE", granted_at=T0 - timedelta(days=70)), T0 - timedelta(days=70)))
        events += [attended(person, T0 - timedelta(days=35)), attended(person, T0 + timedelta(days=2))]
        events.append(event(VolunteerShiftCompleted(person_id=person, shift_id=f"v{i}", worked_on=date(2025, 4, 5), hours=1), T0 + timedelta(days=4)))
    april = feed(events).city_kpis()["2025-04"]
    assert (april.profiled_participants, april.people_with_place, april.people_with_role, april.hub_visitors) == (10, 10, 10, 12)
    withdrawn = events + [event(ConsentWithdrawn(person_id="p0", purpose="PROFILE", withdrawn_at=T0 + timedelta(days=9)), T0 + timedelta(days=9))]
    april = feed(withdrawn).city_kpis()["2025-04"]
    assert april.profiled_participants is None and april.hub_visitors == 12  # 9 left: suppressed; visits stay


def test_migration_funnel_counts_moves_within_twelve_months_of_the_stay() -> None:
    events = []
    for i in range(12):
        person = f"m{i}"
        events.append(
            event(
                TrialStayCompleted(person_id=person, stay_id=f"t{i}", property_id="x", check_in=date(2025, 3, 28), completed_on=date(2025, 4, 2), nights=5), T0
            )
        )
        if i < 10:
            moved_on = date(2025, 9, 1) if i < 9 else date(2026, 5, 1)  # the last one too late
            events.append(
                event(
                    HouseholdMovedIn(
                        person_id=person, move_id=f"mv{i}", household_size=1, origin="13", channel=MoveChannel.TRIAL_STAY, area="c", moved_in_on=moved_on
                    ),
                    T0,
                )
            )
    months = feed(events).city_kpis()
    assert (months["2025-04"].trial_stays_completed, months["2025-04"].trial_stays_moved_within_12m) == (12, None)  # 9 converted: suppressed
    assert months["2025-04"].migration_conversion is None
    assert months["2025-09"].moves is None and months["2026-05"].moves is None


def test_migration_inquiries_are_the_cases_opened_in_the_month_suppressed_under_ten_people() -> None:
    def opened(i: int, on: date) -> CloudEvent:
        body = MigrationCaseOpened(person_id=f"q{i}", case_id=f"c{i}", stage=MigrationStage.INQUIRY, opened_on=on, household_size=2, recorded_by="staff")
        return event(body, T0)

    events = [opened(i, date(2025, 4, 3 + i)) for i in range(11)] + [opened(20 + i, date(2025, 5, 1)) for i in range(9)]
    events += events[:3]  # redelivered: still one inquiry each
    months = feed(events).city_kpis()
    assert months["2025-04"].migration_inquiries == 11
    assert months["2025-05"].migration_inquiries is None and "migration_inquiries" in months["2025-05"].suppressed


def interleaved(messages: list[Message], seed: int) -> list[CloudEvent]:
    """Another order a consumer may see: each topic partition in order, partitions mixed at random."""
    queues: dict[tuple[str, int], list[CloudEvent]] = {}
    for m in messages:
        queues.setdefault((m.topic, zlib.crc32(m.key) % 3), []).append(m.event)
    rng, out = random.Random(seed), []
    while queues:
        key = rng.choice(sorted(queues))
        out.append(queues[key].pop(0))
        if not queues[key]:
            del queues[key]
    return out


def with_redeliveries(events: list[CloudEvent]) -> list[CloudEvent]:
    """Redelivery comes soon after the original (a crash before the commit)."""
    return [e for i, e in enumerate(events) for e in ([e, e] if i % 7 == 0 else [e])]


MESSAGES = list(people_events(people=60, events_per_person=25, start=date(2025, 1, 6), days=120, seed=3))
PROFILE_FLAGS = {"profiled", "place", "role"}


def test_same_results_whatever_the_interleaving_once_people_events_are_in() -> None:
    in_order = feed([m.event for m in MESSAGES])
    people_first = [m.event for m in MESSAGES if m.topic == "people.v1"]
    others = interleaved([m for m in MESSAGES if m.topic != "people.v1"], seed=5)
    other = feed(with_redeliveries(people_first + others))
    assert in_order.totals == other.totals
    assert in_order.city_kpis() == other.city_kpis()
    assert {p: v.model_dump() for p, v in in_order.profiles().items()} == {p: v.model_dump() for p, v in other.profiles().items()}
    assert in_order.hub_mixes() == other.hub_mixes()
    assert any(month.hub_visits for month in in_order.city_kpis().values())


def strip(totals: dict[str, citykpis.Totals]) -> dict[str, citykpis.Totals]:
    return {m: {c: v for c, v in cell.items() if c not in PROFILE_FLAGS} for m, cell in totals.items()}


def test_counts_do_not_depend_on_the_interleaving_of_topics_at_all() -> None:
    """Visits, seminars, stays, moves, 65+ and 関係人口 need no consent, so any order gives them.

    (Places and roles do depend on it: participation folded before the person's PROFILE opt-in
    has been read is dropped, so they are compared only once the people events are in — see
    the test above.)
    """
    in_order = feed([m.event for m in MESSAGES])
    for seed in (1, 2, 3):
        other = feed(with_redeliveries(interleaved(MESSAGES, seed)))
        assert strip(in_order.totals) == strip(other.totals)
        assert in_order.hub_mixes() == other.hub_mixes()


def test_contribution_replaced_not_added() -> None:
    totals: dict[str, citykpis.Totals] = {}
    months: dict[str, dict[str, int]] = {"2025-02": {"visits": 2, "kayoinoba": 1}}
    summary: dict[str, Any] = {"band": "75+", "registered": "2025-01", "relationship": None, "months": months, "trials": {}, "moves": {}}
    first = citykpis.contribution(summary)
    changed = citykpis.apply_contribution(totals, {}, first)
    assert changed == {"2025-01", "2025-02"}
    assert citykpis.apply_contribution(totals, first, citykpis.contribution(summary)) == set()  # redelivered: nothing
    months["2025-02"]["visits"] = 3
    citykpis.apply_contribution(totals, first, citykpis.contribution(summary))
    assert totals["2025-02"]["hub_visits"] == 3 and totals["2025-02"]["hub_visitors"] == 1


def test_the_totals_folded_one_summary_at_a_time_are_the_sum_of_the_final_contributions() -> None:
    """What lets a restarted worker sum the totals again from its contributions table alone
    (app.py keeps no totals table): folding replacements one by one ends where summing ends."""
    replay = feed(with_redeliveries(interleaved(MESSAGES, seed=4)))
    summed = city_totals(replay.contributions.values())
    assert summed and {m: cell for m, cell in replay.totals.items() if cell} == summed
    assert {m: citykpis.city_kpis(m, summed) for m in summed} == {m: citykpis.city_kpis(m, replay.totals) for m in summed}


def test_kpi_events_are_byte_identical_for_the_same_figures() -> None:
    month = citykpis.city_kpis("2025-04", {"2025-04": {"hub_visits": 30, "hub_visitors": 12}})
    one, two = citykpis.kpi_cloud_event(month), citykpis.kpi_cloud_event(citykpis.city_kpis("2025-04", {"2025-04": {"hub_visits": 30, "hub_visitors": 12}}))
    assert (one.value(), one.headers()) == (two.value(), two.headers())
    assert kpis.pseudonym("p1") != "p1" and "p1" not in month.model_dump_json()
