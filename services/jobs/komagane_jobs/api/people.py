"""A person's skills, languages, availability and accessibility needs, and their matches (参加支援)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, status
from sqlmodel import Session, col, select

from komagane_contracts.events.jobs import Arrangement, MatchProposed, SkillDeclared
from komagane_jobs.api.opportunities import require_open
from komagane_jobs.lookups import dump, get_or_422, publish
from komagane_jobs.matching import rank, score
from komagane_jobs.models import (
    MatchProposal,
    MatchProposalCreate,
    MatchProposalPublic,
    MatchPublic,
    OpenStatus,
    Opportunity,
    PersonSkills,
    SkillsDeclare,
    SkillsPublic,
)
from komagane_jobs.skills import normalise_tags
from komagane_jobs.views import match_public, offer, seeker, skills_public
from komagane_kit.clock import now
from komagane_kit.errors import Problem
from komagane_kit.inputs import SafeStr
from komagane_kit.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page, decode_cursor, encode_cursor
from komagane_kit.people_replica import known_person
from komagane_kit.service import DbSession

router = APIRouter(prefix="/v1/people/{person_id}", tags=["skills and matching"])
PersonId = Annotated[SafeStr, Path(max_length=36)]


def _person(session: Session, person_id: str) -> None:
    if known_person(session, person_id) is None:
        raise Problem(404, "person-not-found", f"Person {person_id} is not registered (or registration has not reached this service yet).")


def _declared(session: Session, person_id: str) -> PersonSkills:
    _person(session, person_id)
    found = session.get(PersonSkills, person_id)
    if found is None:
        raise Problem(404, "skills-not-declared", f"Person {person_id} has not declared skills or availability yet.")
    return found


@router.put("/skills", response_model=SkillsPublic)
def declare_skills(person_id: PersonId, body: SkillsDeclare, session: DbSession) -> SkillsPublic:
    _person(session, person_id)
    row = session.get(PersonSkills, person_id) or PersonSkills(person_id=person_id)
    row.skills = dump(normalise_tags(body.skills))
    row.languages = dump(list(dict.fromkeys(body.languages)))
    row.availability = dump([s.model_dump(mode="json") for s in body.availability])
    row.accessibility_needs = dump([a.value for a in dict.fromkeys(body.accessibility_needs)])
    row.area = body.area
    row.updated_at = now()
    session.add(row)
    declared = skills_public(row)
    # Accessibility needs stay here (they imply disability); the event says what a person offers.
    publish(
        session,
        SkillDeclared(person_id=person_id, skills=declared.skills, languages=declared.languages, weekly_available_hours=declared.weekly_available_hours),
    )
    session.commit()
    return declared


@router.get("/skills", response_model=SkillsPublic)
def get_skills(person_id: PersonId, session: DbSession) -> SkillsPublic:
    return skills_public(_declared(session, person_id))


@router.get("/matches", response_model=Page[MatchPublic])
def matches(
    person_id: PersonId,
    session: DbSession,
    arrangement: Annotated[list[Arrangement] | None, Query(description="Only these arrangements (repeat the parameter)")] = None,
    cursor: Annotated[SafeStr | None, Query(max_length=500)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
) -> Page[MatchPublic]:
    """Open opportunities, best fit first, each with the reasons behind its score."""
    profile = _declared(session, person_id)
    query = select(Opportunity).where(Opportunity.status == OpenStatus.OPEN.value)
    if arrangement:
        query = query.where(col(Opportunity.arrangement).in_([a.value for a in arrangement]))
    opportunities = {o.id: o for o in session.exec(query).all()}
    ranked = rank(seeker(profile), (offer(o) for o in opportunities.values()))
    after = decode_cursor(cursor, (int,))
    start = after[0] if after is not None else 0
    page = ranked[start : start + limit]
    more = start + limit < len(ranked)
    return Page(items=[match_public(m, opportunities[m.opportunity_id]) for m in page], next_cursor=encode_cursor(start + limit) if more else None)


@router.post("/matches", status_code=status.HTTP_201_CREATED, response_model=MatchProposalPublic)
def propose_match(person_id: PersonId, body: MatchProposalCreate, session: DbSession) -> MatchProposalPublic:
    """Staff suggest an opportunity to the person; the score they saw is recorded with it."""
    profile = _declared(session, person_id)
    opportunity = get_or_422(session, Opportunity, body.opportunity_id, "opportunity_id")
    require_open(opportunity)
    fit = score(seeker(profile), offer(opportunity))
    proposal = MatchProposal(person_id=person_id, opportunity_id=opportunity.id, score=fit.score, staff_id=body.staff_id)
    session.add(proposal)
    arrangement = Arrangement(opportunity.arrangement)
    publish(
        session,
        MatchProposed(person_id=person_id, proposal_id=proposal.id, opportunity_id=opportunity.id, arrangement=arrangement, score=fit.score),
    )
    session.commit()
    return MatchProposalPublic.model_validate(proposal)
