"""えがおポイント-style health points: the awards and the running balance of a person (derived, S1)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from sqlmodel import col, select

from komagane_contracts.events.health import PointReason
from komagane_health.models import PointAward, PointAwardPublic, PointsPublic
from komagane_kit.errors import Problem
from komagane_kit.inputs import SafeStr
from komagane_kit.people_replica import known_person
from komagane_kit.service import DbSession

router = APIRouter(prefix="/v1/health/people", tags=["points"])
PersonId = Annotated[SafeStr, Path(max_length=36)]


@router.get("/{person_id}/points", response_model=PointsPublic)
def person_points(person_id: PersonId, session: DbSession) -> PointsPublic:
    if known_person(session, person_id) is None:
        raise Problem(404, "person-not-found", f"No person {person_id} is known to the health service.")
    awards = session.exec(select(PointAward).where(PointAward.person_id == person_id).order_by(col(PointAward.awarded_for), col(PointAward.id))).all()
    running, shown = 0, []
    for award in awards:
        running += award.points
        shown.append(PointAwardPublic(reason=PointReason(award.reason), points=award.points, awarded_for=award.awarded_for, balance=running))
    return PointsPublic(person_id=person_id, balance=running, awards=shown)
