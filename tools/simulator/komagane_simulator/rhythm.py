"""Weekly rhythms of the town, as a dated plan: what happens on each day of the history.

A pure function of the town and the number of days (its own `random.Random`, seeded from the
town's seed), so one seed gives one history. People drift away (their `away` stretch) and some
come back; the seminar month (まちゼミ) is the month in the middle of the history.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from komagane_simulator.town import Activity, Person, Town

TOKYO = ZoneInfo("Asia/Tokyo")


@dataclass(frozen=True)
class HeldSession:
    activity: str
    starts_at: datetime
    ends_at: datetime
    attendees: tuple[tuple[str, str], ...]  # (person key, participation mode)


@dataclass(frozen=True)
class Visit:
    person: str
    hub: str
    at: datetime


@dataclass(frozen=True)
class Shift:
    person: str
    place: str  # a hub key (volunteering) or a job key (work)
    day: date
    hours: float


@dataclass(frozen=True)
class SeminarSession:
    seminar: str
    day: date
    hours: float
    attendees: tuple[str, ...]


@dataclass
class Day:
    day: date
    sessions: list[HeldSession] = field(default_factory=list)
    visits: list[Visit] = field(default_factory=list)
    volunteering: list[Shift] = field(default_factory=list)
    work: list[Shift] = field(default_factory=list)
    seminars: list[SeminarSession] = field(default_factory=list)
    steps: list[tuple[str, int, int]] = field(default_factory=list)  # (person, steps, brisk-walk minutes)

    def requests(self) -> int:
        """How many API calls the day costs (a session: create, attendances, held)."""
        held = sum(2 + len(s.attendees) for s in self.sessions)
        return held + len(self.visits) + len(self.volunteering) + len(self.work) + len(self.seminars) + (1 if self.steps else 0)


def seminar_month(town: Town, days: int) -> tuple[int, int]:
    middle = town.as_of - timedelta(days=max(1, days // 2))
    return middle.year, middle.month


def plan_history(town: Town, days: int) -> list[Day]:
    """The days `as_of - days` … `as_of - 1`, oldest first."""
    rng = random.Random(f"{town.seed}:history:{days}")
    first = town.as_of - timedelta(days=days)
    by_activity: dict[str, list[Person]] = {}
    for person in town.people:
        for key in person.habits:
            by_activity.setdefault(key, []).append(person)
    year, month = seminar_month(town, days)
    seminar_days = {s.key: sorted(rng.sample(range(3, 27), 2)) for s in town.seminars}
    enrolled: dict[str, list[str]] = {}
    for person in town.people:
        for key in person.seminars:
            enrolled.setdefault(key, []).append(person.key)
    jobs = {j.key: j for j in town.jobs}
    plan = []
    for offset in range(days):
        today = first + timedelta(days=offset)
        day = Day(today)

        def present(person: Person, offset: int = offset) -> bool:
            return person.away is None or not person.away[0] <= offset < person.away[1]

        for activity in town.activities:
            if activity.weekday == today.weekday():
                day.sessions.append(_session(rng, activity, today, by_activity.get(activity.key, []), present, town))
        for person in town.people:
            if not present(person):
                continue
            if person.visits_per_week and rng.random() < person.visits_per_week / 7:
                at = datetime.combine(today, datetime.min.time(), TOKYO) + timedelta(hours=rng.randint(9, 19), minutes=rng.randint(0, 59))
                day.visits.append(Visit(person.key, rng.choice(("hub:wellness", "hub:patona")), at))
            if person.volunteer_hub and today.weekday() == int(person.key[-1]) % 7 and rng.random() < 0.8:
                day.volunteering.append(Shift(person.key, person.volunteer_hub, today, rng.choice((2.0, 3.0, 4.0))))
            if person.job and today.weekday() in jobs[person.job].weekdays and rng.random() < 0.75:
                day.work.append(Shift(person.key, person.job, today, jobs[person.job].hours))
            if person.walker:
                steps = max(300, int(rng.gauss(6500 if town.as_of.year - person.birth_year < 75 else 4200, 1800)))
                day.steps.append((person.key, steps, max(0, int(steps / 400 + rng.gauss(0, 4)))))
        if (today.year, today.month) == (year, month):
            for seminar in town.seminars:
                if today.day in seminar_days[seminar.key]:
                    people = [p for p in enrolled.get(seminar.key, []) if p != seminar.instructor and rng.random() < 0.85]
                    day.seminars.append(SeminarSession(seminar.key, today, 1.5, tuple(people[: seminar.capacity])))
        plan.append(day)
    return plan


def _session(rng: random.Random, activity: Activity, day: date, regulars: list[Person], present: Callable[[Person], bool], town: Town) -> HeldSession:
    starts_at = datetime.combine(day, activity.start, TOKYO)
    ends_at = starts_at + timedelta(hours=activity.hours)
    attendees: list[tuple[str, str]] = []
    for person in regulars:
        if not present(person):
            continue
        if person.key == activity.organiser:
            attendees.append((person.key, "ORGANIZE"))
        elif rng.random() < person.attendance:
            attendees.append((person.key, _mode(rng, activity, person)))
    # A few first-timers drop in: that is how people find a place.
    if rng.random() < 0.3:
        newcomer = rng.choice(town.people)
        if newcomer.key not in {a[0] for a in attendees} and newcomer.district and present(newcomer):
            attendees.append((newcomer.key, "ATTEND"))
    return HeldSession(activity.key, starts_at, ends_at, tuple(attendees[: activity.capacity]))


def _mode(rng: random.Random, activity: Activity, person: Person) -> str:
    if activity.category == "INTERNATIONAL" and person.language == "ja" and rng.random() < 0.5:
        return "HOST"
    if activity.category == "STUDY_CULTURE" and person.birth_year < 2000 and rng.random() < 0.5:
        return "TEACH"
    if person.care_need:
        return "RECEIVE_SUPPORT"
    if activity.category == "STUDY_CULTURE":
        return "LEARN"
    return "ATTEND"
