"""The town simulator without a platform: one seed plans one town and one history, shaped like
an ageing town; its gateway client waits out 429/503 and sends Idempotency-Key."""

from __future__ import annotations

from datetime import date

import httpx

from komagane_simulator import plan_history, plan_town
from komagane_simulator.gateway import Gateway

AS_OF = date(2026, 11, 29)


def test_same_seed_plans_the_same_town_and_history() -> None:
    first, second = plan_town(7, 1200, AS_OF), plan_town(7, 1200, AS_OF)
    assert first.people == second.people
    assert first.activities == second.activities
    assert plan_history(first, 30) == plan_history(second, 30)


def test_another_seed_plans_another_town() -> None:
    assert plan_town(7, 1200, AS_OF).people != plan_town(8, 1200, AS_OF).people


def test_the_town_ages_like_komagane_and_mixes() -> None:
    town = plan_town(2026, 3000, AS_OF)
    figures = town.summary()
    assert 0.28 <= figures["share_65_plus"] <= 0.38
    assert 0.01 <= figures["share_foreign"] <= 0.08
    assert figures["living_alone_65_plus"] > 0 and figures["with_care_need_or_disability"] > 0
    assert figures["visitors_and_relationship"] >= 3000 // 40
    kinds = {hub.kind for hub in town.hubs}
    assert {"WELLNESS_HUB", "CIVIC_CENTRE", "COMMUNITY_HALL", "SHOP", "JICA"} <= kinds
    assert any(p.away is not None for p in town.people), "some people drift away"


def test_history_has_weekly_rhythms_and_a_seminar_month() -> None:
    town = plan_town(3, 800, AS_OF)
    history = plan_history(town, 28)
    assert (history[0].day, history[-1].day) == (date(2026, 11, 1), date(2026, 11, 28))
    kayoinoba = {a.key for a in town.activities if a.is_kayoinoba}
    held = [s for d in history for s in d.sessions if s.activity in kayoinoba]
    assert len(held) == 4 * len(kayoinoba), "every 通いの場 meets once a week"
    assert any(d.seminars for d in history)
    assert all(
        not any(p == person.key for s in d.sessions for p, _ in s.attendees)
        for d in history
        for person in town.people
        if person.away and person.away[0] <= (d.day - history[0].day).days < person.away[1]
    )


async def post_through(answers: list[httpx.Response], path: str, body: object, key: str) -> tuple[object, list[httpx.Request], Gateway]:
    """One `Gateway.post` against a gateway that gives `answers` in turn: its result, and the
    requests it sent."""
    seen: list[httpx.Request] = []
    replies = iter(answers)

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return next(replies)

    gateway = Gateway("http://gateway.test", lambda: "token", transport=httpx.MockTransport(handler))
    try:
        return await gateway.post(path, body, key), seen, gateway
    finally:
        await gateway.aclose()


async def test_the_gateway_client_waits_out_429_and_503_and_sends_idempotency_keys() -> None:
    answers = [
        httpx.Response(429, headers={"Retry-After": "0.05"}),
        httpx.Response(503, headers={"Retry-After": "0.05"}),
        httpx.Response(201, json={"id": "x"}),
    ]
    result, seen, gateway = await post_through(answers, "/v1/hubs", {"name_ja": "x"}, "sim-1-abc")
    assert result == {"id": "x"}
    assert len(seen) == 3 and gateway.stats.retried == 2
    assert {r.headers["Idempotency-Key"] for r in seen} == {"sim-1-abc"}
    assert seen[0].headers["Authorization"] == "Bearer token"


async def test_a_person_not_yet_in_a_pillars_replica_is_asked_again_under_a_new_key() -> None:
    """The 422 is stored under its key like any answer; the retry must not just replay it."""
    unknown = {"type": "https://komagane.example/problems/unknown-person", "status": 422}
    answers = [httpx.Response(422, json=unknown), httpx.Response(422, json=unknown), httpx.Response(201, json={"id": "v"})]
    result, seen, _ = await post_through(answers, "/v1/hubs/h/visits", {"person_id": "p"}, "sim-2-visit")
    assert result == {"id": "v"}
    assert [r.headers["Idempotency-Key"] for r in seen] == ["sim-2-visit", "sim-2-visit~replica-1", "sim-2-visit~replica-2"]


async def test_upcoming_sessions_are_scheduled_ahead_on_each_activitys_weekday_once() -> None:
    from datetime import datetime, timedelta
    from typing import Any

    from komagane_simulator.load import Loader
    from komagane_simulator.rhythm import TOKYO

    class Recorder:
        def __init__(self) -> None:
            self.posts: list[tuple[str, dict[str, Any], str]] = []

        async def post(self, path: str, body: dict[str, Any], key: str) -> dict[str, str]:
            self.posts.append((path, body, key))
            return {"id": "x"}

    town = plan_town(7, 500, date(2026, 11, 30))
    recorder = Recorder()
    loader = Loader(recorder, town, ids={a.key: f"id-{a.key}" for a in town.activities})  # type: ignore[arg-type]
    await loader.upcoming(weeks=2)
    first = list(recorder.posts)
    assert len(first) == 2 * len(town.activities)
    now = datetime.now(TOKYO)
    by_id = {f"id-{a.key}": a for a in town.activities}
    for path, body, _ in first:
        activity = by_id[path.split("/")[3]]
        starts = datetime.fromisoformat(body["starts_at"])
        assert now < starts < now + timedelta(days=15) and starts.weekday() == activity.weekday and "recorded_after" not in body
    await loader.upcoming(weeks=2)  # a second start of the town schedules the same sessions again, with the same keys
    assert [key for _, _, key in recorder.posts[len(first) :]] == [key for _, _, key in first]
