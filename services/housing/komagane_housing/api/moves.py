"""Moves into the town, settlement a year later, and relocation within the town; recorded, then read back."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Path, Query, Response, status
from sqlalchemy import update
from sqlmodel import col, select

from komagane_contracts.events.housing import HouseholdMovedIn, MigrationStage, ResidenceRelocated, SettlementConfirmed
from komagane_housing import stages
from komagane_housing.lookups import get_or_404, get_or_422, not_future, publish, require_case_of, require_person, today
from komagane_housing.models import Move, MoveCreate, MovePublic, Property, Relocation, RelocationCreate, RelocationPublic, SettlementCreate
from komagane_kit.errors import Problem
from komagane_kit.inputs import SafeStr
from komagane_kit.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page, page_by_id
from komagane_kit.service import DbSession

router = APIRouter(tags=["moves"])
MoveId = Annotated[SafeStr, Path(max_length=36)]
RelocationId = Annotated[SafeStr, Path(max_length=36)]
IdFilter = Annotated[SafeStr | None, Query(max_length=36)]
Cursor = Annotated[SafeStr | None, Query(max_length=500)]
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT)]


def settles_on(moved_in_on: date) -> date:
    """First day a settlement can be confirmed: 12 months after moving in (29 Feb → 28 Feb)."""
    try:
        return moved_in_on.replace(year=moved_in_on.year + 1)
    except ValueError:
        return moved_in_on.replace(year=moved_in_on.year + 1, day=28)


@router.post("/v1/moves", status_code=status.HTTP_201_CREATED, response_model=MovePublic)
def move_in(body: MoveCreate, session: DbSession, response: Response) -> MovePublic:
    """Records a move that has happened; a linked migration case is then at MOVED (komagane_housing.stages)."""
    require_person(session, body.person_id)
    not_future(body.moved_in_on, "moved_in_on")
    if body.case_id:
        require_case_of(session, body.case_id, body.person_id)
    if body.property_id:
        get_or_422(session, Property, body.property_id, "property_id")
    move = Move.model_validate(body, update={"channel": body.channel.value})
    session.add(move)
    publish(
        session,
        HouseholdMovedIn(
            person_id=body.person_id,
            move_id=move.id,
            case_id=body.case_id,
            property_id=body.property_id,
            household_size=body.household_size,
            origin=body.origin,
            channel=body.channel,
            area=body.area,
            moved_in_on=body.moved_in_on,
        ),
    )
    stages.follow(session, body.case_id, MigrationStage.MOVED, on=body.moved_in_on, cause=f"move/{move.id}", note="Moved in")
    session.commit()
    response.headers["Location"] = f"/v1/moves/{move.id}"
    return MovePublic.model_validate(move)


@router.get("/v1/moves", response_model=Page[MovePublic])
def list_moves(
    session: DbSession, person_id: IdFilter = None, case_id: IdFilter = None, cursor: Cursor = None, limit: Limit = DEFAULT_LIMIT
) -> Page[MovePublic]:
    query = select(Move).order_by(col(Move.id))
    if person_id:
        query = query.where(Move.person_id == person_id)
    if case_id:
        query = query.where(Move.case_id == case_id)
    return page_by_id(session, query, Move, cursor, limit, MovePublic.model_validate)


@router.get("/v1/moves/{move_id}", response_model=MovePublic)
def get_move(move_id: MoveId, session: DbSession) -> MovePublic:
    return MovePublic.model_validate(get_or_404(session, Move, move_id))


@router.post("/v1/moves/{move_id}/settlement", response_model=MovePublic)
def confirm_settlement(move_id: MoveId, body: SettlementCreate, session: DbSession) -> MovePublic:
    move = get_or_404(session, Move, move_id)
    if move.settled_on is not None:
        raise Problem(409, "already-settled", f"Settlement was already confirmed on {move.settled_on.isoformat()}.")
    confirmed_on = not_future(body.confirmed_on or today(), "confirmed_on")
    earliest = settles_on(move.moved_in_on)
    if confirmed_on < earliest:
        raise Problem(
            409,
            "settlement-too-early",
            f"Settlement is confirmed 12 months after moving in: from {earliest.isoformat()}.",
            errors=[{"field": "confirmed_on", "message": f"before {earliest.isoformat()}"}],
        )
    # Conditional, so that two concurrent confirmations publish one event.
    confirmed = session.execute(
        update(Move).where(col(Move.id) == move_id, col(Move.settled_on).is_(None)).values(settled_on=confirmed_on, settlement_recorded_by=body.recorded_by)
    )
    if confirmed.rowcount != 1:  # type: ignore[attr-defined]
        session.rollback()
        raise Problem(409, "already-settled", "Settlement was confirmed meanwhile.")
    move.settled_on, move.settlement_recorded_by = confirmed_on, body.recorded_by
    publish(
        session,
        SettlementConfirmed(person_id=move.person_id, move_id=move_id, moved_in_on=move.moved_in_on, confirmed_on=confirmed_on, recorded_by=body.recorded_by),
    )
    stages.follow(session, move.case_id, MigrationStage.SETTLED, on=confirmed_on, cause=f"move/{move.id}", note="Settlement confirmed")
    session.commit()
    return MovePublic.model_validate(move)


@router.post("/v1/relocations", status_code=status.HTTP_201_CREATED, response_model=RelocationPublic)
def relocate(body: RelocationCreate, session: DbSession, response: Response) -> RelocationPublic:
    require_person(session, body.person_id)
    not_future(body.relocated_on, "relocated_on")
    if body.property_id:
        get_or_422(session, Property, body.property_id, "property_id")
    relocation = Relocation.model_validate(body)
    session.add(relocation)
    publish(
        session,
        ResidenceRelocated(
            person_id=body.person_id,
            relocation_id=relocation.id,
            from_area=body.from_area,
            to_area=body.to_area,
            into_town_centre=body.into_town_centre,
            property_id=body.property_id,
            relocated_on=body.relocated_on,
        ),
    )
    session.commit()
    response.headers["Location"] = f"/v1/relocations/{relocation.id}"
    return RelocationPublic.model_validate(relocation)


@router.get("/v1/relocations", response_model=Page[RelocationPublic])
def list_relocations(session: DbSession, person_id: IdFilter = None, cursor: Cursor = None, limit: Limit = DEFAULT_LIMIT) -> Page[RelocationPublic]:
    query = select(Relocation).order_by(col(Relocation.id))
    if person_id:
        query = query.where(Relocation.person_id == person_id)
    return page_by_id(session, query, Relocation, cursor, limit, RelocationPublic.model_validate)


@router.get("/v1/relocations/{relocation_id}", response_model=RelocationPublic)
def get_relocation(relocation_id: RelocationId, session: DbSession) -> RelocationPublic:
    return RelocationPublic.model_validate(get_or_404(session, Relocation, relocation_id))
