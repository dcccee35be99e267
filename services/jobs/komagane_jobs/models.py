"""Tables of the jobs service, and the API's input and output shapes (SQLModel variants).

Lists (skills, languages, slots, accommodations) are stored as JSON text so the schema is the
same on SQLite and PostgreSQL. Dates are Asia/Tokyo calendar dates; times are stored in UTC.
"""

from __future__ import annotations

import re
import uuid
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ValidationInfo, WithJsonSchema, field_validator
from sqlalchemy import Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from komagane_contracts.events.jobs import Accommodation, ApplicationDecision, Arrangement, EngagementEndReason, EnrollmentStatus
from komagane_kit.clock import now
from komagane_kit.inputs import EventDate, SafeStr, TermDate

LANGUAGE_TAG = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$")
# The validator's rule, stated in the JSON Schema of the lists it checks.
LANGUAGE_TAGS_SCHEMA = {"json_schema_extra": {"items": {"type": "string", "pattern": LANGUAGE_TAG.pattern, "description": "BCP 47 language tag"}}}
MAX_TERM = timedelta(days=3 * 366)  # 地域おこし協力隊 terms run one to three years
ID = 36


def new_id() -> str:
    return str(uuid.uuid4())


def _check_languages(values: list[str]) -> list[str]:
    for value in values:
        if not LANGUAGE_TAG.fullmatch(value):
            raise ValueError(f"{value!r} is not a BCP 47 language tag")
    return values


def _check_tags(values: list[str]) -> list[str]:
    for value in values:
        if not value.strip() or len(value) > 100:
            raise ValueError("skill tags are 1–100 characters")
    return values


def _not_before(value: date | None, info: ValidationInfo, other: str) -> date | None:
    earlier = info.data.get(other)
    if value is not None and earlier is not None and value < earlier:
        raise ValueError(f"must not be before {other}")
    return value


# A wall-clock time of day in Asia/Tokyo, without an offset: RFC 3339's `format: time` requires
# one, so the document declares the pattern the API accepts and answers ("10:00", "10:00:00").
LOCAL_TIME = r"^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?$"


def _local_time(value: Any) -> Any:
    """Only the string the schema declares (a number would be read as seconds since midnight
    UTC, an aware time that cannot be compared with the other end of the slot)."""
    if isinstance(value, time):
        local = value.tzinfo is None and not value.microsecond
    else:
        local = isinstance(value, str) and re.fullmatch(LOCAL_TIME, value) is not None
    if not local:
        raise ValueError("must be a local time HH:MM or HH:MM:SS (Asia/Tokyo, no offset)")
    return value


LocalTime = Annotated[
    time,
    BeforeValidator(_local_time),
    WithJsonSchema({"type": "string", "pattern": LOCAL_TIME, "description": "Asia/Tokyo wall-clock time, HH:MM[:SS], no offset", "examples": ["10:00"]}),
]


class WeeklySlot(BaseModel):
    """A recurring weekly window: weekday 0 = Monday … 6 = Sunday, Asia/Tokyo wall-clock times."""

    weekday: int = Field(ge=0, le=6)
    start: LocalTime
    end: LocalTime

    @field_validator("end")
    @classmethod
    def _after_start(cls, value: time, info: ValidationInfo) -> time:
        start = info.data.get("start")
        if start is not None and value <= start:
            raise ValueError("end must be after start")
        return value

    @property
    def minutes(self) -> int:
        return (self.end.hour * 60 + self.end.minute) - (self.start.hour * 60 + self.start.minute)


class OpenStatus(StrEnum):
    OPEN = "OPEN"
    CLOSED = "CLOSED"


# -- opportunities --------------------------------------------------------------------------
class OpportunityCreate(SQLModel):
    title: SafeStr = Field(min_length=1, max_length=200)
    organisation: SafeStr = Field(min_length=1, max_length=200, description="Employer, hub operator or group")
    hub_id: SafeStr | None = Field(default=None, max_length=ID, description="The exchange service's hub, when it is at one")
    area: SafeStr | None = Field(default=None, max_length=100, description="Daily-life area (日常生活圏域), e.g. 赤穂")
    arrangement: Arrangement
    paid: bool
    weekly_slots: list[WeeklySlot] = Field(default_factory=list, max_length=50, description="Hours pattern; empty = arranged individually")
    min_weekly_hours: float = Field(default=0, ge=0, le=60)
    skills_wanted: list[SafeStr] = Field(default_factory=list, max_length=30, description="Free-text tags, normalised to the shared vocabulary")
    accommodations: list[Accommodation] = Field(default_factory=list)
    languages: list[SafeStr] = Field(default_factory=lambda: ["ja"], max_length=10, schema_extra=LANGUAGE_TAGS_SCHEMA)
    description: SafeStr | None = Field(default=None, max_length=2000)

    @field_validator("languages")
    @classmethod
    def _languages(cls, values: list[str]) -> list[str]:
        return _check_languages(values)

    @field_validator("skills_wanted")
    @classmethod
    def _tags(cls, values: list[str]) -> list[str]:
        return _check_tags(values)

    @field_validator("paid")
    @classmethod
    def _volunteering_is_unpaid(cls, value: bool, info: ValidationInfo) -> bool:
        if value and info.data.get("arrangement") is Arrangement.VOLUNTEER:
            raise ValueError("a VOLUNTEER opportunity is unpaid")
        return value

    @field_validator("min_weekly_hours")
    @classmethod
    def _within_slots(cls, value: float, info: ValidationInfo) -> float:
        slots: list[WeeklySlot] = info.data.get("weekly_slots") or []
        if slots and value * 60 > sum(s.minutes for s in slots):
            raise ValueError("more than the weekly slots add up to")
        return value


class Opportunity(SQLModel, table=True):
    id: str = Field(default_factory=new_id, primary_key=True, max_length=ID)
    title: str = Field(max_length=200)
    organisation: str = Field(max_length=200)
    hub_id: str | None = Field(default=None, max_length=ID)
    area: str | None = Field(default=None, max_length=100)
    arrangement: str = Field(max_length=20, index=True)
    paid: bool
    weekly_slots: str = Field(default="[]", sa_column=Column(Text, nullable=False))
    min_weekly_hours: float = 0
    skills_wanted: str = Field(default="[]", sa_column=Column(Text, nullable=False))
    accommodations: str = Field(default="[]", sa_column=Column(Text, nullable=False))
    languages: str = Field(default='["ja"]', sa_column=Column(Text, nullable=False))
    description: str | None = Field(default=None, max_length=2000)
    status: str = Field(default=OpenStatus.OPEN.value, max_length=10, index=True)
    closed_on: date | None = None
    created_at: datetime = Field(default_factory=now)


class OpportunityPublic(OpportunityCreate):
    id: str
    status: OpenStatus
    closed_on: date | None
    created_at: datetime


class OpportunityClose(SQLModel):
    closed_on: EventDate | None = Field(default=None, description="Defaults to today")


# -- applications ---------------------------------------------------------------------------
class ApplicationStatus(StrEnum):
    SUBMITTED = "SUBMITTED"
    ACCEPTED = "ACCEPTED"
    DECLINED = "DECLINED"


class ApplicationCreate(SQLModel):
    person_id: SafeStr = Field(max_length=ID)
    message: SafeStr | None = Field(default=None, max_length=2000)


class Application(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("opportunity_id", "person_id", name="uq_application_opportunity_person"),)
    id: str = Field(default_factory=new_id, primary_key=True, max_length=ID)
    opportunity_id: str = Field(foreign_key="opportunity.id", max_length=ID, index=True)
    person_id: str = Field(max_length=ID, index=True)
    status: str = Field(default=ApplicationStatus.SUBMITTED.value, max_length=20)
    message: str | None = Field(default=None, max_length=2000)
    note: str | None = Field(default=None, max_length=1000)
    created_at: datetime = Field(default_factory=now)
    decided_at: datetime | None = None
    # Bumped by the decision: the row lock, so two concurrent decisions cannot both pass.
    lock_version: int = 0


class ApplicationPublic(SQLModel):
    id: str
    opportunity_id: str
    person_id: str
    status: ApplicationStatus
    message: str | None
    note: str | None
    created_at: datetime
    decided_at: datetime | None


class DecisionCreate(SQLModel):
    decision: ApplicationDecision
    note: SafeStr | None = Field(default=None, max_length=1000)


# -- engagements ----------------------------------------------------------------------------
class EngagementStatus(StrEnum):
    ACTIVE = "ACTIVE"
    ENDED = "ENDED"


class EngagementCreate(SQLModel):
    opportunity_id: SafeStr = Field(max_length=ID)
    person_id: SafeStr = Field(max_length=ID)
    application_id: SafeStr | None = Field(default=None, max_length=ID, description="The accepted application it follows, if any")
    starts_on: EventDate
    ends_on: TermDate | None = Field(default=None, description="Planned end of a fixed-period engagement")

    @field_validator("ends_on")
    @classmethod
    def _order(cls, value: date | None, info: ValidationInfo) -> date | None:
        return _not_before(value, info, "starts_on")


class Engagement(SQLModel, table=True):
    id: str = Field(default_factory=new_id, primary_key=True, max_length=ID)
    opportunity_id: str = Field(foreign_key="opportunity.id", max_length=ID, index=True)
    person_id: str = Field(max_length=ID, index=True)
    application_id: str | None = Field(default=None, foreign_key="application.id", max_length=ID)
    arrangement: str = Field(max_length=20)
    paid: bool
    hub_id: str | None = Field(default=None, max_length=ID)
    starts_on: date
    ends_on: date | None = None
    status: str = Field(default=EngagementStatus.ACTIVE.value, max_length=10)
    ended_on: date | None = None
    end_reason: str | None = Field(default=None, max_length=20)
    # Bumped by every change that must be serialised (shifts, steps, ending): the row lock.
    lock_version: int = 0
    created_at: datetime = Field(default_factory=now)


class EngagementPublic(SQLModel):
    id: str
    opportunity_id: str
    person_id: str
    application_id: str | None
    arrangement: Arrangement
    paid: bool
    hub_id: str | None
    starts_on: date
    ends_on: date | None
    status: EngagementStatus
    ended_on: date | None
    end_reason: EngagementEndReason | None


class ShiftCreate(SQLModel):
    worked_on: EventDate
    hours: float = Field(gt=0, le=24)


class WorkShift(SQLModel, table=True):
    __tablename__ = "work_shift"
    id: str = Field(default_factory=new_id, primary_key=True, max_length=ID)
    engagement_id: str = Field(foreign_key="engagement.id", max_length=ID, index=True)
    person_id: str = Field(max_length=ID, index=True)
    worked_on: date
    hours: float


class ShiftPublic(SQLModel):
    id: str
    engagement_id: str
    person_id: str
    worked_on: date
    hours: float


class StepCreate(SQLModel):
    to_arrangement: Arrangement
    stepped_on: EventDate
    reason: SafeStr | None = Field(default=None, max_length=500, description="Required for a step down the ladder")


class ArrangementStep(SQLModel, table=True):
    __tablename__ = "arrangement_step"
    id: str = Field(default_factory=new_id, primary_key=True, max_length=ID)
    engagement_id: str = Field(foreign_key="engagement.id", max_length=ID, index=True)
    from_arrangement: str = Field(max_length=20)
    to_arrangement: str = Field(max_length=20)
    stepped_on: date
    reason: str | None = Field(default=None, max_length=500)


class EndCreate(SQLModel):
    ended_on: EventDate
    reason: EngagementEndReason
    note: SafeStr | None = Field(default=None, max_length=1000)


# -- skills and matching --------------------------------------------------------------------
class SkillsDeclare(SQLModel):
    skills: list[SafeStr] = Field(default_factory=list, max_length=50, description="Free-text tags (Japanese or English)")
    languages: list[SafeStr] = Field(default_factory=lambda: ["ja"], max_length=10, schema_extra=LANGUAGE_TAGS_SCHEMA)
    availability: list[WeeklySlot] = Field(default_factory=list, max_length=50)
    accessibility_needs: list[Accommodation] = Field(default_factory=list, description="Used for matching only; never published")
    area: SafeStr | None = Field(default=None, max_length=100, description="The person's daily-life area")

    @field_validator("languages")
    @classmethod
    def _languages(cls, values: list[str]) -> list[str]:
        return _check_languages(values)

    @field_validator("skills")
    @classmethod
    def _tags(cls, values: list[str]) -> list[str]:
        return _check_tags(values)


class PersonSkills(SQLModel, table=True):
    __tablename__ = "person_skills"
    person_id: str = Field(primary_key=True, max_length=ID)
    skills: str = Field(default="[]", sa_column=Column(Text, nullable=False))
    languages: str = Field(default='["ja"]', sa_column=Column(Text, nullable=False))
    availability: str = Field(default="[]", sa_column=Column(Text, nullable=False))
    accessibility_needs: str = Field(default="[]", sa_column=Column(Text, nullable=False))
    area: str | None = Field(default=None, max_length=100)
    updated_at: datetime = Field(default_factory=now)


class SkillsPublic(SkillsDeclare):
    person_id: str
    weekly_available_hours: float
    updated_at: datetime


class MatchComponentPublic(SQLModel):
    name: str
    score: float = Field(description="0–1")
    weight: float
    reason: str


class MatchPublic(SQLModel):
    opportunity_id: str
    title: str
    organisation: str
    arrangement: Arrangement
    area: str | None
    score: float = Field(description="0–100")
    components: list[MatchComponentPublic]


class MatchProposalCreate(SQLModel):
    opportunity_id: SafeStr = Field(max_length=ID)
    staff_id: SafeStr = Field(min_length=1, max_length=100, description="The staff member suggesting it")


class MatchProposal(SQLModel, table=True):
    __tablename__ = "match_proposal"
    id: str = Field(default_factory=new_id, primary_key=True, max_length=ID)
    person_id: str = Field(max_length=ID, index=True)
    opportunity_id: str = Field(foreign_key="opportunity.id", max_length=ID)
    score: float
    staff_id: str = Field(max_length=100)
    created_at: datetime = Field(default_factory=now)


class MatchProposalPublic(SQLModel):
    id: str
    person_id: str
    opportunity_id: str
    score: float
    staff_id: str
    created_at: datetime


# -- まちゼミ seminars ------------------------------------------------------------------------
class SeminarCreate(SQLModel):
    title: SafeStr = Field(min_length=1, max_length=200)
    organisation: SafeStr = Field(min_length=1, max_length=200, description="The shop offering the course")
    instructor_person_id: SafeStr = Field(max_length=ID, description="The shop owner or staff member who teaches")
    hub_id: SafeStr | None = Field(default=None, max_length=ID)
    area: SafeStr | None = Field(default=None, max_length=100)
    capacity: int = Field(ge=1, le=500)
    languages: list[SafeStr] = Field(default_factory=lambda: ["ja"], min_length=1, max_length=10, schema_extra=LANGUAGE_TAGS_SCHEMA)
    description: SafeStr | None = Field(default=None, max_length=2000)

    @field_validator("languages")
    @classmethod
    def _languages(cls, values: list[str]) -> list[str]:
        return _check_languages(values)


class Seminar(SQLModel, table=True):
    id: str = Field(default_factory=new_id, primary_key=True, max_length=ID)
    title: str = Field(max_length=200)
    organisation: str = Field(max_length=200)
    instructor_person_id: str = Field(max_length=ID, index=True)
    hub_id: str | None = Field(default=None, max_length=ID)
    area: str | None = Field(default=None, max_length=100)
    capacity: int
    enrolled_count: int = 0
    languages: str = Field(default='["ja"]', sa_column=Column(Text, nullable=False))
    description: str | None = Field(default=None, max_length=2000)
    # Bumped by every enrollment: the row lock that keeps capacity under concurrency.
    lock_version: int = 0
    created_at: datetime = Field(default_factory=now)


class SeminarPublic(SeminarCreate):
    id: str
    enrolled_count: int
    created_at: datetime


class EnrollmentCreate(SQLModel):
    person_id: SafeStr = Field(max_length=ID)


class SeminarEnrollment(SQLModel, table=True):
    __tablename__ = "seminar_enrollment"
    __table_args__ = (UniqueConstraint("seminar_id", "person_id", name="uq_enrollment_seminar_person"),)
    id: str = Field(default_factory=new_id, primary_key=True, max_length=ID)
    seminar_id: str = Field(foreign_key="seminar.id", max_length=ID, index=True)
    person_id: str = Field(max_length=ID)
    status: str = Field(max_length=20)
    seq: int = Field(description="Order of arrival: the waitlist order")
    created_at: datetime = Field(default_factory=now)


class EnrollmentPublic(SQLModel):
    seminar_id: str
    person_id: str
    status: EnrollmentStatus
    waitlist_position: int | None = None


class SeminarSessionCreate(SQLModel):
    held_on: EventDate
    hours: float = Field(gt=0, le=12)
    attendee_ids: list[SafeStr] = Field(default_factory=list, max_length=500, description="People who attended (the instructor is recorded separately)")

    @field_validator("attendee_ids")
    @classmethod
    def _distinct(cls, values: list[str]) -> list[str]:
        if len(set(values)) != len(values):
            raise ValueError("an attendee is listed twice")
        if any(len(v) > ID for v in values):
            raise ValueError("person ids are at most 36 characters")
        return values


class SeminarSession(SQLModel, table=True):
    __tablename__ = "seminar_session"
    id: str = Field(default_factory=new_id, primary_key=True, max_length=ID)
    seminar_id: str = Field(foreign_key="seminar.id", max_length=ID, index=True)
    held_on: date
    hours: float
    created_at: datetime = Field(default_factory=now)


class SeminarAttendance(SQLModel, table=True):
    __tablename__ = "seminar_attendance"
    seminar_session_id: str = Field(foreign_key="seminar_session.id", primary_key=True, max_length=ID)
    person_id: str = Field(primary_key=True, max_length=ID, index=True)


class SeminarSessionPublic(SQLModel):
    id: str
    seminar_id: str
    held_on: date
    hours: float
    instructor_person_id: str
    attendee_ids: list[str]


# -- 地域おこし協力隊 --------------------------------------------------------------------------
class CooperatorStatus(StrEnum):
    ACTIVE = "ACTIVE"
    COMPLETED = "COMPLETED"


class CooperatorCreate(SQLModel):
    person_id: SafeStr = Field(max_length=ID)
    mission: SafeStr = Field(min_length=1, max_length=300, description="e.g. 空き家活用, 観光振興")
    area: SafeStr | None = Field(default=None, max_length=100)
    term_starts_on: EventDate
    term_ends_on: TermDate

    @field_validator("term_ends_on")
    @classmethod
    def _term(cls, value: date, info: ValidationInfo) -> date:
        starts = info.data.get("term_starts_on")
        if starts is not None and value <= starts:
            raise ValueError("must be after term_starts_on")
        if starts is not None and value - starts > MAX_TERM:
            raise ValueError("a cooperator term is at most three years")
        return value


class Cooperator(SQLModel, table=True):
    id: str = Field(default_factory=new_id, primary_key=True, max_length=ID)
    person_id: str = Field(max_length=ID, index=True)
    mission: str = Field(max_length=300)
    area: str | None = Field(default=None, max_length=100)
    term_starts_on: date
    term_ends_on: date
    status: str = Field(default=CooperatorStatus.ACTIVE.value, max_length=10)
    completed_on: date | None = None
    settled: bool | None = None
    started_business: bool | None = None
    # Bumped by the completion: the row lock, so a term is completed exactly once.
    lock_version: int = 0
    created_at: datetime = Field(default_factory=now)


class CooperatorPublic(CooperatorCreate):
    id: str
    term_starts_on: date  # as stored: the windows apply to what clients send
    term_ends_on: date
    status: CooperatorStatus
    completed_on: date | None
    settled: bool | None
    started_business: bool | None


class CompletionCreate(SQLModel):
    completed_on: EventDate
    settled: bool = Field(description="Stayed living in the area after the term")
    started_business: bool
