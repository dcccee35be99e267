"""Tables of the exchange service, and the API's input and output shapes (SQLModel variants).

JSON-ish lists (capabilities, languages, countries) are stored as JSON text so the schema is the
same on SQLite and PostgreSQL. Times are stored in UTC.
"""

from __future__ import annotations

import re
import secrets
import uuid
from datetime import date, datetime
from enum import StrEnum

from pydantic import field_validator, model_validator
from sqlalchemy import Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from komagane_contracts.events.exchange import ActivityCategory, HubKind, ParticipationMode, ReservationStatus
from komagane_kit.clock import now
from komagane_kit.inputs import EventDate, EventTime, SafeStr

LANGUAGE_TAG = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$")
# The validators' rules, stated in the JSON Schema of the lists they check.
LANGUAGE_TAGS_SCHEMA = {"json_schema_extra": {"items": {"type": "string", "pattern": LANGUAGE_TAG.pattern, "description": "BCP 47 language tag"}}}
COUNTRY_CODE = r"^[A-Z]{2}$"


def new_id() -> str:
    return str(uuid.uuid4())


def _check_languages(values: list[str]) -> list[str]:
    for value in values:
        if not LANGUAGE_TAG.fullmatch(value):
            raise ValueError(f"{value!r} is not a BCP 47 language tag")
    return values


# -- hubs ---------------------------------------------------------------------------------
class HubCreate(SQLModel):
    name_ja: SafeStr = Field(min_length=1, max_length=200)
    name_en: SafeStr | None = Field(default=None, max_length=200)
    kind: HubKind
    capabilities: list[SafeStr] = Field(default_factory=list, description="gym, studio, hall, kitchen, …")
    area: SafeStr = Field(min_length=1, max_length=100, description="Daily-life area (日常生活圏域)")
    opening_hours: SafeStr | None = Field(default=None, max_length=500)
    accessibility_notes: SafeStr | None = Field(default=None, max_length=1000)


class Hub(SQLModel, table=True):
    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    name_ja: str = Field(max_length=200)
    name_en: str | None = Field(default=None, max_length=200)
    kind: str = Field(max_length=30)
    capabilities: str = Field(default="[]", sa_column=Column(Text, nullable=False))
    area: str = Field(max_length=100)
    opening_hours: str | None = Field(default=None, max_length=500)
    accessibility_notes: str | None = Field(default=None, max_length=1000)
    created_at: datetime = Field(default_factory=now)


class HubPublic(HubCreate):
    id: str
    created_at: datetime


class HubVisitCreate(SQLModel):
    person_id: SafeStr = Field(max_length=36)
    visited_at: EventTime | None = Field(default=None, description="Defaults to now; Asia/Tokyo when no offset is given")
    purpose: SafeStr | None = Field(default=None, max_length=200)


class HubVisit(SQLModel, table=True):
    __tablename__ = "hub_visit"
    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    hub_id: str = Field(foreign_key="hub.id", max_length=36, index=True)
    person_id: str = Field(max_length=36, index=True)
    visited_at: datetime
    purpose: str | None = Field(default=None, max_length=200)


class HeadcountCreate(SQLModel):
    counted_on: EventDate
    count: int = Field(ge=0, le=100_000)
    occasion: SafeStr = Field(min_length=1, max_length=200, description="e.g. 駒ヶ根高原 festival, deck event")


class Headcount(SQLModel, table=True):
    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    hub_id: str = Field(foreign_key="hub.id", max_length=36, index=True)
    counted_on: date
    count: int
    occasion: str = Field(max_length=200)


# -- activities and sessions ----------------------------------------------------------------
class OrganiserKind(StrEnum):
    PERSON = "PERSON"
    ORGANISATION = "ORGANISATION"


class ActivityCreate(SQLModel):
    hub_id: SafeStr = Field(max_length=36)
    title: SafeStr = Field(min_length=1, max_length=200)
    category: ActivityCategory
    organiser_kind: OrganiserKind
    organiser_person_id: SafeStr | None = Field(default=None, max_length=36)
    organiser_name: SafeStr | None = Field(default=None, max_length=200, description="Organisation name when organiser_kind is ORGANISATION")
    languages: list[SafeStr] = Field(default_factory=lambda: ["ja"], min_length=1, schema_extra=LANGUAGE_TAGS_SCHEMA)
    is_kayoinoba: bool = False
    support_specific: bool = Field(default=False, description="For a disability or care need: attendance there is S2")

    @field_validator("languages")
    @classmethod
    def _languages(cls, values: list[str]) -> list[str]:
        return _check_languages(values)

    @model_validator(mode="after")
    def _organiser(self) -> ActivityCreate:
        if self.organiser_kind is OrganiserKind.PERSON and not self.organiser_person_id:
            raise ValueError("organiser_person_id is required when the organiser is a person")
        if self.organiser_kind is OrganiserKind.ORGANISATION and not self.organiser_name:
            raise ValueError("organiser_name is required when the organiser is an organisation")
        return self


class Activity(SQLModel, table=True):
    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    hub_id: str = Field(foreign_key="hub.id", max_length=36, index=True)
    title: str = Field(max_length=200)
    category: str = Field(max_length=30)
    organiser_kind: str = Field(max_length=20)
    organiser_person_id: str | None = Field(default=None, max_length=36)
    organiser_name: str | None = Field(default=None, max_length=200)
    languages: str = Field(default='["ja"]', sa_column=Column(Text, nullable=False))
    is_kayoinoba: bool = False
    support_specific: bool = False
    created_at: datetime = Field(default_factory=now)


class ActivityPublic(ActivityCreate):
    id: str
    created_at: datetime


class SessionStatus(StrEnum):
    SCHEDULED = "SCHEDULED"
    HELD = "HELD"
    CANCELLED = "CANCELLED"


class SessionCreate(SQLModel):
    starts_at: EventTime = Field(description="Asia/Tokyo when no offset is given")
    ends_at: EventTime
    capacity: int = Field(ge=1, le=10_000)
    recorded_after: bool = Field(
        default=False, description="Staff entering a session that has already begun or taken place (a paper register): starts_at is then in the past"
    )

    @model_validator(mode="after")
    def _order(self) -> SessionCreate:
        if self.ends_at <= self.starts_at:
            raise ValueError("ends_at must be after starts_at")
        return self


class Session(SQLModel, table=True):
    __tablename__ = "exchange_session"
    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    activity_id: str = Field(foreign_key="activity.id", max_length=36, index=True)
    hub_id: str = Field(foreign_key="hub.id", max_length=36, index=True)
    starts_at: datetime = Field(index=True)
    ends_at: datetime
    capacity: int
    reserved_count: int = 0
    status: str = Field(default=SessionStatus.SCHEDULED.value, max_length=20)
    check_in_code: str = Field(default_factory=lambda: f"{secrets.randbelow(10**6):06d}", max_length=12)
    # Bumped by every change that must be serialised (reservations): the row lock.
    lock_version: int = 0


class SessionPublic(SQLModel):
    id: str
    activity_id: str
    title: str = Field(description="The activity's title, so a list of sessions reads without a lookup per row")
    hub_id: str
    category: ActivityCategory
    languages: list[str]
    starts_at: datetime
    ends_at: datetime
    capacity: int
    reserved_count: int
    status: SessionStatus


class SessionStaffView(SessionPublic):
    check_in_code: str = Field(description="Shown to hub staff, who display it at the session for self check-in")


class SessionHeldCreate(SQLModel):
    countries: list[SafeStr] = Field(
        default_factory=list,
        description="For international exchange: ISO 3166-1 alpha-2 codes",
        schema_extra={"json_schema_extra": {"items": {"type": "string", "pattern": COUNTRY_CODE}}},
    )

    @field_validator("countries")
    @classmethod
    def _countries(cls, values: list[str]) -> list[str]:
        for value in values:
            if not re.fullmatch(COUNTRY_CODE, value):
                raise ValueError(f"{value!r} is not an ISO 3166-1 alpha-2 code")
        return values


class SessionCancelCreate(SQLModel):
    reason: SafeStr = Field(min_length=1, max_length=500)


class ReservationCreate(SQLModel):
    person_id: SafeStr = Field(max_length=36)


class Reservation(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("session_id", "person_id", name="uq_reservation_session_person"),)
    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    session_id: str = Field(foreign_key="exchange_session.id", max_length=36, index=True)
    person_id: str = Field(max_length=36)
    status: str = Field(max_length=20)
    seq: int = Field(description="Order of arrival within the session: the waitlist order")
    created_at: datetime = Field(default_factory=now)


class ReservationPublic(SQLModel):
    session_id: str
    person_id: str
    status: ReservationStatus
    waitlist_position: int | None = None


# -- attendance -------------------------------------------------------------------------------
class ProxyRecord(SQLModel):
    staff_id: SafeStr = Field(min_length=1, max_length=100, description="The staff member recording for the person")
    reason: SafeStr = Field(min_length=1, max_length=300, description="Why the person did not check in themselves")


class AttendanceCreate(SQLModel):
    person_id: SafeStr = Field(max_length=36)
    mode: ParticipationMode = ParticipationMode.ATTEND
    check_in_code: SafeStr | None = Field(default=None, max_length=12, description="Self check-in: the code shown at the session")
    proxy: ProxyRecord | None = Field(default=None, description="Recorded by staff for a person without a phone")
    attended_at: EventTime | None = Field(
        default=None,
        description="Staff recording from a paper register: when the person attended (within the session; staff and admin only, with proxy). Defaults to now",
    )

    @model_validator(mode="after")
    def _one_way(self) -> AttendanceCreate:
        if (self.check_in_code is None) == (self.proxy is None):
            raise ValueError("give either check_in_code (self check-in) or proxy (recorded by staff)")
        if self.attended_at is not None and self.proxy is None:
            raise ValueError("attended_at is for attendance recorded by staff (proxy)")
        return self


class Attendance(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("session_id", "person_id", name="uq_attendance_session_person"),)
    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    session_id: str = Field(foreign_key="exchange_session.id", max_length=36, index=True)
    person_id: str = Field(max_length=36, index=True)
    mode: str = Field(max_length=20)
    attended_at: datetime
    recorded_by: str | None = Field(default=None, max_length=100)
    proxy_reason: str | None = Field(default=None, max_length=300)


class AttendancePublic(SQLModel):
    id: str
    session_id: str
    person_id: str
    mode: ParticipationMode
    attended_at: datetime
    recorded_by: str | None
    proxy_reason: str | None


# -- groups and volunteering ------------------------------------------------------------------
class GroupCreate(SQLModel):
    name: SafeStr = Field(min_length=1, max_length=200)
    kind: SafeStr = Field(min_length=1, max_length=50, description="CLUB, KAYOINOBA, CITIZEN_GROUP, HEALTH_STATION_GROUP, …")
    hub_id: SafeStr | None = Field(default=None, max_length=36)
    is_kayoinoba: bool = False
    support_specific: bool = False


class Group(SQLModel, table=True):
    __tablename__ = "citizen_group"
    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    name: str = Field(max_length=200)
    kind: str = Field(max_length=50)
    hub_id: str | None = Field(default=None, foreign_key="hub.id", max_length=36)
    is_kayoinoba: bool = False
    support_specific: bool = False
    created_at: datetime = Field(default_factory=now)


class GroupPublic(GroupCreate):
    id: str
    created_at: datetime
    members: int = 0


class MembershipCreate(SQLModel):
    person_id: SafeStr = Field(max_length=36)
    officer_role: SafeStr | None = Field(default=None, max_length=50, description="LEADER, TREASURER, SECRETARY, …")


class Membership(SQLModel, table=True):
    group_id: str = Field(foreign_key="citizen_group.id", primary_key=True, max_length=36)
    person_id: str = Field(primary_key=True, max_length=36)
    officer_role: str | None = Field(default=None, max_length=50)
    joined_on: date
    left_on: date | None = None


class MembershipPublic(SQLModel):
    group_id: str
    person_id: str
    officer_role: str | None
    joined_on: date


class VolunteerShiftCreate(SQLModel):
    person_id: SafeStr = Field(max_length=36)
    hub_id: SafeStr | None = Field(default=None, max_length=36)
    activity_id: SafeStr | None = Field(default=None, max_length=36)
    worked_on: EventDate
    hours: float = Field(gt=0, le=24)
    description: SafeStr | None = Field(default=None, max_length=500)


class VolunteerShift(SQLModel, table=True):
    __tablename__ = "volunteer_shift"
    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    person_id: str = Field(max_length=36, index=True)
    hub_id: str | None = Field(default=None, foreign_key="hub.id", max_length=36)
    activity_id: str | None = Field(default=None, foreign_key="activity.id", max_length=36)
    worked_on: date
    hours: float
    description: str | None = Field(default=None, max_length=500)


class VolunteerShiftPublic(VolunteerShiftCreate):
    id: str
    worked_on: date  # as stored: the window applies to what clients send
