"""Engagements: starting one, work shifts, stepping the arrangement (B型 → A型 → general), ending.

Every change to an engagement first takes its row lock (see lookups.locked), so two requests
for one engagement cannot both pass a check (a day's hours, "not ended yet") and then write.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Path, Query, Response, status
from sqlalchemy import func, update
from sqlmodel import Session, col, select

from komagane_contracts.events.jobs import Arrangement, ArrangementStepped, EngagementEnded, EngagementStarted, ShiftWorked
from komagane_jobs.api.opportunities import require_open
from komagane_jobs.lookups import get_or_404, get_or_422, invalid, locked, publish, require_person, today
from komagane_jobs.models import (
    Application,
    ApplicationStatus,
    ArrangementStep,
    EndCreate,
    Engagement,
    EngagementCreate,
    EngagementPublic,
    EngagementStatus,
    Opportunity,
    ShiftCreate,
    ShiftPublic,
    StepCreate,
    WorkShift,
)
from komagane_jobs.views import engagement_public
from komagane_kit.errors import Problem
from komagane_kit.inputs import SafeStr
from komagane_kit.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page, page_by_id
from komagane_kit.people_replica import KnownPerson
from komagane_kit.service import DbSession

router = APIRouter(prefix="/v1/engagements", tags=["engagements"])
EngagementId = Annotated[SafeStr, Path(max_length=36)]
HOURS_PER_DAY = 24.0

# The employment ladder: stepping up is progress; anything else needs a reason.
# VOLUNTEER and COOPERATOR are roles of their own, not rungs.
LADDER: dict[Arrangement, int] = {
    Arrangement.WELFARE_B: 0,
    Arrangement.WELFARE_A: 1,
    Arrangement.TRAINING: 1,
    Arrangement.SHORT_TIME: 2,
    Arrangement.PART_TIME: 3,
    Arrangement.GENERAL: 4,
}


def _require_active(engagement: Engagement) -> None:
    if engagement.status != EngagementStatus.ACTIVE.value:
        raise Problem(409, "engagement-ended", f"The engagement ended on {engagement.ended_on}.")


def _steps(session: Session, engagement_id: str) -> list[ArrangementStep]:
    query = select(ArrangementStep).where(ArrangementStep.engagement_id == engagement_id).order_by(col(ArrangementStep.stepped_on))
    return list(session.exec(query).all())


def _arrangement_on(session: Session, engagement: Engagement, day: date) -> Arrangement:
    """The arrangement in force on `day`: a shift recorded late keeps the arrangement of its day."""
    current = Arrangement(engagement.arrangement)
    for step in reversed(_steps(session, engagement.id)):
        if step.stepped_on <= day:
            break
        current = Arrangement(step.from_arrangement)
    return current


def _last_day(engagement: Engagement) -> date:
    """The last day work can be recorded for: ended, planned end, or today, whichever is first."""
    return min(d for d in (engagement.ended_on, engagement.ends_on, today()) if d is not None)


@router.post("", status_code=status.HTTP_201_CREATED, response_model=EngagementPublic)
def start_engagement(body: EngagementCreate, session: DbSession, response: Response) -> EngagementPublic:
    opportunity = get_or_422(session, Opportunity, body.opportunity_id, "opportunity_id")
    require_open(opportunity)
    require_person(session, body.person_id)
    if body.application_id is not None:
        application = get_or_422(session, Application, body.application_id, "application_id")
        if (application.person_id, application.opportunity_id) != (body.person_id, body.opportunity_id):
            raise invalid("application_id", "is for another person or opportunity")
        if application.status != ApplicationStatus.ACCEPTED.value:
            raise Problem(409, "application-not-accepted", f"The application is {application.status.lower()}, not accepted.")
    ongoing = select(Engagement).where(
        Engagement.person_id == body.person_id, Engagement.opportunity_id == body.opportunity_id, Engagement.status == EngagementStatus.ACTIVE.value
    )
    if session.exec(ongoing).first() is not None:
        raise Problem(409, "already-engaged", "This person already has an active engagement in this opportunity.")
    arrangement = Arrangement(opportunity.arrangement)
    engagement = Engagement(
        opportunity_id=opportunity.id,
        person_id=body.person_id,
        application_id=body.application_id,
        arrangement=arrangement.value,
        paid=opportunity.paid,
        hub_id=opportunity.hub_id,
        starts_on=body.starts_on,
        ends_on=body.ends_on,
    )
    session.add(engagement)
    publish(
        session,
        EngagementStarted(
            person_id=body.person_id,
            engagement_id=engagement.id,
            opportunity_id=opportunity.id,
            arrangement=arrangement,
            paid=opportunity.paid,
            hub_id=opportunity.hub_id,
            starts_on=body.starts_on,
            ends_on=body.ends_on,
        ),
    )
    session.commit()
    response.headers["Location"] = f"/v1/engagements/{engagement.id}"
    return engagement_public(engagement)


@router.get("", response_model=Page[EngagementPublic])
def list_engagements(
    session: DbSession,
    person_id: Annotated[SafeStr | None, Query(max_length=36)] = None,
    opportunity_id: Annotated[SafeStr | None, Query(max_length=36)] = None,
    cursor: Annotated[SafeStr | None, Query(max_length=500)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
) -> Page[EngagementPublic]:
    query = select(Engagement).order_by(col(Engagement.id))
    if person_id:
        query = query.where(Engagement.person_id == person_id)
    if opportunity_id:
        query = query.where(Engagement.opportunity_id == opportunity_id)
    return page_by_id(session, query, Engagement, cursor, limit, lambda e: engagement_public(e))


@router.get("/{engagement_id}", response_model=EngagementPublic)
def get_engagement(engagement_id: EngagementId, session: DbSession) -> EngagementPublic:
    return engagement_public(get_or_404(session, Engagement, engagement_id))


@router.post("/{engagement_id}/shifts", status_code=status.HTTP_201_CREATED, response_model=ShiftPublic)
def record_shift(engagement_id: EngagementId, body: ShiftCreate, session: DbSession) -> ShiftPublic:
    engagement = locked(session, Engagement, engagement_id)
    if body.worked_on < engagement.starts_on:
        raise invalid("worked_on", f"before the engagement started on {engagement.starts_on}")
    if body.worked_on > _last_day(engagement):
        raise invalid("worked_on", f"after the engagement's last day so far ({_last_day(engagement)})")
    # A person has 24 hours in a day, across all their engagements: serialise the person's
    # shifts on their replica row (a no-op update takes its write lock) before summing the day.
    session.execute(update(KnownPerson).where(col(KnownPerson.person_id) == engagement.person_id).values(person_id=KnownPerson.person_id))
    same_day = (WorkShift.person_id == engagement.person_id, WorkShift.worked_on == body.worked_on)
    booked = session.exec(select(func.coalesce(func.sum(WorkShift.hours), 0.0)).where(*same_day)).one()
    if float(booked) + body.hours > HOURS_PER_DAY:
        raise invalid("hours", f"{float(booked):g} h already recorded on {body.worked_on}; a day has {HOURS_PER_DAY:g} h")
    shift = WorkShift(engagement_id=engagement.id, person_id=engagement.person_id, worked_on=body.worked_on, hours=body.hours)
    session.add(shift)
    arrangement = _arrangement_on(session, engagement, body.worked_on)
    publish(
        session,
        ShiftWorked(
            person_id=engagement.person_id,
            shift_id=shift.id,
            engagement_id=engagement.id,
            arrangement=arrangement,
            hub_id=engagement.hub_id,
            worked_on=body.worked_on,
            hours=body.hours,
        ),
    )
    session.commit()
    return ShiftPublic.model_validate(shift)


@router.post("/{engagement_id}/steps", response_model=EngagementPublic)
def step_arrangement(engagement_id: EngagementId, body: StepCreate, session: DbSession) -> EngagementPublic:
    engagement = locked(session, Engagement, engagement_id)
    _require_active(engagement)
    current = Arrangement(engagement.arrangement)
    if body.to_arrangement is current:
        raise invalid("to_arrangement", f"already {current.value}")
    if current not in LADDER:
        raise Problem(409, "not-on-ladder", f"A {current.value} engagement has no arrangement steps; end it and start another.")
    if body.to_arrangement not in LADDER:
        raise invalid("to_arrangement", f"{body.to_arrangement.value} is not on the employment ladder")
    backwards = LADDER[body.to_arrangement] < LADDER[current]
    if LADDER[body.to_arrangement] <= LADDER[current] and not (body.reason and body.reason.strip()):
        raise invalid("reason", "required for a step that is not up the ladder")
    steps = _steps(session, engagement.id)
    earliest = steps[-1].stepped_on if steps else engagement.starts_on
    if not earliest <= body.stepped_on <= _last_day(engagement):
        raise invalid("stepped_on", f"must be between {earliest} and {_last_day(engagement)}")
    session.add(
        ArrangementStep(
            engagement_id=engagement.id,
            from_arrangement=current.value,
            to_arrangement=body.to_arrangement.value,
            stepped_on=body.stepped_on,
            reason=body.reason,
        )
    )
    engagement.arrangement = body.to_arrangement.value
    session.add(engagement)
    publish(
        session,
        ArrangementStepped(
            person_id=engagement.person_id,
            engagement_id=engagement.id,
            from_arrangement=current,
            to_arrangement=body.to_arrangement,
            stepped_on=body.stepped_on,
            backwards=backwards,
        ),
    )
    session.commit()
    return engagement_public(engagement)


@router.post("/{engagement_id}/end", response_model=EngagementPublic)
def end_engagement(engagement_id: EngagementId, body: EndCreate, session: DbSession) -> EngagementPublic:
    engagement = locked(session, Engagement, engagement_id)
    _require_active(engagement)
    last_shift = session.exec(select(func.max(WorkShift.worked_on)).where(WorkShift.engagement_id == engagement.id)).one()
    steps = _steps(session, engagement.id)
    earliest = max(d for d in (engagement.starts_on, last_shift, steps[-1].stepped_on if steps else None) if d is not None)
    if not earliest <= body.ended_on <= today():
        raise invalid("ended_on", f"must be between {earliest} (start, last shift or step) and today")
    engagement.status = EngagementStatus.ENDED.value
    engagement.ended_on = body.ended_on
    engagement.end_reason = body.reason.value
    session.add(engagement)
    arrangement = Arrangement(engagement.arrangement)
    publish(
        session,
        EngagementEnded(person_id=engagement.person_id, engagement_id=engagement.id, arrangement=arrangement, ended_on=body.ended_on, reason=body.reason),
    )
    session.commit()
    return engagement_public(engagement)
