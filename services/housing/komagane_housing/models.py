"""Tables of the housing service, and the API's input and output shapes (SQLModel variants).

Dates are Asia/Tokyo calendar dates; times are stored in UTC. Lists (toured properties) are
JSON text so the schema is the same on SQLite and PostgreSQL. The trial-stay overlap rule is a
PostgreSQL exclusion constraint created by migration 0001 (not expressible in SQLModel).
"""

from __future__ import annotations

import re
import uuid
from datetime import date, datetime
from enum import StrEnum

from pydantic import ValidationInfo, field_validator, model_validator
from sqlalchemy import CheckConstraint, Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from komagane_contracts.events.housing import MigrationStage, MoveChannel, PropertyKind, PropertyStatus, RelationshipKind
from komagane_kit.clock import now
from komagane_kit.inputs import EventDate, SafeStr

# JIS X 0401 prefecture codes 01–47, or ABROAD (foreign residents and returnees).
ORIGIN_PATTERN = re.compile(r"^(0[1-9]|[1-3][0-9]|4[0-7]|ABROAD)$")
MAX_TRIAL_NIGHTS = 90
MAX_HOUSEHOLD = 20


def new_id() -> str:
    return str(uuid.uuid4())


def _check_origin(value: str | None) -> str | None:
    if value is not None and not ORIGIN_PATTERN.fullmatch(value):
        raise ValueError("must be a JIS X 0401 prefecture code (01–47) or ABROAD")
    return value


def _after(value: date, info: ValidationInfo, start_field: str) -> date:
    start = info.data.get(start_field)
    if isinstance(start, date) and value <= start:
        raise ValueError(f"must be after {start_field}")
    return value


# -- properties -----------------------------------------------------------------------------
class OwnerKind(StrEnum):
    PERSON = "PERSON"
    ORGANISATION = "ORGANISATION"


class PropertyCreate(SQLModel):
    title: SafeStr = Field(min_length=1, max_length=200)
    kind: PropertyKind
    area: SafeStr = Field(min_length=1, max_length=100, description="Daily-life area (日常生活圏域)")
    rooms: int = Field(ge=0, le=50)
    max_occupants: int | None = Field(default=None, ge=1, le=MAX_HOUSEHOLD, description="For trial residences: largest household it takes")
    barrier_free: bool = False
    accessibility_notes: SafeStr | None = Field(default=None, max_length=1000)
    owner_kind: OwnerKind
    owner_person_id: SafeStr | None = Field(default=None, max_length=36)
    owner_name: SafeStr | None = Field(default=None, max_length=200, description="Organisation name when owner_kind is ORGANISATION")

    @model_validator(mode="after")
    def _owner(self) -> PropertyCreate:
        if self.owner_kind is OwnerKind.PERSON and not self.owner_person_id:
            raise ValueError("owner_person_id is required when the owner is a person")
        if self.owner_kind is OwnerKind.ORGANISATION and not self.owner_name:
            raise ValueError("owner_name is required when the owner is an organisation")
        return self


class Property(SQLModel, table=True):
    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    title: str = Field(max_length=200)
    kind: str = Field(max_length=30, index=True)
    area: str = Field(max_length=100)
    rooms: int
    max_occupants: int | None = None
    barrier_free: bool = False
    accessibility_notes: str | None = Field(default=None, max_length=1000)
    owner_kind: str = Field(max_length=20)
    owner_person_id: str | None = Field(default=None, max_length=36)
    owner_name: str | None = Field(default=None, max_length=200)
    status: str = Field(default=PropertyStatus.DRAFT.value, max_length=20, index=True)
    # Bumped by every booking on SQLite: the row lock that serialises them (see api/trial_stays).
    lock_version: int = 0
    created_at: datetime = Field(default_factory=now)


class PropertyPublic(PropertyCreate):
    id: str
    status: PropertyStatus
    created_at: datetime


class PropertyStatusUpdate(SQLModel):
    status: PropertyStatus
    reason: SafeStr | None = Field(default=None, max_length=500)


class InquiryCreate(SQLModel):
    person_id: SafeStr = Field(max_length=36)
    case_id: SafeStr | None = Field(default=None, max_length=36, description="The prospect's migration case, if any")
    message: SafeStr | None = Field(default=None, max_length=2000)


class PropertyInquiry(SQLModel, table=True):
    __tablename__ = "property_inquiry"
    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    property_id: str = Field(foreign_key="property.id", max_length=36, index=True)
    person_id: str = Field(max_length=36, index=True)
    case_id: str | None = Field(default=None, foreign_key="migration_case.id", max_length=36)
    message: str | None = Field(default=None, max_length=2000)
    inquired_at: datetime


class InquiryPublic(SQLModel):
    id: str
    property_id: str
    person_id: str
    case_id: str | None
    message: str | None
    inquired_at: datetime


# -- trial stays ----------------------------------------------------------------------------
class StayStatus(StrEnum):
    BOOKED = "BOOKED"
    STARTED = "STARTED"
    COMPLETED = "COMPLETED"
    CANCELLED = "CANCELLED"


class TrialStayCreate(SQLModel):
    property_id: SafeStr = Field(max_length=36)
    person_id: SafeStr = Field(max_length=36)
    case_id: SafeStr | None = Field(default=None, max_length=36)
    check_in: EventDate
    check_out: EventDate = Field(description=f"Day of departure; at most {MAX_TRIAL_NIGHTS} nights after check_in")
    household_size: int = Field(default=1, ge=1, le=MAX_HOUSEHOLD)

    @field_validator("check_out")
    @classmethod
    def _check_out(cls, value: date, info: ValidationInfo) -> date:
        value = _after(value, info, "check_in")
        start = info.data.get("check_in")
        if isinstance(start, date) and (value - start).days > MAX_TRIAL_NIGHTS:
            raise ValueError(f"a trial stay is at most {MAX_TRIAL_NIGHTS} nights")
        return value


class TrialStay(SQLModel, table=True):
    __tablename__ = "trial_stay"
    __table_args__ = (CheckConstraint("check_out > check_in", name="ck_trial_stay_dates"),)
    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    property_id: str = Field(foreign_key="property.id", max_length=36, index=True)
    person_id: str = Field(max_length=36, index=True)
    case_id: str | None = Field(default=None, foreign_key="migration_case.id", max_length=36)
    check_in: date
    check_out: date
    household_size: int
    status: str = Field(default=StayStatus.BOOKED.value, max_length=20)
    checked_in_on: date | None = None
    completed_on: date | None = None
    cancelled_on: date | None = None
    created_at: datetime = Field(default_factory=now)


class TrialStayPublic(SQLModel):
    id: str
    property_id: str
    person_id: str
    case_id: str | None
    check_in: date
    check_out: date
    nights: int
    household_size: int
    status: StayStatus
    checked_in_on: date | None
    completed_on: date | None
    cancelled_on: date | None


# -- migration cases ------------------------------------------------------------------------
class CaseCreate(SQLModel):
    person_id: SafeStr = Field(max_length=36, description="The prospect: residency status VISITOR or RELATIONSHIP")
    household_size: int = Field(default=1, ge=1, le=MAX_HOUSEHOLD)
    origin: str | None = Field(default=None, description="Prefecture of origin (JIS X 0401 code) or ABROAD", schema_extra={"pattern": ORIGIN_PATTERN.pattern})
    recorded_by: SafeStr = Field(min_length=1, max_length=100, description="Staff member who took the inquiry")
    note: SafeStr | None = Field(default=None, max_length=2000)

    _origin = field_validator("origin")(_check_origin)


class MigrationCase(SQLModel, table=True):
    __tablename__ = "migration_case"
    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    person_id: str = Field(max_length=36, index=True)
    stage: str = Field(default=MigrationStage.INQUIRY.value, max_length=20, index=True)
    household_size: int
    origin: str | None = Field(default=None, max_length=10)
    opened_on: date
    note: str | None = Field(default=None, max_length=2000)
    created_at: datetime = Field(default_factory=now)


class StageChangeCreate(SQLModel):
    stage: MigrationStage
    recorded_by: SafeStr = Field(min_length=1, max_length=100, description="Staff member recording the change")
    occurred_on: EventDate | None = Field(default=None, description="When the consultation, tour, … happened; defaults to today")
    property_ids: list[SafeStr] = Field(default_factory=list, max_length=20, description="For TOURED: the properties shown")
    note: SafeStr | None = Field(default=None, max_length=2000)


class StageRecord(SQLModel, table=True):
    """The case's history: every stage change, with who recorded it (consultations, tours, …)."""

    __tablename__ = "migration_stage_record"
    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    case_id: str = Field(foreign_key="migration_case.id", max_length=36, index=True)
    previous_stage: str | None = Field(default=None, max_length=20)
    stage: str = Field(max_length=20)
    occurred_on: date
    recorded_by: str = Field(max_length=100)
    property_ids: str = Field(default="[]", sa_column=Column(Text, nullable=False))
    note: str | None = Field(default=None, max_length=2000)
    recorded_at: datetime = Field(default_factory=now)


class StageRecordPublic(SQLModel):
    previous_stage: MigrationStage | None
    stage: MigrationStage
    occurred_on: date
    recorded_by: str
    property_ids: list[str]
    note: str | None


class CasePublic(SQLModel):
    id: str
    person_id: str
    stage: MigrationStage
    household_size: int
    origin: str | None
    opened_on: date
    note: str | None
    history: list[StageRecordPublic]


# -- moves, relocations, workation, relationships -------------------------------------------
class MoveCreate(SQLModel):
    person_id: SafeStr = Field(max_length=36, description="The household's main person")
    case_id: SafeStr | None = Field(default=None, max_length=36)
    property_id: SafeStr | None = Field(default=None, max_length=36)
    household_size: int = Field(ge=1, le=MAX_HOUSEHOLD)
    origin: str = Field(description="Prefecture of origin (JIS X 0401 code) or ABROAD", schema_extra={"pattern": ORIGIN_PATTERN.pattern})
    channel: MoveChannel
    area: SafeStr = Field(min_length=1, max_length=100, description="Daily-life area moved into")
    moved_in_on: EventDate

    _origin = field_validator("origin")(_check_origin)


class Move(SQLModel, table=True):
    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    person_id: str = Field(max_length=36, index=True)
    case_id: str | None = Field(default=None, foreign_key="migration_case.id", max_length=36)
    property_id: str | None = Field(default=None, foreign_key="property.id", max_length=36)
    household_size: int
    origin: str = Field(max_length=10)
    channel: str = Field(max_length=20)
    area: str = Field(max_length=100)
    moved_in_on: date
    settled_on: date | None = None
    settlement_recorded_by: str | None = Field(default=None, max_length=100)
    created_at: datetime = Field(default_factory=now)


class MovePublic(MoveCreate):
    id: str
    moved_in_on: date  # as stored: the window applies to what clients send
    settled_on: date | None
    settlement_recorded_by: str | None


class SettlementCreate(SQLModel):
    recorded_by: SafeStr = Field(min_length=1, max_length=100)
    confirmed_on: EventDate | None = Field(default=None, description="Defaults to today; at least 12 months after moving in")


class RelocationCreate(SQLModel):
    person_id: SafeStr = Field(max_length=36)
    from_area: SafeStr = Field(min_length=1, max_length=100)
    to_area: SafeStr = Field(min_length=1, max_length=100)
    into_town_centre: bool = Field(default=False, description="A move into the town centre (まちなか居住)")
    property_id: SafeStr | None = Field(default=None, max_length=36)
    relocated_on: EventDate

    @field_validator("to_area")
    @classmethod
    def _different(cls, value: str, info: ValidationInfo) -> str:
        if value == info.data.get("from_area"):
            raise ValueError("must differ from from_area")
        return value


class Relocation(SQLModel, table=True):
    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    person_id: str = Field(max_length=36, index=True)
    from_area: str = Field(max_length=100)
    to_area: str = Field(max_length=100)
    into_town_centre: bool = False
    property_id: str | None = Field(default=None, foreign_key="property.id", max_length=36)
    relocated_on: date


class RelocationPublic(RelocationCreate):
    id: str
    relocated_on: date  # as stored: the window applies to what clients send


class WorkationCreate(SQLModel):
    person_id: SafeStr = Field(max_length=36)
    property_id: SafeStr | None = Field(default=None, max_length=36)
    started_on: EventDate
    ended_on: EventDate = Field(description="Recorded once the stay has ended: not in the future")
    purpose: SafeStr | None = Field(default=None, max_length=500)

    @field_validator("ended_on")
    @classmethod
    def _ended(cls, value: date, info: ValidationInfo) -> date:
        return _after(value, info, "started_on")


class WorkationStay(SQLModel, table=True):
    __tablename__ = "workation_stay"
    __table_args__ = (CheckConstraint("ended_on > started_on", name="ck_workation_stay_dates"),)
    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    person_id: str = Field(max_length=36, index=True)
    property_id: str | None = Field(default=None, foreign_key="property.id", max_length=36)
    started_on: date
    ended_on: date
    purpose: str | None = Field(default=None, max_length=500)


class WorkationPublic(WorkationCreate):
    id: str
    started_on: date  # as stored: the window applies to what clients send
    ended_on: date
    nights: int


class RelationshipCreate(SQLModel):
    person_id: SafeStr = Field(max_length=36, description="Someone involved with the town without living there (not RESIDENT)")
    kind: RelationshipKind
    note: SafeStr | None = Field(default=None, max_length=1000)


class Relationship(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("person_id", "kind", name="uq_relationship_person_kind"),)
    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    person_id: str = Field(max_length=36, index=True)
    kind: str = Field(max_length=30)
    note: str | None = Field(default=None, max_length=1000)
    registered_on: date


class RelationshipPublic(RelationshipCreate):
    id: str
    registered_on: date
