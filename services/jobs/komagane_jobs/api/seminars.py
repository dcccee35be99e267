"""まちゼミ seminars: shops' small free courses, enrollment with a waitlist, and held sessions.

Capacity holds under concurrency: an enrollment first takes the seminar row's write lock
(lookups.locked), so counting the seats and inserting the enrollment happen one at a time.
Holding a session is the one command with several events: SeminarHeld for the course,
SeminarTaught for the instructor (a role) and SeminarAttended for each attendee (belonging).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response, status
from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from komagane_contracts.events.jobs import EnrollmentStatus, SeminarAttended, SeminarCourseRegistered, SeminarEnrolled, SeminarHeld, SeminarTaught
from komagane_jobs.lookups import dump, get_or_404, invalid, locked, publish, require_person, today
from komagane_jobs.models import (
    EnrollmentCreate,
    EnrollmentPublic,
    Seminar,
    SeminarAttendance,
    SeminarCreate,
    SeminarEnrollment,
    SeminarPublic,
    SeminarSession,
    SeminarSessionCreate,
    SeminarSessionPublic,
)
from komagane_jobs.views import seminar_public
from komagane_kit.errors import Problem
from komagane_kit.inputs import SafeStr
from komagane_kit.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page, page_by_id
from komagane_kit.service import DbSession

router = APIRouter(prefix="/v1/seminars", tags=["まちゼミ seminars"])
SeminarId = Annotated[SafeStr, Path(max_length=36)]


def _waitlist_position(session: Session, enrollment: SeminarEnrollment) -> int:
    ahead = session.exec(
        select(func.count())
        .select_from(SeminarEnrollment)
        .where(
            SeminarEnrollment.seminar_id == enrollment.seminar_id,
            SeminarEnrollment.status == EnrollmentStatus.WAITLISTED.value,
            col(SeminarEnrollment.seq) < enrollment.seq,
        )
    ).one()
    return int(ahead) + 1


@router.post("", status_code=status.HTTP_201_CREATED, response_model=SeminarPublic)
def register_seminar(body: SeminarCreate, session: DbSession, response: Response) -> SeminarPublic:
    require_person(session, body.instructor_person_id, "instructor_person_id")
    seminar = Seminar.model_validate(body, update={"languages": dump(body.languages)})
    session.add(seminar)
    publish(
        session,
        SeminarCourseRegistered(
            seminar_id=seminar.id, organisation=body.organisation, hub_id=body.hub_id, area=body.area, capacity=body.capacity, languages=body.languages
        ),
    )
    session.commit()
    response.headers["Location"] = f"/v1/seminars/{seminar.id}"
    return seminar_public(seminar)


@router.get("", response_model=Page[SeminarPublic])
def list_seminars(
    session: DbSession,
    area: Annotated[SafeStr | None, Query(max_length=100)] = None,
    language: Annotated[SafeStr | None, Query(max_length=35, description="BCP 47 tag the course is taught in")] = None,
    cursor: Annotated[SafeStr | None, Query(max_length=500)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
) -> Page[SeminarPublic]:
    query = select(Seminar).order_by(col(Seminar.id))
    if area:
        query = query.where(Seminar.area == area)
    if language:
        query = query.where(col(Seminar.languages).contains(f'"{language}"'))
    return page_by_id(session, query, Seminar, cursor, limit, lambda s: seminar_public(s))


@router.get("/{seminar_id}", response_model=SeminarPublic)
def get_seminar(seminar_id: SeminarId, session: DbSession) -> SeminarPublic:
    return seminar_public(get_or_404(session, Seminar, seminar_id))


@router.post("/{seminar_id}/enrollments", status_code=status.HTTP_201_CREATED, response_model=EnrollmentPublic)
def enroll(seminar_id: SeminarId, body: EnrollmentCreate, session: DbSession) -> EnrollmentPublic:
    seminar = locked(session, Seminar, seminar_id)
    require_person(session, body.person_id)
    if body.person_id == seminar.instructor_person_id:
        raise Problem(409, "instructor-cannot-enroll", "The instructor teaches this course and cannot enroll in it.")
    existing = select(SeminarEnrollment).where(SeminarEnrollment.seminar_id == seminar_id, SeminarEnrollment.person_id == body.person_id)
    if session.exec(existing).first() is not None:
        raise Problem(409, "already-enrolled", "This person is already enrolled or waitlisted for this seminar.")
    last_seq = session.exec(select(func.max(SeminarEnrollment.seq)).where(SeminarEnrollment.seminar_id == seminar_id)).one()
    seat_free = seminar.enrolled_count < seminar.capacity
    enrollment = SeminarEnrollment(
        seminar_id=seminar_id,
        person_id=body.person_id,
        status=(EnrollmentStatus.ENROLLED if seat_free else EnrollmentStatus.WAITLISTED).value,
        seq=int(last_seq or 0) + 1,
    )
    session.add(enrollment)
    if seat_free:
        seminar.enrolled_count += 1
        session.add(seminar)
    session.flush()
    position = None if seat_free else _waitlist_position(session, enrollment)
    result = EnrollmentStatus(enrollment.status)
    publish(session, SeminarEnrolled(person_id=body.person_id, seminar_id=seminar_id, status=result, waitlist_position=position))
    try:
        session.commit()
    except IntegrityError as exc:  # only reachable without the row lock, but never a 500
        session.rollback()
        raise Problem(409, "already-enrolled", "This person is already enrolled or waitlisted for this seminar.") from exc
    return EnrollmentPublic(seminar_id=seminar_id, person_id=body.person_id, status=result, waitlist_position=position)


@router.get("/{seminar_id}/enrollments", response_model=list[EnrollmentPublic])
def list_enrollments(seminar_id: SeminarId, session: DbSession) -> list[EnrollmentPublic]:
    """Enrolled first, then the waitlist in order."""
    get_or_404(session, Seminar, seminar_id)
    rows = session.exec(select(SeminarEnrollment).where(SeminarEnrollment.seminar_id == seminar_id).order_by(col(SeminarEnrollment.seq))).all()
    enrolled = [EnrollmentPublic(seminar_id=seminar_id, person_id=r.person_id, status=EnrollmentStatus.ENROLLED) for r in rows if r.status == "ENROLLED"]
    waiting = [r for r in rows if r.status == EnrollmentStatus.WAITLISTED.value]
    return enrolled + [
        EnrollmentPublic(seminar_id=seminar_id, person_id=r.person_id, status=EnrollmentStatus.WAITLISTED, waitlist_position=i)
        for i, r in enumerate(waiting, start=1)
    ]


@router.post("/{seminar_id}/sessions", status_code=status.HTTP_201_CREATED, response_model=SeminarSessionPublic)
def hold_session(seminar_id: SeminarId, body: SeminarSessionCreate, session: DbSession) -> SeminarSessionPublic:
    seminar = get_or_404(session, Seminar, seminar_id)
    if body.held_on > today():
        raise invalid("held_on", "in the future: record a session once it is held")
    for index, person_id in enumerate(body.attendee_ids):
        if person_id == seminar.instructor_person_id:
            raise invalid(f"attendee_ids.{index}", "the instructor teaches; they are not an attendee")
        require_person(session, person_id, f"attendee_ids.{index}")
    held = SeminarSession(seminar_id=seminar_id, held_on=body.held_on, hours=body.hours)
    session.add(held)
    session.flush()  # the session row first: attendances refer to it
    for person_id in body.attendee_ids:
        session.add(SeminarAttendance(seminar_session_id=held.id, person_id=person_id))
    attendees = len(body.attendee_ids)
    common = {"seminar_id": seminar_id, "seminar_session_id": held.id, "held_on": body.held_on, "hours": body.hours}
    publish(session, SeminarHeld(**common, attendees=attendees))
    publish(session, SeminarTaught(person_id=seminar.instructor_person_id, **common, attendees=attendees))
    for person_id in body.attendee_ids:
        publish(session, SeminarAttended(person_id=person_id, **common))
    session.commit()
    return SeminarSessionPublic(
        id=held.id,
        seminar_id=seminar_id,
        held_on=body.held_on,
        hours=body.hours,
        instructor_person_id=seminar.instructor_person_id,
        attendee_ids=body.attendee_ids,
    )
