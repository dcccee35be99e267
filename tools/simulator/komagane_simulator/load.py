"""Puts a planned town into the running platform through the gateway, then keeps it alive.

Three phases: `setup` (people and consents, hubs, activities and their groups, jobs and
engagements, まちゼミ, the health station, housing), `backfill` (the planned history, with
past event times: sessions created in the past, attendance typed in from the register with
`attended_at`, visits with `visited_at`, shifts with `worked_on`, …) and `live` (a trickle of
today's happenings until stopped). Plan keys map to the ids the API hands out (`ids`), which
the caller may keep to resume the live trickle after a restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import random
from collections.abc import Awaitable, Callable, Iterable
from datetime import date, datetime, timedelta
from typing import Any

from komagane_simulator.gateway import Gateway, RequestFailed
from komagane_simulator.kana import kana_of
from komagane_simulator.rhythm import TOKYO, Day, HeldSession
from komagane_simulator.town import Person, Town

log = logging.getLogger("komagane_simulator")
STAFF = "sim-staff"
PAPER_REGISTER = "紙の出席簿から入力"
COUNTRIES = {"pt-BR": "BR", "vi": "VN", "tl": "PH", "zh-Hans": "CN", "ne": "NP", "en": "US"}
NEXT_STAGE = {"INQUIRY": "CONSULTED", "CONSULTED": "TOURED", "TOURED": "DECIDED", "TRIAL": "DECIDED", "DECIDED": "MOVED", "MOVED": "SETTLED"}


class Loader:
    def __init__(self, gateway: Gateway, town: Town, *, ids: dict[str, str] | None = None, progress: Callable[[str], None] | None = None) -> None:
        self.gw = gateway
        self.town = town
        self.ids: dict[str, str] = dict(ids or {})
        self.progress = progress or (lambda line: log.info(line))
        self._people = {p.key: p for p in town.people}

    def key(self, *parts: object) -> str:
        """An Idempotency-Key from the plan: the same seed and action always send the same key."""
        plan_step = ":".join(map(str, parts))
        return f"sim-{self.town.seed}-{hashlib.sha256(plan_step.encode()).hexdigest()[:40]}"  # HTTP headers are ASCII

    async def _each(self, items: Iterable[Any], action: Callable[[Any], Awaitable[Any]]) -> None:
        """Run `action` for every item concurrently (the gateway client bounds it); failures are counted, not fatal."""

        async def guarded(item: Any) -> None:
            try:
                await action(item)
            except RequestFailed as exc:
                log.debug("%s", exc)

        await asyncio.gather(*(guarded(i) for i in items))

    # -- setup ------------------------------------------------------------------------------
    async def setup(self, history_days: int) -> None:
        first_day = self.town.as_of - timedelta(days=history_days)
        await self._each(self.town.hubs, self._hub)
        await self._each(self.town.people, self._person)
        self.progress(f"  {len(self.town.people)} people registered, with their consents")
        await self._each(self.town.activities, self._activity)
        await self._each([a for a in self.town.activities if a.group], self._group)
        await self._each(self.town.jobs, self._job)
        await self._each([p for p in self.town.people if p.job], lambda p: self._engagement(p, first_day - timedelta(days=30)))
        await self._each(self.town.seminars, self._seminar)
        await self._each([(p, s) for p in self.town.people for s in p.seminars], self._enrol)
        await self._health_station()
        await self._housing(first_day)
        self.progress(
            f"  {len(self.town.hubs)} hubs, {len(self.town.activities)} weekly activities, "
            f"{len(self.town.jobs)} jobs, {len(self.town.seminars)} まちゼミ courses"
        )

    async def _hub(self, hub: Any) -> None:
        body = {"name_ja": hub.name_ja, "name_en": hub.name_en, "kind": hub.kind, "area": hub.area, "capabilities": list(hub.capabilities)}
        self.ids[hub.key] = (await self.gw.post("/v1/hubs", body, self.key(hub.key)))["id"]

    async def _person(self, person: Person) -> None:
        body = {
            "display_name": person.display_name,
            "name_kana": kana_of(person.display_name),
            "birth_year": person.birth_year,
            "residency_status": person.residency,
            "preferred_language": person.language,
            "lives_alone": person.lives_alone,
        }
        person_id = (await self.gw.post("/v1/people", body, self.key(person.key)))["id"]
        self.ids[person.key] = person_id
        for purpose in person.consents:
            await self.gw.put(f"/v1/people/{person_id}/consents/{purpose}")

    async def _activity(self, activity: Any) -> None:
        body: dict[str, Any] = {
            "hub_id": self.ids[activity.hub],
            "title": activity.title,
            "category": activity.category,
            "languages": list(activity.languages),
            "is_kayoinoba": activity.is_kayoinoba,
        }
        if activity.organiser:
            body |= {"organiser_kind": "PERSON", "organiser_person_id": self.ids[activity.organiser]}
        else:
            body |= {"organiser_kind": "ORGANISATION", "organiser_name": "JOCA"}
        self.ids[activity.key] = (await self.gw.post("/v1/activities", body, self.key(activity.key)))["id"]

    async def _group(self, activity: Any) -> None:
        body = {"name": activity.title, "kind": "KAYOINOBA", "hub_id": self.ids[activity.hub], "is_kayoinoba": True}
        group_id = (await self.gw.post("/v1/groups", body, self.key(activity.group)))["id"]
        self.ids[activity.group] = group_id
        members = [p for p in self.town.people if activity.key in p.habits]
        for person in members:
            role = "LEADER" if person.key == activity.organiser else None
            await self.gw.post(
                f"/v1/groups/{group_id}/members", {"person_id": self.ids[person.key], "officer_role": role}, self.key(activity.group, person.key)
            )

    async def _job(self, job: Any) -> None:
        slot_start = 10 if job.hours <= 4 else 9
        slots = [{"weekday": d, "start": f"{slot_start:02d}:00", "end": f"{slot_start + int(job.hours + 0.99):02d}:00"} for d in job.weekdays]
        body = {
            "title": job.title,
            "organisation": "JOCA",
            "hub_id": self.ids[job.hub],
            "area": "赤穂",
            "arrangement": job.arrangement,
            "paid": job.paid,
            "weekly_slots": slots,
        }
        self.ids[job.key] = (await self.gw.post("/v1/opportunities", body, self.key(job.key)))["id"]

    async def _engagement(self, person: Person, starts_on: date) -> None:
        assert person.job is not None
        body = {"opportunity_id": self.ids[person.job], "person_id": self.ids[person.key], "starts_on": starts_on.isoformat()}
        self.ids[f"eng:{person.key}"] = (await self.gw.post("/v1/engagements", body, self.key("eng", person.key)))["id"]

    async def _seminar(self, seminar: Any) -> None:
        shop = next(h for h in self.town.hubs if h.key == seminar.shop)
        body = {
            "title": seminar.title,
            "organisation": shop.name_ja,
            "instructor_person_id": self.ids[seminar.instructor],
            "hub_id": self.ids[shop.key],
            "area": shop.area,
            "capacity": seminar.capacity,
        }
        self.ids[seminar.key] = (await self.gw.post("/v1/seminars", body, self.key(seminar.key)))["id"]

    async def _enrol(self, pair: tuple[Person, str]) -> None:
        person, seminar = pair
        if self.town.seminars and person.key != next(s for s in self.town.seminars if s.key == seminar).instructor:
            await self.gw.post(f"/v1/seminars/{self.ids[seminar]}/enrollments", {"person_id": self.ids[person.key]}, self.key(seminar, person.key))

    async def _health_station(self) -> None:
        """Health-station groups of walkers per area (at least five founding members each)."""
        walkers: dict[str, list[Person]] = {}
        for person in self.town.people:
            if person.walker:
                walkers.setdefault(person.district, []).append(person)
        groups = [(district, members) for district, members in sorted(walkers.items()) if len(members) >= 5]
        leftovers = [p for district, members in sorted(walkers.items()) if len(members) < 5 for p in members]
        if not groups:
            return

        async def register(item: tuple[str, list[Person]]) -> None:
            district, members = item
            body = {"name": f"{district} 健康ステーション", "area": district, "person_ids": [self.ids[p.key] for p in members]}
            self.ids[f"station:{district}"] = (await self.gw.post("/v1/health/groups", body, self.key("station", district)))["id"]

        await self._each(groups, register)
        first = self.ids.get(f"station:{groups[0][0]}")
        if first:
            await self._each(
                leftovers, lambda p: self.gw.post("/v1/health/enrollments", {"person_id": self.ids[p.key], "group_id": first}, self.key("station", p.key))
            )

    async def _housing(self, first_day: date) -> None:
        async def register(prop: Any) -> None:
            body = {
                "title": prop.title,
                "kind": prop.kind,
                "area": prop.area,
                "rooms": prop.rooms,
                "owner_kind": "ORGANISATION",
                "owner_name": "駒ヶ根市" if prop.kind == "TRIAL_RESIDENCE" else "信州駒ヶ根暮らし推進協議会",
            }
            if prop.kind == "TRIAL_RESIDENCE":
                body["max_occupants"] = prop.rooms + 1
            property_id = (await self.gw.post("/v1/properties", body, self.key(prop.key)))["id"]
            self.ids[prop.key] = property_id
            await self.gw.post(f"/v1/properties/{property_id}/status", {"status": "LISTED"}, self.key(prop.key, "listed"))

        await self._each(self.town.properties, register)
        outsiders = [p for p in self.town.people if p.residency in ("VISITOR", "RELATIONSHIP")]
        rng = random.Random(f"{self.town.seed}:housing")
        relationships = [
            (p, rng.choice(["FORMER_RESIDENT", "FURUSATO_DONOR", "REGULAR_VISITOR", "VOLUNTEER"])) for p in outsiders if p.residency == "RELATIONSHIP"
        ]
        await self._each(
            relationships, lambda pk: self.gw.post("/v1/relationships", {"person_id": self.ids[pk[0].key], "kind": pk[1]}, self.key("rel", pk[0].key))
        )
        workations = [p for p in outsiders if p.residency == "VISITOR" and not p.prospect]

        async def workation(person: Person) -> None:
            started = first_day + timedelta(days=rng.randint(0, max(0, (self.town.as_of - first_day).days - 5)))
            body = {
                "person_id": self.ids[person.key],
                "started_on": started.isoformat(),
                "ended_on": (started + timedelta(days=3)).isoformat(),
                "purpose": "ワーケーション",
            }
            await self.gw.post("/v1/workation-stays", body, self.key("workation", person.key))

        await self._each(workations, workation)
        prospects = [p for p in outsiders if p.prospect]
        await self._each(prospects, self._migration_case)
        trials = [self.ids[p.key] for p in self.town.properties if p.kind == "TRIAL_RESIDENCE" and p.key in self.ids]
        for n, person in enumerate(prospects[: 4 * len(trials)]):
            check_in = self.town.as_of + timedelta(days=3 + 5 * (n // max(1, len(trials))))
            body = {
                "property_id": trials[n % len(trials)],
                "person_id": self.ids[person.key],
                "check_in": check_in.isoformat(),
                "check_out": (check_in + timedelta(days=3)).isoformat(),
                "household_size": 1,
            }
            if f"case:{person.key}" in self.ids:
                body["case_id"] = self.ids[f"case:{person.key}"]
            try:
                await self.gw.post("/v1/trial-stays", body, self.key("trial", person.key))
            except RequestFailed as exc:
                log.debug("%s", exc)

    async def _migration_case(self, person: Person) -> None:
        body = {"person_id": self.ids[person.key], "household_size": 1 + int(person.key[-1]) % 3, "origin": "13", "recorded_by": STAFF}
        case = await self.gw.post("/v1/migration-cases", body, self.key("case", person.key))
        self.ids[f"case:{person.key}"] = case["id"]
        if int(person.key[-1]) % 2 == 0:
            await self.gw.post(
                f"/v1/migration-cases/{case['id']}/stage", {"stage": "CONSULTED", "recorded_by": STAFF}, self.key("case", person.key, "CONSULTED")
            )

    # -- backfill ---------------------------------------------------------------------------
    async def backfill(self, history: list[Day], *, days_at_once: int = 7) -> None:
        for start in range(0, len(history), days_at_once):
            chunk = history[start : start + days_at_once]
            await asyncio.gather(*(self._day(day) for day in chunk))
            self.progress(f"  history up to {chunk[-1].day.isoformat()}: {self.gw.stats.ok} requests, {self.gw.stats.rate():.0f}/s")

    async def _day(self, day: Day) -> None:
        rows = [{"person_id": self.ids[p], "day": day.day.isoformat(), "steps": s, "brisk_walk_minutes": b} for p, s, b in day.steps if p in self.ids]
        await asyncio.gather(
            self._each(day.sessions, self._held_session),
            self._each(day.visits, lambda v: self._visit(v.person, v.hub, v.at)),
            self._each(day.volunteering, self._volunteer),
            self._each(day.work, self._work),
            self._each(day.seminars, self._seminar_session),
            self._each([rows] if rows else [], lambda r: self.gw.post("/v1/health/daily-activity", {"rows": r}, self.key("steps", day.day))),
        )

    async def _held_session(self, held: HeldSession) -> None:
        if held.activity not in self.ids:
            return
        activity = next(a for a in self.town.activities if a.key == held.activity)
        stamp = held.starts_at.isoformat()
        body = {"starts_at": stamp, "ends_at": held.ends_at.isoformat(), "capacity": activity.capacity, "recorded_after": True}
        session_id = (await self.gw.post(f"/v1/activities/{self.ids[held.activity]}/sessions", body, self.key(held.activity, stamp)))["id"]

        async def attend(pair: tuple[str, str]) -> None:
            person, mode = pair
            at = held.starts_at + timedelta(minutes=int(person[-2:]) % 15)
            body = {"person_id": self.ids[person], "mode": mode, "proxy": {"staff_id": STAFF, "reason": PAPER_REGISTER}, "attended_at": at.isoformat()}
            await self.gw.post(f"/v1/sessions/{session_id}/attendance", body, self.key("attend", held.activity, stamp, person))

        await self._each(held.attendees, attend)
        countries = sorted({COUNTRIES[self._people[p].language] for p, _ in held.attendees if self._people[p].language in COUNTRIES})
        await self.gw.post(
            f"/v1/sessions/{session_id}/held", {"countries": countries} if activity.category == "INTERNATIONAL" else {}, self.key("held", session_id)
        )

    async def _visit(self, person: str, hub: str, at: datetime | None) -> None:
        body: dict[str, Any] = {"person_id": self.ids[person], "purpose": "立ち寄り"}
        if at is not None:
            body["visited_at"] = at.isoformat()
        await self.gw.post(f"/v1/hubs/{self.ids[hub]}/visits", body, self.key("visit", person, at.isoformat() if at else datetime.now(TOKYO).isoformat()))

    async def _volunteer(self, shift: Any) -> None:
        body = {"person_id": self.ids[shift.person], "hub_id": self.ids[shift.place], "worked_on": shift.day.isoformat(), "hours": shift.hours}
        await self.gw.post("/v1/volunteer-shifts", body, self.key("volunteer", shift.person, shift.day))

    async def _work(self, shift: Any) -> None:
        engagement = self.ids.get(f"eng:{shift.person}")
        if engagement:
            await self.gw.post(
                f"/v1/engagements/{engagement}/shifts", {"worked_on": shift.day.isoformat(), "hours": shift.hours}, self.key("work", shift.person, shift.day)
            )

    async def _seminar_session(self, held: Any) -> None:
        if held.seminar in self.ids:
            body = {"held_on": held.day.isoformat(), "hours": held.hours, "attendee_ids": [self.ids[p] for p in held.attendees if p in self.ids]}
            await self.gw.post(f"/v1/seminars/{self.ids[held.seminar]}/sessions", body, self.key("seminar", held.seminar, held.day))

    # -- live -------------------------------------------------------------------------------
    async def upcoming(self, weeks: int = 2) -> None:
        """Each weekly activity's sessions of the coming weeks, open for reservations (what a
        resident finds on the console's sessions page). The same day's session is scheduled once,
        however often this runs (its Idempotency-Key names the activity and the day)."""
        today = datetime.now(TOKYO).date()
        plans = []
        for activity in self.town.activities:
            if activity.key not in self.ids:
                continue
            first = today + timedelta(days=(activity.weekday - today.weekday()) % 7 or 7)
            plans += [(activity, first + timedelta(weeks=w)) for w in range(weeks)]

        async def schedule(plan: tuple[Any, date]) -> None:
            activity, day = plan
            starts = datetime.combine(day, activity.start, TOKYO)
            body = {"starts_at": starts.isoformat(), "ends_at": (starts + timedelta(hours=activity.hours)).isoformat(), "capacity": activity.capacity}
            await self.gw.post(f"/v1/activities/{self.ids[activity.key]}/sessions", body, self.key("upcoming", activity.key, day))

        await self._each(plans, schedule)

    async def live(self, stop: asyncio.Event, *, per_second: float = 2.0) -> None:
        """Today's town, a little at a time, until `stop` is set."""
        rng = random.Random(f"{self.town.seed}:live")
        regulars = [p for p in self.town.people if p.habits and p.key in self.ids]
        adults = [p for p in self.town.people if p.district and p.key in self.ids and self.town.as_of.year - p.birth_year >= 18]
        tasks: set[asyncio.Task[None]] = set()
        tick = 0
        while not stop.is_set():
            tick += 1
            choice = rng.random()
            if choice < 0.35 and adults:
                person = rng.choice(adults)
                step = self._visit(person.key, rng.choice(("hub:wellness", "hub:patona")), None)
            elif choice < 0.55 and regulars:
                step = self._session_now(rng, tick, regulars)
            elif choice < 0.7 and adults:
                step = self._volunteer_today(rng.choice(adults), rng)
            elif choice < 0.85:
                step = self._work_today(rng)
            elif choice < 0.95:
                step = self._advance_case(rng)
            else:
                step = self._newcomer(tick)
            task = asyncio.create_task(self._quietly(step))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=1.0 / per_second)
        for task in list(tasks):
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _quietly(self, step: Awaitable[None]) -> None:
        """One live action: a refusal is part of town life (counted), anything else is logged, never fatal."""
        try:
            await step
        except RequestFailed as exc:
            log.debug("%s", exc)
        except Exception:
            log.exception("live action failed")

    async def _session_now(self, rng: random.Random, tick: int, regulars: list[Person]) -> None:
        person = rng.choice(regulars)
        chosen = rng.choice(person.habits)
        activity = next(a for a in self.town.activities if a.key == chosen)
        now = datetime.now(TOKYO).replace(second=0, microsecond=0)
        body = {
            "starts_at": (now - timedelta(minutes=20)).isoformat(),
            "ends_at": (now + timedelta(hours=activity.hours)).isoformat(),
            "capacity": activity.capacity,
            "recorded_after": True,
        }
        session = await self.gw.post(f"/v1/activities/{self.ids[activity.key]}/sessions", body, self.key("live", tick, activity.key))
        members = [p for p in regulars if activity.key in p.habits and rng.random() < p.attendance][:10]
        for member in members:
            attendance = {"person_id": self.ids[member.key], "mode": "ATTEND", "proxy": {"staff_id": STAFF, "reason": "当日受付"}}
            await self.gw.post(f"/v1/sessions/{session['id']}/attendance", attendance, self.key("live", tick, member.key))
        await self.gw.post(f"/v1/sessions/{session['id']}/held", {}, self.key("live", tick, "held"))

    async def _volunteer_today(self, person: Person, rng: random.Random) -> None:
        hub = person.volunteer_hub or "hub:patona"
        today = datetime.now(TOKYO).date()
        body = {"person_id": self.ids[person.key], "hub_id": self.ids[hub], "worked_on": today.isoformat(), "hours": rng.choice((1.0, 2.0, 3.0))}
        await self.gw.post("/v1/volunteer-shifts", body, self.key("live-volunteer", person.key, datetime.now(TOKYO).isoformat()))

    async def _work_today(self, rng: random.Random) -> None:
        workers = [p for p in self.town.people if f"eng:{p.key}" in self.ids]
        if workers:
            person = rng.choice(workers)
            body = {"worked_on": datetime.now(TOKYO).date().isoformat(), "hours": 1.0}
            await self.gw.post(
                f"/v1/engagements/{self.ids[f'eng:{person.key}']}/shifts", body, self.key("live-work", person.key, datetime.now(TOKYO).isoformat())
            )

    async def _advance_case(self, rng: random.Random) -> None:
        cases = sorted(k for k in self.ids if k.startswith("case:"))
        if not cases:
            return
        case_id = self.ids[rng.choice(cases)]
        case = await self.gw.get(f"/v1/migration-cases/{case_id}")
        stage = NEXT_STAGE.get(case["stage"])
        if stage:
            body: dict[str, Any] = {"stage": stage, "recorded_by": STAFF}
            if stage == "TOURED":
                body["property_ids"] = [self.ids[p.key] for p in self.town.properties if p.kind == "VACANT_HOUSE" and p.key in self.ids][:2]
            await self.gw.post(f"/v1/migration-cases/{case_id}/stage", body, self.key("stage", case_id, stage))

    async def _newcomer(self, tick: int) -> None:
        body = {
            "display_name": f"新しい住民 {tick}",
            "name_kana": "アタラシイ ジュウミン",
            "birth_year": 1990 + tick % 20,
            "residency_status": "RESIDENT",
            "preferred_language": "ja",
        }
        person = await self.gw.post("/v1/people", body, self.key("newcomer", tick, datetime.now(TOKYO).date()))
        await self.gw.put(f"/v1/people/{person['id']}/consents/PROFILE")
