"""地域おこし協力隊: commissioning a cooperator for a term, and completing it (settled? business?)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response, status
from sqlmodel import col, select

from komagane_contracts.events.jobs import CooperatorCommissioned, CooperatorTermCompleted
from komagane_jobs.lookups import get_or_404, invalid, locked, publish, require_person, today
from komagane_jobs.models import CompletionCreate, Cooperator, CooperatorCreate, CooperatorPublic, CooperatorStatus
from komagane_jobs.views import cooperator_public
from komagane_kit.errors import Problem
from komagane_kit.inputs import SafeStr
from komagane_kit.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page, page_by_id
from komagane_kit.service import DbSession

router = APIRouter(prefix="/v1/cooperators", tags=["地域おこし協力隊"])
CooperatorId = Annotated[SafeStr, Path(max_length=36)]


@router.post("", status_code=status.HTTP_201_CREATED, response_model=CooperatorPublic)
def commission(body: CooperatorCreate, session: DbSession, response: Response) -> CooperatorPublic:
    require_person(session, body.person_id)
    active = select(Cooperator).where(Cooperator.person_id == body.person_id, Cooperator.status == CooperatorStatus.ACTIVE.value)
    if session.exec(active).first() is not None:
        raise Problem(409, "already-commissioned", "This person is already serving a cooperator term.")
    cooperator = Cooperator.model_validate(body)
    session.add(cooperator)
    publish(
        session,
        CooperatorCommissioned(
            person_id=body.person_id,
            cooperator_id=cooperator.id,
            mission=body.mission,
            area=body.area,
            term_starts_on=body.term_starts_on,
            term_ends_on=body.term_ends_on,
        ),
    )
    session.commit()
    response.headers["Location"] = f"/v1/cooperators/{cooperator.id}"
    return cooperator_public(cooperator)


@router.get("", response_model=Page[CooperatorPublic])
def list_cooperators(
    session: DbSession,
    status_: Annotated[CooperatorStatus | None, Query(alias="status")] = None,
    cursor: Annotated[SafeStr | None, Query(max_length=500)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
) -> Page[CooperatorPublic]:
    query = select(Cooperator).order_by(col(Cooperator.id))
    if status_:
        query = query.where(Cooperator.status == status_.value)
    return page_by_id(session, query, Cooperator, cursor, limit, lambda c: cooperator_public(c))


@router.get("/{cooperator_id}", response_model=CooperatorPublic)
def get_cooperator(cooperator_id: CooperatorId, session: DbSession) -> CooperatorPublic:
    return cooperator_public(get_or_404(session, Cooperator, cooperator_id))


@router.post("/{cooperator_id}/completion", response_model=CooperatorPublic)
def complete_term(cooperator_id: CooperatorId, body: CompletionCreate, session: DbSession) -> CooperatorPublic:
    cooperator = locked(session, Cooperator, cooperator_id)
    if cooperator.status != CooperatorStatus.ACTIVE.value:
        raise Problem(409, "term-completed", f"The term was already completed on {cooperator.completed_on}.")
    if not cooperator.term_starts_on < body.completed_on <= today():
        raise invalid("completed_on", f"must be after the term started ({cooperator.term_starts_on}) and not in the future")
    cooperator.status = CooperatorStatus.COMPLETED.value
    cooperator.completed_on = body.completed_on
    cooperator.settled = body.settled
    cooperator.started_business = body.started_business
    session.add(cooperator)
    publish(
        session,
        CooperatorTermCompleted(
            person_id=cooperator.person_id,
            cooperator_id=cooperator.id,
            completed_on=body.completed_on,
            settled=body.settled,
            started_business=body.started_business,
        ),
    )
    session.commit()
    return cooperator_public(cooperator)
