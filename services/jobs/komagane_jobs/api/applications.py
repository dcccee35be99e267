"""Deciding an application: accepted or declined, once."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from komagane_contracts.events.jobs import ApplicationDecided, Arrangement
from komagane_jobs.lookups import get_or_404, locked, publish
from komagane_jobs.models import Application, ApplicationPublic, ApplicationStatus, DecisionCreate, Opportunity
from komagane_kit.clock import now
from komagane_kit.errors import Problem
from komagane_kit.inputs import SafeStr
from komagane_kit.service import DbSession

router = APIRouter(prefix="/v1/applications", tags=["applications"])
ApplicationId = Annotated[SafeStr, Path(max_length=36)]


@router.get("/{application_id}", response_model=ApplicationPublic)
def get_application(application_id: ApplicationId, session: DbSession) -> ApplicationPublic:
    return ApplicationPublic.model_validate(get_or_404(session, Application, application_id))


@router.post("/{application_id}/decision", response_model=ApplicationPublic)
def decide(application_id: ApplicationId, body: DecisionCreate, session: DbSession) -> ApplicationPublic:
    application = locked(session, Application, application_id)
    if application.status != ApplicationStatus.SUBMITTED.value:
        raise Problem(409, "application-decided", f"The application was already {application.status.lower()}.")
    opportunity = get_or_404(session, Opportunity, application.opportunity_id)
    application.status = body.decision.value
    application.note = body.note
    application.decided_at = now()
    session.add(application)
    arrangement = Arrangement(opportunity.arrangement)
    publish(
        session,
        ApplicationDecided(
            person_id=application.person_id,
            application_id=application.id,
            opportunity_id=opportunity.id,
            arrangement=arrangement,
            decision=body.decision,
        ),
    )
    session.commit()
    return ApplicationPublic.model_validate(application)
