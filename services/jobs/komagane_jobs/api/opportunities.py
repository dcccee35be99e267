"""Opportunities (work at hubs, 就労継続支援 A型/B型, short-hours work, volunteering, …) and applying."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response, status
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from komagane_contracts.events.jobs import ApplicationSubmitted, Arrangement, OpportunityClosed, OpportunityPosted
from komagane_jobs.lookups import dump, get_or_404, publish, require_person, today
from komagane_jobs.models import (
    Application,
    ApplicationCreate,
    ApplicationPublic,
    OpenStatus,
    Opportunity,
    OpportunityClose,
    OpportunityCreate,
    OpportunityPublic,
)
from komagane_jobs.skills import normalise_tags
from komagane_jobs.views import opportunity_public
from komagane_kit.errors import Problem
from komagane_kit.inputs import SafeStr
from komagane_kit.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page, page_by_id
from komagane_kit.service import DbSession

router = APIRouter(prefix="/v1/opportunities", tags=["opportunities"])
OpportunityId = Annotated[SafeStr, Path(max_length=36)]


def require_open(opportunity: Opportunity) -> None:
    if opportunity.status != OpenStatus.OPEN.value:
        raise Problem(409, "opportunity-closed", f"Opportunity {opportunity.id} is closed.")


@router.post("", status_code=status.HTTP_201_CREATED, response_model=OpportunityPublic)
def post_opportunity(body: OpportunityCreate, session: DbSession, response: Response) -> OpportunityPublic:
    skills = normalise_tags(body.skills_wanted)
    accommodations = list(dict.fromkeys(body.accommodations))
    opportunity = Opportunity(
        title=body.title,
        organisation=body.organisation,
        hub_id=body.hub_id,
        area=body.area,
        arrangement=body.arrangement.value,
        paid=body.paid,
        weekly_slots=dump([s.model_dump(mode="json") for s in body.weekly_slots]),
        min_weekly_hours=body.min_weekly_hours,
        skills_wanted=dump(skills),
        accommodations=dump([a.value for a in accommodations]),
        languages=dump(body.languages),
        description=body.description,
    )
    session.add(opportunity)
    publish(
        session,
        OpportunityPosted(
            opportunity_id=opportunity.id,
            organisation=body.organisation,
            hub_id=body.hub_id,
            area=body.area,
            arrangement=body.arrangement,
            paid=body.paid,
            min_weekly_hours=body.min_weekly_hours,
            skills_wanted=skills,
            accommodations=accommodations,
            languages=body.languages,
        ),
    )
    session.commit()
    response.headers["Location"] = f"/v1/opportunities/{opportunity.id}"
    return opportunity_public(opportunity)


@router.get("", response_model=Page[OpportunityPublic])
def list_opportunities(
    session: DbSession,
    status_: Annotated[OpenStatus | None, Query(alias="status")] = None,
    arrangement: Arrangement | None = None,
    area: Annotated[SafeStr | None, Query(max_length=100)] = None,
    hub_id: Annotated[SafeStr | None, Query(max_length=36)] = None,
    cursor: Annotated[SafeStr | None, Query(max_length=500)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
) -> Page[OpportunityPublic]:
    query = select(Opportunity).order_by(col(Opportunity.id))
    if status_:
        query = query.where(Opportunity.status == status_.value)
    if arrangement:
        query = query.where(Opportunity.arrangement == arrangement.value)
    if area:
        query = query.where(Opportunity.area == area)
    if hub_id:
        query = query.where(Opportunity.hub_id == hub_id)
    return page_by_id(session, query, Opportunity, cursor, limit, lambda o: opportunity_public(o))


@router.get("/{opportunity_id}", response_model=OpportunityPublic)
def get_opportunity(opportunity_id: OpportunityId, session: DbSession) -> OpportunityPublic:
    return opportunity_public(get_or_404(session, Opportunity, opportunity_id))


@router.post("/{opportunity_id}/close", response_model=OpportunityPublic)
def close_opportunity(opportunity_id: OpportunityId, body: OpportunityClose, session: DbSession) -> OpportunityPublic:
    opportunity = get_or_404(session, Opportunity, opportunity_id)
    require_open(opportunity)
    closed_on = body.closed_on or today()
    opportunity.status = OpenStatus.CLOSED.value
    opportunity.closed_on = closed_on
    session.add(opportunity)
    publish(session, OpportunityClosed(opportunity_id=opportunity.id, closed_on=closed_on))
    session.commit()
    return opportunity_public(opportunity)


@router.post("/{opportunity_id}/applications", status_code=status.HTTP_201_CREATED, response_model=ApplicationPublic)
def apply(opportunity_id: OpportunityId, body: ApplicationCreate, session: DbSession, response: Response) -> ApplicationPublic:
    opportunity = get_or_404(session, Opportunity, opportunity_id)
    require_open(opportunity)
    require_person(session, body.person_id)
    duplicate = select(Application).where(Application.opportunity_id == opportunity_id, Application.person_id == body.person_id)
    if session.exec(duplicate).first() is not None:
        raise Problem(409, "already-applied", "This person has already applied for this opportunity.")
    application = Application(opportunity_id=opportunity_id, person_id=body.person_id, message=body.message)
    session.add(application)
    arrangement = Arrangement(opportunity.arrangement)
    publish(
        session,
        ApplicationSubmitted(person_id=body.person_id, application_id=application.id, opportunity_id=opportunity_id, arrangement=arrangement),
    )
    try:
        session.commit()
    except IntegrityError as exc:  # a concurrent duplicate won the race
        session.rollback()
        raise Problem(409, "already-applied", "This person has already applied for this opportunity.") from exc
    response.headers["Location"] = f"/v1/applications/{application.id}"
    return ApplicationPublic.model_validate(application)


@router.get("/{opportunity_id}/applications", response_model=Page[ApplicationPublic])
def list_applications(
    opportunity_id: OpportunityId,
    session: DbSession,
    cursor: Annotated[SafeStr | None, Query(max_length=500)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
) -> Page[ApplicationPublic]:
    get_or_404(session, Opportunity, opportunity_id)
    query = select(Application).where(Application.opportunity_id == opportunity_id).order_by(col(Application.id))
    return page_by_id(session, query, Application, cursor, limit, lambda a: ApplicationPublic.model_validate(a))
