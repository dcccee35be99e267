"""Mixed, reproducible person events for replay tests and benchmarks (never used in production).

`people_events` draws a population (age bands, residency, PROFILE opt-ins) and what they do over
some months: hub visits and session attendance (some at 通いの場), volunteering, seminars,
trial stays and moves, 関係人口 registrations, the odd withdrawal. Every event is a CloudEvent
with its event time, keyed by person, addressed to its pillar topic, in per-person time order.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from komagane_contracts.envelope import CloudEvent
from komagane_contracts.events.base import EventModel
from komagane_contracts.events.exchange import ActivityCategory, HubVisited, ParticipantAttended, ParticipationMode, VolunteerShiftCompleted
from komagane_contracts.events.housing import HouseholdMovedIn, MoveChannel, RelationshipKind, RelationshipRegistered, TrialStayCompleted
from komagane_contracts.events.jobs import SeminarAttended
from komagane_contracts.events.people import ConsentGranted, ConsentWithdrawn, PersonRegistered
from komagane_contracts.vocabulary import AgeBand, ResidencyStatus
from komagane_kit.clock import tokyo_date

BANDS = list(AgeBand)
BAND_WEIGHTS = [0.12, 0.18, 0.28, 0.22, 0.20]
CATEGORIES = [c for c in ActivityCategory if c is not ActivityCategory.KAYOINOBA]


@dataclass(frozen=True)
class Message:
    topic: str
    key: bytes
    event: CloudEvent


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def people_events(
    *,
    people: int,
    events_per_person: int,
    start: date,
    days: int,
    seed: int = 7,
    hubs: int = 8,
    opt_in_share: float = 0.7,
) -> Iterator[Message]:
    """About `people × events_per_person` messages (registration and consent included)."""
    rng = random.Random(seed)
    hub_ids = [f"hub-{seed}-{i}" for i in range(hubs)]
    for _ in range(people):
        person_id = _uuid(rng)
        band = rng.choices(BANDS, BAND_WEIGHTS)[0]
        residency = ResidencyStatus.RELATIONSHIP if rng.random() < 0.08 else ResidencyStatus.RESIDENT
        first = datetime.combine(start, datetime.min.time(), UTC) + timedelta(hours=rng.randrange(24 * 7))
        yield _msg(
            rng,
            PersonRegistered(
                person_id=person_id, age_band=band, residency_status=residency, preferred_language="ja", lives_alone=rng.random() < 0.3, registered_at=first
            ),
            first,
        )
        opted_in = rng.random() < opt_in_share
        if opted_in:
            granted = first + timedelta(minutes=5)
            yield _msg(rng, ConsentGranted(person_id=person_id, purpose="PROFILE", granted_at=granted), granted)
        home = rng.choice(hub_ids)
        senior = band in (AgeBand.SENIOR_65_74, AgeBand.SENIOR_75_PLUS)
        times = sorted(first + timedelta(hours=1, seconds=rng.randrange(days * 86400)) for _ in range(max(0, events_per_person - 2)))
        for at in times:
            yield _msg(rng, _activity(rng, person_id, home if rng.random() < 0.7 else rng.choice(hub_ids), senior, at), at)
        if opted_in and rng.random() < 0.03:
            withdrawn = first + timedelta(days=days, hours=2)
            yield _msg(rng, ConsentWithdrawn(person_id=person_id, purpose="PROFILE", withdrawn_at=withdrawn), withdrawn)


def _activity(rng: random.Random, person_id: str, hub_id: str, senior: bool, at: datetime) -> EventModel:
    roll = rng.random()
    day = tokyo_date(at)  # the day it happened in Komagane
    if roll < 0.45:
        kayoinoba = senior and rng.random() < 0.4
        category = ActivityCategory.KAYOINOBA if kayoinoba else rng.choice(CATEGORIES)
        mode = ParticipationMode.HOST if rng.random() < 0.08 else ParticipationMode.ATTEND
        return ParticipantAttended(
            person_id=person_id,
            attendance_id=_uuid(rng),
            session_id=f"{hub_id}-s{day.isoformat()}",
            activity_id=f"{hub_id}-a{category.value}",
            hub_id=hub_id,
            category=category,
            is_kayoinoba=kayoinoba,
            mode=mode,
            attended_at=at,
        )
    if roll < 0.75:
        return HubVisited(person_id=person_id, visit_id=_uuid(rng), hub_id=hub_id, visited_at=at)
    if roll < 0.87:
        return VolunteerShiftCompleted(person_id=person_id, shift_id=_uuid(rng), hub_id=hub_id, worked_on=day, hours=rng.choice([1.0, 2.0, 2.5]))
    if roll < 0.96:
        return SeminarAttended(person_id=person_id, seminar_id=f"seminar-{rng.randrange(20)}", seminar_session_id=_uuid(rng), held_on=day, hours=2.0)
    if roll < 0.98:
        return TrialStayCompleted(
            person_id=person_id, stay_id=_uuid(rng), property_id="property-1", check_in=day - timedelta(days=5), completed_on=day, nights=5
        )
    if roll < 0.99:
        return HouseholdMovedIn(
            person_id=person_id, move_id=_uuid(rng), household_size=2, origin="13", channel=MoveChannel.TRIAL_STAY, area="central", moved_in_on=day
        )
    return RelationshipRegistered(person_id=person_id, relationship_id=_uuid(rng), kind=RelationshipKind.REGULAR_VISITOR, registered_on=day)


def _msg(rng: random.Random, body: EventModel, at: datetime) -> Message:
    event = CloudEvent.of(body, time=at, event_id=_uuid(rng))
    return Message(topic=body.topic, key=str(body.subject()).encode(), event=event)
