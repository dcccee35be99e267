"""Tables of the health service, and the API's input and output shapes (SQLModel variants).

Times are stored in UTC; days are Asia/Tokyo calendar days. The consent replica and the audit
log have their own modules (consent.py, audit.py).
"""

from __future__ import annotations

import uuid
from datetime import date, datetime

from pydantic import model_validator
from sqlalchemy import Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from komagane_contracts.events.health import HealthProgramKind, MeasurementKind, PointReason
from komagane_kit.clock import now
from komagane_kit.inputs import STORABLE_PATTERN, EventDate, EventTime, SafeStr


def new_id() -> str:
    return str(uuid.uuid4())


# -- こまがね健康ステーション -------------------------------------------------------------------
MIN_GROUP_SIZE = 5  # the city registers groups of five or more


class StationGroupCreate(SQLModel):
    name: SafeStr = Field(min_length=1, max_length=200)
    area: SafeStr = Field(min_length=1, max_length=100, description="Daily-life area (日常生活圏域)")
    person_ids: list[SafeStr] = Field(
        min_length=MIN_GROUP_SIZE,
        max_length=200,
        description="Founding members (at least five), enrolled on registration",
        schema_extra={"json_schema_extra": {"uniqueItems": True, "items": {"type": "string", "maxLength": 36, "pattern": STORABLE_PATTERN}}},
    )

    @model_validator(mode="after")
    def _distinct(self) -> StationGroupCreate:
        if len(set(self.person_ids)) != len(self.person_ids):
            raise ValueError("person_ids must be distinct")
        if any(len(p) > 36 for p in self.person_ids):
            raise ValueError("person_ids must be person ids")
        return self


class StationGroup(SQLModel, table=True):
    __tablename__ = "station_group"
    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    name: str = Field(max_length=200)
    area: str = Field(max_length=100)
    created_at: datetime = Field(default_factory=now)


class StationGroupPublic(SQLModel):
    id: str
    name: str
    area: str
    members: int


class EnrollmentCreate(SQLModel):
    person_id: SafeStr = Field(max_length=36)
    group_id: SafeStr = Field(max_length=36)


class StationEnrollment(SQLModel, table=True):
    """A person's enrolment in the health station, through one group (one enrolment per person)."""

    __tablename__ = "station_enrollment"
    person_id: str = Field(primary_key=True, max_length=36)
    group_id: str = Field(foreign_key="station_group.id", max_length=36, index=True)
    enrolled_on: date


class EnrollmentPublic(SQLModel):
    person_id: str
    group_id: str
    enrolled_on: date


# -- daily activity (S2) ------------------------------------------------------------------------
MAX_STEPS = 100_000
MINUTES_PER_DAY = 24 * 60


class DailyActivityRow(SQLModel):
    """One row of a batch; validated row by row so that good rows are stored despite bad ones."""

    person_id: SafeStr = Field(min_length=1, max_length=36)
    day: EventDate
    steps: int = Field(ge=0, le=MAX_STEPS)
    brisk_walk_minutes: int = Field(default=0, ge=0, le=MINUTES_PER_DAY)


class DailyActivity(SQLModel, table=True):
    __tablename__ = "daily_activity"
    person_id: str = Field(primary_key=True, max_length=36)
    day: date = Field(primary_key=True)
    steps: int
    brisk_walk_minutes: int
    updated_at: datetime = Field(default_factory=now)


class DailyActivityPublic(SQLModel):
    day: date
    steps: int
    brisk_walk_minutes: int


class RowError(SQLModel):
    row: int = Field(description="1-based position in the batch (for CSV: the data row, the header not counted)")
    field: str
    message: str


class IngestReport(SQLModel):
    received: int
    stored: int = Field(description="Rows new or changed")
    unchanged: int = Field(description="Rows re-sent with the same values: nothing to do")
    rejected: int
    points_awarded: int = Field(description="Activity-goal awards newly earned by this batch")
    errors: list[RowError]


# -- measurements and advice (S2) ---------------------------------------------------------------
class MeasurementCreate(SQLModel):
    person_id: SafeStr = Field(max_length=36)
    kind: MeasurementKind
    measured_at: EventTime = Field(description="Asia/Tokyo when no offset is given")
    weight_kg: float | None = Field(default=None, ge=10, le=300)
    systolic_mmhg: int | None = Field(default=None, ge=50, le=260)
    diastolic_mmhg: int | None = Field(default=None, ge=30, le=200)
    pulse_bpm: int | None = Field(default=None, ge=20, le=250)
    body_fat_percent: float | None = Field(default=None, ge=1, le=75)
    muscle_mass_kg: float | None = Field(default=None, ge=5, le=150)
    recorded_by: SafeStr = Field(min_length=1, max_length=100, description="Staff member or device that took the measurement")

    @model_validator(mode="after")
    def _values_of_kind(self) -> MeasurementCreate:
        required = {
            MeasurementKind.WEIGHT: ("weight_kg",),
            MeasurementKind.BLOOD_PRESSURE: ("systolic_mmhg", "diastolic_mmhg"),
            MeasurementKind.BODY_COMPOSITION: ("body_fat_percent",),
        }[self.kind]
        missing = [name for name in required if getattr(self, name) is None]
        if missing:
            raise ValueError(f"{self.kind.value} needs {', '.join(missing)}")
        if self.systolic_mmhg is not None and self.diastolic_mmhg is not None and self.diastolic_mmhg >= self.systolic_mmhg:
            raise ValueError("diastolic_mmhg must be below systolic_mmhg")
        return self


class Measurement(SQLModel, table=True):
    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    person_id: str = Field(max_length=36, index=True)
    kind: str = Field(max_length=30)
    measured_at: datetime
    weight_kg: float | None = None
    systolic_mmhg: int | None = None
    diastolic_mmhg: int | None = None
    pulse_bpm: int | None = None
    body_fat_percent: float | None = None
    muscle_mass_kg: float | None = None
    recorded_by: str = Field(max_length=100)
    created_at: datetime = Field(default_factory=now)


class MeasurementPublic(SQLModel):
    id: str
    person_id: str
    kind: MeasurementKind
    measured_at: datetime
    weight_kg: float | None
    systolic_mmhg: int | None
    diastolic_mmhg: int | None
    pulse_bpm: int | None
    body_fat_percent: float | None
    muscle_mass_kg: float | None
    recorded_by: str


class AdviceNote(SQLModel):
    person_id: SafeStr = Field(max_length=36)
    advice: SafeStr = Field(min_length=1, max_length=2000)


class AdviceSessionCreate(SQLModel):
    group_id: SafeStr = Field(max_length=36)
    held_on: EventDate
    physiotherapist: SafeStr = Field(min_length=1, max_length=100, description="Staff id of the physiotherapist (理学療法士)")
    attendees: list[AdviceNote] = Field(min_length=1, max_length=200)

    @model_validator(mode="after")
    def _distinct(self) -> AdviceSessionCreate:
        ids = [a.person_id for a in self.attendees]
        if len(set(ids)) != len(ids):
            raise ValueError("each attendee appears once")
        return self


class AdviceSession(SQLModel, table=True):
    __tablename__ = "advice_session"
    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    group_id: str = Field(foreign_key="station_group.id", max_length=36, index=True)
    held_on: date
    physiotherapist: str = Field(max_length=100)
    created_at: datetime = Field(default_factory=now)


class AdviceRecord(SQLModel, table=True):
    """The advice one attendee received (S2): stays in this service, never on a topic."""

    __tablename__ = "advice_record"
    advice_session_id: str = Field(foreign_key="advice_session.id", primary_key=True, max_length=36)
    person_id: str = Field(primary_key=True, max_length=36, index=True)
    advice: str = Field(sa_column=Column(Text, nullable=False))


class AdviceSessionPublic(SQLModel):
    id: str
    group_id: str
    held_on: date
    physiotherapist: str
    attendee_ids: list[str]


# -- programmes and points -----------------------------------------------------------------------
class ProgramCreate(SQLModel):
    name: SafeStr = Field(min_length=1, max_length=200)
    kind: HealthProgramKind
    hub_id: SafeStr | None = Field(default=None, max_length=36, description="Exchange hub where it takes place (e.g. GOTCHA!WELLNESS)")
    starts_on: EventDate
    ends_on: EventDate
    completion_points: int = Field(default=100, ge=0, le=10_000)

    @model_validator(mode="after")
    def _order(self) -> ProgramCreate:
        if self.ends_on < self.starts_on:
            raise ValueError("ends_on must not be before starts_on")
        return self


class Program(SQLModel, table=True):
    __tablename__ = "health_program"
    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    name: str = Field(max_length=200)
    kind: str = Field(max_length=30)
    hub_id: str | None = Field(default=None, max_length=36)
    starts_on: date
    ends_on: date
    completion_points: int
    created_at: datetime = Field(default_factory=now)


class ProgramPublic(ProgramCreate):
    id: str
    starts_on: date  # as stored: the window applies to what clients send
    ends_on: date
    enrolled: int = 0


class ProgramPersonCreate(SQLModel):
    person_id: SafeStr = Field(max_length=36)


class ProgramEnrollment(SQLModel, table=True):
    __tablename__ = "program_enrollment"
    program_id: str = Field(foreign_key="health_program.id", primary_key=True, max_length=36)
    person_id: str = Field(primary_key=True, max_length=36, index=True)
    enrolled_on: date
    completed_on: date | None = None


class ProgramEnrollmentPublic(SQLModel):
    program_id: str
    person_id: str
    enrolled_on: date
    completed_on: date | None


class PointAward(SQLModel, table=True):
    """One award; `source` (e.g. `goal:2026-05-01`, `program:<id>`) makes awarding idempotent."""

    __tablename__ = "point_award"
    __table_args__ = (UniqueConstraint("person_id", "source", name="uq_point_award_person_source"),)
    id: int | None = Field(default=None, primary_key=True)
    person_id: str = Field(max_length=36, index=True)
    source: str = Field(max_length=80)
    reason: str = Field(max_length=30)
    points: int
    awarded_for: date
    created_at: datetime = Field(default_factory=now)


class PointAwardPublic(SQLModel):
    reason: PointReason
    points: int
    awarded_for: date
    balance: int = Field(description="Running balance after this award")


class PointsPublic(SQLModel):
    person_id: str
    balance: int
    awards: list[PointAwardPublic]
