"""こまがね健康ステーション: groups registered by the city, enrolment, and the physiotherapist's advice sessions."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response, status
from sqlalchemy import func
from sqlmodel import Session, col, select

from komagane_contracts.events.health import AdviceSessionHeld, HealthStationEnrolled, HealthStationGroupRegistered
from komagane_health.consent import consenting
from komagane_health.lookups import get_or_404, get_or_422, known_people, publish, require_person
from komagane_health.models import (
    AdviceRecord,
    AdviceSession,
    AdviceSessionCreate,
    AdviceSessionPublic,
    EnrollmentCreate,
    EnrollmentPublic,
    StationEnrollment,
    StationGroup,
    StationGroupCreate,
    StationGroupPublic,
)
from komagane_kit.clock import now, tokyo_date
from komagane_kit.errors import Problem
from komagane_kit.inputs import SafeStr
from komagane_kit.service import DbSession

router = APIRouter(prefix="/v1/health", tags=["health station"])


def _members(session: Session, group_id: str) -> int:
    return int(session.exec(select(func.count()).select_from(StationEnrollment).where(StationEnrollment.group_id == group_id)).one())


def _already_enrolled(session: Session, person_ids: list[str]) -> list[str]:
    return list(session.exec(select(StationEnrollment.person_id).where(col(StationEnrollment.person_id).in_(person_ids))).all())


@router.post("/groups", status_code=status.HTTP_201_CREATED, response_model=StationGroupPublic)
def register_group(body: StationGroupCreate, session: DbSession, response: Response) -> StationGroupPublic:
    known = known_people(session, body.person_ids)
    unknown = [i for i, p in enumerate(body.person_ids) if p not in known]
    if unknown:
        raise Problem(
            422,
            "unknown-person",
            "Some people are not registered on the platform.",
            title="Validation failed",
            errors=[{"field": f"person_ids[{i}]", "message": "unknown person"} for i in unknown],
        )
    enrolled = set(_already_enrolled(session, body.person_ids))
    if enrolled:
        raise Problem(
            409,
            "already-enrolled",
            "Some people are already enrolled in the health station through another group.",
            errors=[{"field": f"person_ids[{i}]", "message": "already enrolled"} for i, p in enumerate(body.person_ids) if p in enrolled],
        )
    today = tokyo_date(now())
    group = StationGroup(name=body.name, area=body.area)
    session.add(group)
    session.flush()  # the enrolments refer to the group
    for person_id in body.person_ids:
        session.add(StationEnrollment(person_id=person_id, group_id=group.id, enrolled_on=today))
    publish(session, HealthStationGroupRegistered(group_id=group.id, area=group.area, person_ids=body.person_ids, registered_on=today))
    # Each founder is enrolled as if they had joined on their own: consumers that follow people
    # (profiles, partner feeds) read person-keyed enrolments, not the group's event.
    for person_id in body.person_ids:
        publish(session, HealthStationEnrolled(person_id=person_id, group_id=group.id, enrolled_on=today))
    session.commit()
    response.headers["Location"] = f"/v1/health/groups/{group.id}"
    return StationGroupPublic(id=group.id, name=group.name, area=group.area, members=len(body.person_ids))


@router.get("/groups/{group_id}", response_model=StationGroupPublic)
def get_group(group_id: Annotated[SafeStr, Path(max_length=36)], session: DbSession) -> StationGroupPublic:
    """A registered group and how many people it has enrolled (where its registration's Location leads)."""
    group = get_or_404(session, StationGroup, group_id)
    return StationGroupPublic(id=group.id, name=group.name, area=group.area, members=_members(session, group.id))


@router.post("/enrollments", status_code=status.HTTP_201_CREATED, response_model=EnrollmentPublic)
def enrol(body: EnrollmentCreate, session: DbSession) -> EnrollmentPublic:
    require_person(session, body.person_id)
    get_or_422(session, StationGroup, body.group_id, "group_id")
    if session.get(StationEnrollment, body.person_id) is not None:
        raise Problem(
            409, "already-enrolled", "This person is already enrolled in the health station.", errors=[{"field": "person_id", "message": "already enrolled"}]
        )
    enrollment = StationEnrollment(person_id=body.person_id, group_id=body.group_id, enrolled_on=tokyo_date(now()))
    session.add(enrollment)
    publish(session, HealthStationEnrolled(person_id=body.person_id, group_id=body.group_id, enrolled_on=enrollment.enrolled_on))
    session.commit()
    return EnrollmentPublic.model_validate(enrollment)


@router.post("/advice-sessions", status_code=status.HTTP_201_CREATED, response_model=AdviceSessionPublic)
def hold_advice_session(body: AdviceSessionCreate, session: DbSession) -> AdviceSessionPublic:
    """Advice is S2: every attendee must hold HEALTH consent, or nothing is stored."""
    get_or_422(session, StationGroup, body.group_id, "group_id")
    if body.held_on > tokyo_date(now()):
        raise Problem(
            422, "validation-error", "held_on is in the future: record a session once held", errors=[{"field": "held_on", "message": "in the future"}]
        )
    ids = [a.person_id for a in body.attendees]
    known = known_people(session, ids)
    unknown = [{"field": f"attendees[{i}].person_id", "message": "unknown person"} for i, p in enumerate(ids) if p not in known]
    if unknown:
        raise Problem(422, "unknown-person", "Some attendees are not registered on the platform.", title="Validation failed", errors=unknown)
    consented = consenting(session, ids)
    refused = [{"field": f"attendees[{i}].person_id", "message": "no HEALTH consent"} for i, p in enumerate(ids) if p not in consented]
    if refused:
        raise Problem(403, "health-consent-required", "Advice can be recorded only for people with HEALTH consent; nothing was stored.", errors=refused)
    advice_session = AdviceSession(group_id=body.group_id, held_on=body.held_on, physiotherapist=body.physiotherapist)
    session.add(advice_session)
    session.flush()
    for note in body.attendees:
        session.add(AdviceRecord(advice_session_id=advice_session.id, person_id=note.person_id, advice=note.advice))
    publish(session, AdviceSessionHeld(advice_session_id=advice_session.id, group_id=body.group_id, held_on=body.held_on, attendee_ids=ids))
    session.commit()
    return AdviceSessionPublic(id=advice_session.id, group_id=body.group_id, held_on=body.held_on, physiotherapist=body.physiotherapist, attendee_ids=ids)
