"""Belonging and role metrics on fixed histories (docs/architecture.md, How a profile is computed)."""

from __future__ import annotations

import json
from datetime import date

from komagane_profiles.metrics import (
    Participation,
    add_record,
    category_bands,
    frequency_band,
    from_rows,
    has_record,
    lapse_threshold_days,
    places,
    prune,
    regularity,
    roles,
    to_rows,
)

TODAY = date(2026, 11, 20)


def p(day: str, place: str = "hub:wellness", mode: str = "ATTEND", category: str | None = "SPORTS", hours: float = 0.0, n: int = 0) -> Participation:
    return Participation(date.fromisoformat(day), place, category, mode, hours, f"e-{day}-{place}-{n}")


def test_a_place_needs_two_of_the_last_three_calendar_months() -> None:
    history = [p("2026-09-03"), p("2026-11-02"), p("2026-11-10", place="hub:patona"), p("2026-08-30", place="hub:patona")]
    assert list(places(history, TODAY)) == ["hub:wellness"]  # patona: August is outside the window
    assert places(history, TODAY)["hub:wellness"] == ["e-2026-09-03-hub:wellness-0", "e-2026-11-02-hub:wellness-0"]


def test_regularity_counts_weeks_with_any_participation() -> None:
    history = [p("2026-11-16"), p("2026-11-18"), p("2026-11-02"), p("2026-08-01")]
    assert regularity(history, TODAY) == round(2 / 12, 4)


def test_frequency_bands_follow_the_needs_survey() -> None:
    assert [frequency_band(n) for n in (0, 1, 3, 4, 7, 8, 15, 16, 30)] == [
        "none", "1-3/month", "1-3/month", "1/week", "1/week", "2-3/week", "2-3/week", "4+/week", "4+/week",
    ]  # fmt: skip
    history = [p(f"2026-11-{d:02d}", category="KAYOINOBA") for d in (2, 5, 9, 12, 16)] + [p("2026-11-03", category="HOBBY")]
    assert category_bands(history, TODAY) == {"HOBBY": "1-3/month", "KAYOINOBA": "1/week"}


def test_roles_ratio_and_reciprocity() -> None:
    history = [
        p("2026-11-05", mode="VOLUNTEER", category=None, hours=2.5),
        p("2026-11-12", mode="TEACH", category="SKILL_TEACHING", hours=1.0),
        p("2026-11-14", mode="ATTEND"),
        p("2026-10-01", mode="LEARN"),
        p("2025-10-01", mode="MENTOR"),  # more than 12 months ago: no longer a role
    ]
    summary = roles(history, TODAY, officer_roles=["LEADER"])
    assert summary.role_types == ["GROUP_LEADER", "TEACH", "VOLUNTEER"]
    assert summary.contribution_hours_this_month == 3.5
    assert summary.contribution_ratio_90d == 0.5
    assert summary.reciprocity_90d is True
    assert roles([p("2026-11-14")], TODAY).reciprocity_90d is False
    assert roles([], TODAY).contribution_ratio_90d is None


def test_lapse_threshold_is_twice_the_median_gap_but_at_least_four_weeks() -> None:
    weekly = [p(f"2026-{m:02d}-{d:02d}") for m, d in ((9, 1), (9, 8), (9, 15), (9, 22))]
    assert lapse_threshold_days(weekly) == 28
    monthly = [p("2026-06-01"), p("2026-07-01"), p("2026-08-01"), p("2026-09-01")]
    assert lapse_threshold_days(monthly) == 62


def test_prune_keeps_recent_history_in_a_stable_order() -> None:
    history = [p("2026-11-02", n=2), p("2024-01-01"), p("2026-11-02", n=1)]
    assert [r.event_id for r in prune(history, TODAY)] == ["e-2026-11-02-hub:wellness-1", "e-2026-11-02-hub:wellness-2"]
    assert from_rows(json.loads(json.dumps(to_rows(history)))) == history  # as a state stores them


def test_lapse_is_found_from_event_time_only_with_history_and_consent() -> None:
    from komagane_profiles.lapses import lapse_of
    from komagane_profiles.state import new_state

    state = new_state("p") | {"consents": ["PROFILE"]}
    assert lapse_of(state, TODAY) is None  # never took part: not a lapse
    state["participation"] = [p("2026-08-01"), p("2026-08-08", n=1)]
    alert = lapse_of(state, TODAY)
    assert alert is not None and (alert.days_since, alert.threshold_days, alert.last_participation) == (104, 28, date(2026, 8, 8))
    assert lapse_of(state, date(2026, 9, 5)) is None  # 28 days: not yet
    assert lapse_of(state | {"consents": []}, TODAY) is None


def test_lapse_due_is_the_first_day_lapse_of_alerts() -> None:
    """The worker checks only the people whose due day has come: it must be exact, a day late
    would delay an alert and a day early would read states for nothing."""
    from datetime import timedelta

    from komagane_profiles.lapses import lapse_due, lapse_of
    from komagane_profiles.state import new_state

    histories = [
        [p("2026-08-01"), p("2026-08-08", n=1)],  # weekly: 28-day threshold
        [p("2026-03-01"), p("2026-05-01"), p("2026-07-01"), p("2026-07-03")],  # 2 × median gap 61 days
        [p("2026-10-30")],  # one day only
    ]
    for history in histories:
        state = new_state("p") | {"consents": ["PROFILE"], "participation": history}
        due = lapse_due(state)
        assert due is not None
        alerting = [day for day in (due - timedelta(days=n) for n in range(-3, 4)) if lapse_of(state, day) is not None]
        assert min(alerting) == due and len(alerting) == 4
    assert lapse_due(new_state("p") | {"consents": ["PROFILE"]}) is None  # never took part
    assert lapse_due(new_state("p") | {"participation": histories[0]}) is None  # no PROFILE consent


def test_has_record_finds_exactly_the_events_a_history_keeps() -> None:
    history: list[Participation] = []
    kept = [p("2026-11-02", n=n) for n in range(3)] + [p("2026-11-01"), p("2026-11-05", place="hub:patona")]
    for record in kept:
        add_record(history, record)
    assert all(has_record(history, record) for record in kept)
    assert not has_record(history, p("2026-11-02", n=3))  # same day, another event
    assert not has_record(history, p("2026-11-03"))  # a day the history does not have
    assert not has_record(history, p("2026-12-01"))  # after the last record
    assert not has_record([], p("2026-11-02"))
