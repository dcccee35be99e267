"""Health programmes (Wellness-hub classes, the food-and-health town stay, walking clubs): enrol and complete."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Path, Query, Response, status
from sqlalchemy import func
from sqlmodel import Session, col, select

from komagane_contracts.events.health import HealthProgramCompleted, HealthProgramEnrolled, HealthProgramKind, HealthProgramPublished, PointReason
from komagane_health.lookups import get_or_404, publish, require_person
from komagane_health.models import PointAward, Program, ProgramCreate, ProgramEnrollment, ProgramEnrollmentPublic, ProgramPersonCreate, ProgramPublic
from komagane_kit.clock import now, tokyo_date
from komagane_kit.errors import Problem
from komagane_kit.inputs import SafeStr
from komagane_kit.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page, decode_cursor, encode_cursor
from komagane_kit.service import DbSession

router = APIRouter(prefix="/v1/health/programs", tags=["programmes"])
ProgramId = Annotated[SafeStr, Path(max_length=36)]


def _public(session: Session, program: Program) -> ProgramPublic:
    enrolled = session.exec(select(func.count()).select_from(ProgramEnrollment).where(ProgramEnrollment.program_id == program.id)).one()
    return ProgramPublic.model_validate(program, update={"kind": HealthProgramKind(program.kind), "enrolled": int(enrolled)})


@router.post("", status_code=status.HTTP_201_CREATED, response_model=ProgramPublic)
def publish_program(body: ProgramCreate, session: DbSession, response: Response) -> ProgramPublic:
    program = Program.model_validate(body, update={"kind": body.kind.value})
    session.add(program)
    publish(
        session,
        HealthProgramPublished(
            program_id=program.id, kind=body.kind, hub_id=body.hub_id, starts_on=body.starts_on, ends_on=body.ends_on, completion_points=body.completion_points
        ),
    )
    session.commit()
    response.headers["Location"] = f"/v1/health/programs/{program.id}"
    return _public(session, program)


@router.get("", response_model=Page[ProgramPublic])
def list_programs(
    session: DbSession,
    kind: HealthProgramKind | None = None,
    cursor: Annotated[SafeStr | None, Query(max_length=500)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
) -> Page[ProgramPublic]:
    query = select(Program).order_by(col(Program.starts_on), col(Program.id))
    if kind:
        query = query.where(Program.kind == kind.value)
    after = decode_cursor(cursor, (date, str))
    if after is not None:
        starts_on, last_id = after
        query = query.where((col(Program.starts_on) > starts_on) | ((col(Program.starts_on) == starts_on) & (col(Program.id) > last_id)))
    found = list(session.exec(query.limit(limit + 1)).all())
    page = found[:limit]
    next_cursor = encode_cursor(page[-1].starts_on, page[-1].id) if len(found) > limit else None
    return Page(items=[_public(session, p) for p in page], next_cursor=next_cursor)


@router.get("/{program_id}", response_model=ProgramPublic)
def get_program(program_id: ProgramId, session: DbSession) -> ProgramPublic:
    return _public(session, get_or_404(session, Program, program_id))


@router.post("/{program_id}/enrollments", status_code=status.HTTP_201_CREATED, response_model=ProgramEnrollmentPublic)
def enrol(program_id: ProgramId, body: ProgramPersonCreate, session: DbSession) -> ProgramEnrollmentPublic:
    program = get_or_404(session, Program, program_id)
    require_person(session, body.person_id)
    if session.get(ProgramEnrollment, (program_id, body.person_id)) is not None:
        raise Problem(
            409, "already-enrolled", "This person is already enrolled in the programme.", errors=[{"field": "person_id", "message": "already enrolled"}]
        )
    today = tokyo_date(now())
    if today > program.ends_on:
        raise Problem(409, "program-ended", f"The programme ended on {program.ends_on.isoformat()}.")
    enrollment = ProgramEnrollment(program_id=program_id, person_id=body.person_id, enrolled_on=today)
    session.add(enrollment)
    publish(session, HealthProgramEnrolled(person_id=body.person_id, program_id=program_id, kind=HealthProgramKind(program.kind), enrolled_on=today))
    session.commit()
    return ProgramEnrollmentPublic.model_validate(enrollment)


@router.post("/{program_id}/completions", status_code=status.HTTP_201_CREATED, response_model=ProgramEnrollmentPublic)
def complete(program_id: ProgramId, body: ProgramPersonCreate, session: DbSession) -> ProgramEnrollmentPublic:
    """Completion earns the programme's points once; the award travels inside HealthProgramCompleted."""
    program = get_or_404(session, Program, program_id)
    enrollment = session.get(ProgramEnrollment, (program_id, body.person_id))
    if enrollment is None:
        raise Problem(409, "not-enrolled", "Only an enrolled person can complete the programme.", errors=[{"field": "person_id", "message": "not enrolled"}])
    if enrollment.completed_on is not None:
        raise Problem(
            409, "already-completed", f"Completed on {enrollment.completed_on.isoformat()}.", errors=[{"field": "person_id", "message": "already completed"}]
        )
    today = tokyo_date(now())
    enrollment.completed_on = today
    session.add(enrollment)
    if program.completion_points:
        session.add(
            PointAward(
                person_id=body.person_id,
                source=f"program:{program_id}",
                reason=PointReason.PROGRAM_COMPLETION.value,
                points=program.completion_points,
                awarded_for=today,
            )
        )
    publish(
        session,
        HealthProgramCompleted(
            person_id=body.person_id, program_id=program_id, kind=HealthProgramKind(program.kind), completed_on=today, points_awarded=program.completion_points
        ),
    )
    session.commit()
    return ProgramEnrollmentPublic.model_validate(enrollment)
