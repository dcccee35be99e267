"""Migration cases of the city's migration council: a prospect's way from inquiry to settling.

The stage rules are in komagane_housing.lifecycle, the one place stages change in
komagane_housing.stages (staff by hand, or the case following its trial stays and moves). Every
change is one MigrationStageChanged event with who recorded it, and a row of the case's history,
where the consultations and tours attended (with the properties shown) stay on record.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response, status
from sqlmodel import col, select

from komagane_contracts.events.housing import MigrationCaseOpened, MigrationStage
from komagane_housing import stages
from komagane_housing.lookups import PROSPECT_STATUSES, get_or_404, get_or_422, invalid, not_future, publish, require_person, today
from komagane_housing.models import CaseCreate, CasePublic, MigrationCase, Property, StageChangeCreate, StageRecord
from komagane_housing.views import case_public
from komagane_kit.inputs import SafeStr
from komagane_kit.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page, page_by_id
from komagane_kit.service import DbSession

router = APIRouter(prefix="/v1/migration-cases", tags=["migration cases"])
CaseId = Annotated[SafeStr, Path(max_length=36)]


@router.post("", status_code=status.HTTP_201_CREATED, response_model=CasePublic)
def open_case(body: CaseCreate, session: DbSession, response: Response) -> CasePublic:
    person = require_person(session, body.person_id)
    if person.residency_status not in PROSPECT_STATUSES:
        raise invalid(
            "person_id",
            "not a prospect",
            f"A migration case is for a prospect (residency VISITOR or RELATIONSHIP); this person is {person.residency_status}.",
            kind="not-a-prospect",
        )
    opened_on = today()
    case = MigrationCase(person_id=body.person_id, household_size=body.household_size, origin=body.origin, opened_on=opened_on, note=body.note)
    session.add(case)
    session.add(StageRecord(case_id=case.id, stage=MigrationStage.INQUIRY.value, occurred_on=opened_on, recorded_by=body.recorded_by, note=body.note))
    publish(
        session,
        MigrationCaseOpened(
            person_id=body.person_id,
            case_id=case.id,
            stage=MigrationStage.INQUIRY,
            opened_on=opened_on,
            household_size=body.household_size,
            origin=body.origin,
            recorded_by=body.recorded_by,
        ),
    )
    session.commit()
    response.headers["Location"] = f"/v1/migration-cases/{case.id}"
    return case_public(session, case)


@router.get("", response_model=Page[CasePublic])
def list_cases(
    session: DbSession,
    stage: MigrationStage | None = None,
    person_id: Annotated[SafeStr | None, Query(max_length=36)] = None,
    cursor: Annotated[SafeStr | None, Query(max_length=500)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
) -> Page[CasePublic]:
    query = select(MigrationCase).order_by(col(MigrationCase.id))
    if stage:
        query = query.where(MigrationCase.stage == stage.value)
    if person_id:
        query = query.where(MigrationCase.person_id == person_id)
    return page_by_id(session, query, MigrationCase, cursor, limit, lambda c: case_public(session, c))


@router.get("/{case_id}", response_model=CasePublic)
def get_case(case_id: CaseId, session: DbSession) -> CasePublic:
    return case_public(session, get_or_404(session, MigrationCase, case_id))


@router.post("/{case_id}/stage", response_model=CasePublic)
def change_stage(case_id: CaseId, body: StageChangeCreate, session: DbSession) -> CasePublic:
    """Staff record a stage by hand (forward only; see komagane_housing.stages for the stages a
    case reaches by itself as its trial stays and moves happen)."""
    case = get_or_404(session, MigrationCase, case_id)
    stages.require_transition(MigrationStage(case.stage), body.stage)
    occurred_on = not_future(body.occurred_on or today(), "occurred_on")
    if occurred_on < case.opened_on:
        raise invalid("occurred_on", "before the case was opened")
    if body.property_ids and body.stage is not MigrationStage.TOURED:
        raise invalid("property_ids", "only a tour (stage TOURED) lists properties")
    for index, property_id in enumerate(body.property_ids):
        get_or_422(session, Property, property_id, f"property_ids.{index}")
    stages.change_stage(session, case, body.stage, occurred_on=occurred_on, recorded_by=body.recorded_by, property_ids=body.property_ids, note=body.note)
    session.commit()
    return case_public(session, case)
