"""Care staff's follow-ups folded into the person's state: the alert shows them, closing outcomes
close it, a return starts over, and the city KPIs count lapses followed up within 14 days —
the same whatever order the topics are read in."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta

from komagane_contracts.envelope import CloudEvent
from komagane_contracts.events.care import FollowUpOutcome, LapseFollowedUp
from komagane_contracts.events.exchange import HubVisited
from komagane_contracts.events.people import ConsentGranted, ConsentWithdrawn, PersonRegistered
from komagane_contracts.vocabulary import AgeBand, ResidencyStatus
from komagane_profiles import citykpis, followups, kpis
from komagane_profiles.fold import apply
from komagane_profiles.lapses import lapse_due, lapse_of
from komagane_profiles.state import State, new_state

T0 = datetime(2026, 3, 1, 1, 0, tzinfo=UTC)  # 10:00 in Komagane
LAST = date(2026, 3, 29)  # the last of five weekly visits
START = LAST + timedelta(days=29)  # threshold 28 days: lapsed from the 29th day on


def _at(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 1, 0, tzinfo=UTC)


def setup_events() -> list[CloudEvent]:
    registered = PersonRegistered(
        person_id="p", age_band=AgeBand.SENIOR_75_PLUS, residency_status=ResidencyStatus.RESIDENT, preferred_language="ja", lives_alone=True, registered_at=T0
    )
    out = [CloudEvent.of(registered, time=T0), CloudEvent.of(ConsentGranted(person_id="p", purpose="PROFILE", granted_at=T0), time=T0 + timedelta(minutes=1))]
    for n in range(5):
        day = LAST - timedelta(days=7 * n)
        out.append(CloudEvent.of(HubVisited(person_id="p", visit_id=f"v{n}", hub_id="wellness", visited_at=_at(day)), time=_at(day)))
    return out


def follow_up(day: date, outcome: FollowUpOutcome, follow_up_id: str | None = None) -> CloudEvent:
    body = LapseFollowedUp(person_id="p", follow_up_id=follow_up_id or f"f-{day}-{outcome}", outcome=outcome, followed_up_at=_at(day))
    return CloudEvent.of(body, time=_at(day))


def folded(events: list[CloudEvent]) -> State:
    state = new_state("p")
    for event in events:
        apply(state, event)
    return state


def test_the_alert_shows_its_follow_ups_and_a_call_keeps_it_open() -> None:
    state = folded([*setup_events(), follow_up(START + timedelta(days=2), FollowUpOutcome.CALLED)])
    alert = lapse_of(state, START + timedelta(days=3))
    assert alert is not None
    assert [(f.outcome, f.followed_up_at) for f in alert.follow_ups] == [("CALLED", _at(START + timedelta(days=2)))]
    assert alert.usual_places == ["hub:wellness"]
    assert lapse_due(state) == START


def test_declined_and_moved_away_close_the_alert() -> None:
    for outcome in (FollowUpOutcome.DECLINED, FollowUpOutcome.MOVED_AWAY):
        state = folded([*setup_events(), follow_up(START + timedelta(days=1), FollowUpOutcome.VISITED), follow_up(START + timedelta(days=5), outcome)])
        assert lapse_of(state, START + timedelta(days=6)) is None, outcome
        assert lapse_due(state) is None  # the lapse watch forgets the person: the flush clears the alert


def test_a_return_starts_over_and_old_follow_ups_belong_to_the_old_lapse() -> None:
    back = START + timedelta(days=10)
    state = folded(
        [
            *setup_events(),
            follow_up(START + timedelta(days=3), FollowUpOutcome.DECLINED),
            CloudEvent.of(HubVisited(person_id="p", visit_id="back", hub_id="wellness", visited_at=_at(back)), time=_at(back)),
        ]
    )
    assert lapse_due(state) is not None  # a new lapse may come, and is not closed by the old follow-up
    later = back + timedelta(days=60)
    alert = lapse_of(state, later)
    assert alert is not None and alert.follow_ups == []


def test_kpi_counts_lapses_followed_up_within_14_days_by_the_month_the_lapse_began() -> None:
    on_time = folded(
        [*setup_events(), follow_up(START + timedelta(days=14), FollowUpOutcome.CALLED), follow_up(START + timedelta(days=20), FollowUpOutcome.OTHER)]
    )
    late = folded([*setup_events(), follow_up(START + timedelta(days=15), FollowUpOutcome.CALLED)])
    before = folded([*setup_events(), follow_up(START - timedelta(days=1), FollowUpOutcome.CALLED)])  # not lapsed yet
    month = kpis.month_of(START)
    assert citykpis.contribution(on_time["kpi"])[month]["lapses_followed_up_14d"] == 1
    assert "lapses_followed_up_14d" not in citykpis.contribution(late["kpi"]).get(month, {})
    assert "followed_up" not in before["kpi"]


def test_kpi_cells_under_ten_people_are_suppressed() -> None:
    month = kpis.month_of(START)
    totals = {month: {"lapses_followed_up_14d": 9, "followed_up_people": 9}}
    few = citykpis.city_kpis(month, totals)
    assert few.lapses_followed_up_within_14d is None and "lapses_followed_up_within_14d" in few.suppressed
    totals[month] = {"lapses_followed_up_14d": 12, "followed_up_people": 12}
    assert citykpis.city_kpis(month, totals).lapses_followed_up_within_14d == 12


def test_the_same_events_in_any_order_give_the_same_alert_and_kpis() -> None:
    """Topics are not ordered among each other: a late visit from before the follow-up may come
    after it. The outputs depend on the events, not on their order."""
    setup = setup_events()
    extra = [
        follow_up(START + timedelta(days=3), FollowUpOutcome.CALLED),
        CloudEvent.of(
            HubVisited(person_id="p", visit_id="late", hub_id="wellness", visited_at=_at(LAST + timedelta(days=2))), time=_at(LAST + timedelta(days=2))
        ),
        follow_up(START + timedelta(days=20), FollowUpOutcome.VISITED),
    ]
    outcomes = set()
    for order in itertools.permutations(extra):
        state = folded([*setup, *order])
        alert = lapse_of(state, START + timedelta(days=25))
        outcomes.add((alert.model_dump_json() if alert else None, repr(state["kpi"].get("followed_up"))))
    assert len(outcomes) == 1
    [(alert_json, counted)] = outcomes
    assert alert_json is not None and counted == repr({(START + timedelta(days=2)).isoformat(): 1})


def test_withdrawing_profile_consent_drops_the_follow_ups_and_their_kpi() -> None:
    state = folded([*setup_events(), follow_up(START + timedelta(days=1), FollowUpOutcome.CALLED)])
    assert state[followups.KEY] and state["kpi"]["followed_up"]
    later = _at(START + timedelta(days=2))
    apply(state, CloudEvent.of(ConsentWithdrawn(person_id="p", purpose="PROFILE", withdrawn_at=later), time=later))
    assert followups.KEY not in state and "followed_up" not in state["kpi"]


def test_a_redelivered_follow_up_is_kept_once() -> None:
    event = follow_up(START + timedelta(days=1), FollowUpOutcome.CALLED, "f-1")
    state = folded([*setup_events(), event])
    assert not apply(state, event)
    assert len(state[followups.KEY]) == 1
