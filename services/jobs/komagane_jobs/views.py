"""Output shapes built from stored rows, and the matching module's inputs built from them."""

from __future__ import annotations

from datetime import time

from komagane_contracts.events.jobs import Accommodation, Arrangement, EngagementEndReason
from komagane_jobs.lookups import load
from komagane_jobs.matching import Match, Offer, Seeker, Slot
from komagane_jobs.models import (
    Cooperator,
    CooperatorPublic,
    CooperatorStatus,
    Engagement,
    EngagementPublic,
    EngagementStatus,
    MatchComponentPublic,
    MatchPublic,
    OpenStatus,
    Opportunity,
    OpportunityPublic,
    PersonSkills,
    Seminar,
    SeminarPublic,
    SkillsPublic,
    WeeklySlot,
)


def slots_of(raw: str) -> list[WeeklySlot]:
    return [WeeklySlot.model_validate(s) for s in load(raw)]


def opportunity_public(row: Opportunity) -> OpportunityPublic:
    return OpportunityPublic(
        id=row.id,
        title=row.title,
        organisation=row.organisation,
        hub_id=row.hub_id,
        area=row.area,
        arrangement=Arrangement(row.arrangement),
        paid=row.paid,
        weekly_slots=slots_of(row.weekly_slots),
        min_weekly_hours=row.min_weekly_hours,
        skills_wanted=load(row.skills_wanted),
        accommodations=[Accommodation(a) for a in load(row.accommodations)],
        languages=load(row.languages),
        description=row.description,
        status=OpenStatus(row.status),
        closed_on=row.closed_on,
        created_at=row.created_at,
    )


def engagement_public(row: Engagement) -> EngagementPublic:
    return EngagementPublic(
        id=row.id,
        opportunity_id=row.opportunity_id,
        person_id=row.person_id,
        application_id=row.application_id,
        arrangement=Arrangement(row.arrangement),
        paid=row.paid,
        hub_id=row.hub_id,
        starts_on=row.starts_on,
        ends_on=row.ends_on,
        status=EngagementStatus(row.status),
        ended_on=row.ended_on,
        end_reason=EngagementEndReason(row.end_reason) if row.end_reason else None,
    )


def weekly_hours(slots: list[WeeklySlot]) -> float:
    """Hours a week the slots cover, overlapping slots counted once."""
    covered = {(s.weekday, minute) for s in slots for minute in range(_minutes(s.start), _minutes(s.end))}
    return round(len(covered) / 60, 2)


def skills_public(row: PersonSkills) -> SkillsPublic:
    availability = slots_of(row.availability)
    return SkillsPublic(
        person_id=row.person_id,
        skills=load(row.skills),
        languages=load(row.languages),
        availability=availability,
        accessibility_needs=[Accommodation(a) for a in load(row.accessibility_needs)],
        area=row.area,
        weekly_available_hours=weekly_hours(availability),
        updated_at=row.updated_at,
    )


def seminar_public(row: Seminar) -> SeminarPublic:
    return SeminarPublic.model_validate(row, update={"languages": load(row.languages)})


def cooperator_public(row: Cooperator) -> CooperatorPublic:
    return CooperatorPublic.model_validate(row, update={"status": CooperatorStatus(row.status)})


def _minutes(value: time) -> int:
    return value.hour * 60 + value.minute


def _slots(raw: str) -> tuple[Slot, ...]:
    return tuple(Slot(s.weekday, _minutes(s.start), _minutes(s.end)) for s in slots_of(raw))


def seeker(row: PersonSkills) -> Seeker:
    return Seeker(
        skills=frozenset(load(row.skills)),
        languages=frozenset(load(row.languages)),
        availability=_slots(row.availability),
        needs=frozenset(load(row.accessibility_needs)),
        area=row.area,
    )


def offer(row: Opportunity) -> Offer:
    return Offer(
        opportunity_id=row.id,
        skills=tuple(load(row.skills_wanted)),
        slots=_slots(row.weekly_slots),
        min_weekly_hours=row.min_weekly_hours,
        accommodations=frozenset(load(row.accommodations)),
        languages=tuple(load(row.languages)),
        area=row.area,
    )


def match_public(match: Match, row: Opportunity) -> MatchPublic:
    return MatchPublic(
        opportunity_id=row.id,
        title=row.title,
        organisation=row.organisation,
        arrangement=Arrangement(row.arrangement),
        area=row.area,
        score=match.score,
        components=[MatchComponentPublic(name=c.name, score=round(c.score, 3), weight=c.weight, reason=c.reason) for c in match.components],
    )
