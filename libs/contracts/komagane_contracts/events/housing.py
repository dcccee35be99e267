"""Events of the housing service (住まい): properties, trial stays, migration cases, moves,
relocations, workation and relationship-population registration. See docs/architecture.md
(Events; Consent and sensitivity).

Property events are not about a person (S0) and are keyed by property id, so everything that
happens to one property stays in order; an owner's identity stays in the service. Everything a
person does (inquiries, stays, migration, moves) is S1 and keyed by person id. The city is the
controller: the vacant-house bank and the migration council are municipal.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import ClassVar

from pydantic import Field

from komagane_contracts.events.base import EventModel
from komagane_contracts.vocabulary import Controller, Sensitivity

HOUSING_TOPIC = "housing.v1"
HOUSING_SOURCE = "/komagane/housing"


class PropertyKind(StrEnum):
    VACANT_HOUSE = "VACANT_HOUSE"  # 空き家
    VACANT_SHOP = "VACANT_SHOP"  # 空き店舗
    GUEST_HOUSE = "GUEST_HOUSE"
    TRIAL_RESIDENCE = "TRIAL_RESIDENCE"  # お試し居住


class PropertyStatus(StrEnum):
    DRAFT = "DRAFT"
    LISTED = "LISTED"
    UNDER_INQUIRY = "UNDER_INQUIRY"
    CONTRACTED = "CONTRACTED"
    WITHDRAWN = "WITHDRAWN"
    CONVERTED_TO_HUB = "CONVERTED_TO_HUB"


class MigrationStage(StrEnum):
    """The migration council's funnel, in order."""

    INQUIRY = "INQUIRY"
    CONSULTED = "CONSULTED"
    TOURED = "TOURED"
    TRIAL = "TRIAL"
    DECIDED = "DECIDED"
    MOVED = "MOVED"
    SETTLED = "SETTLED"


class MoveChannel(StrEnum):
    """Through which programme the household came to the town (funnel attribution)."""

    COUNCIL = "COUNCIL"
    TRIAL_STAY = "TRIAL_STAY"
    COOPERATOR = "COOPERATOR"
    OTHER = "OTHER"


class RelationshipKind(StrEnum):
    """How a person not living in the town is involved with it (関係人口)."""

    FORMER_RESIDENT = "FORMER_RESIDENT"
    FURUSATO_DONOR = "FURUSATO_DONOR"
    REGULAR_VISITOR = "REGULAR_VISITOR"
    VOLUNTEER = "VOLUNTEER"
    WORKATION = "WORKATION"
    BUSINESS = "BUSINESS"
    STUDENT = "STUDENT"
    OTHER = "OTHER"


class _HousingEvent(EventModel):
    sensitivity: ClassVar[Sensitivity] = Sensitivity.S1
    controller: ClassVar[Controller] = Controller.CITY
    topic: ClassVar[str] = HOUSING_TOPIC
    source: ClassVar[str] = HOUSING_SOURCE


class _PropertyEvent(_HousingEvent):
    """Not about a person: aggregate-level (S0), keyed by property."""

    sensitivity: ClassVar[Sensitivity] = Sensitivity.S0
    property_id: str

    def subject(self) -> str | None:
        return self.property_id


class PropertyRegistered(_PropertyEvent):
    event_type: ClassVar[str] = "jp.komagane.housing.property-registered.v1"
    kind: PropertyKind
    area: str = Field(description="Daily-life area (日常生活圏域)")
    rooms: int
    barrier_free: bool
    owner_kind: str = Field(description="PERSON or ORGANISATION (the owner's identity stays in the service)")
    status: PropertyStatus


class PropertyListed(_PropertyEvent):
    event_type: ClassVar[str] = "jp.komagane.housing.property-listed.v1"
    kind: PropertyKind
    area: str
    previous_status: PropertyStatus
    listed_on: date


class PropertyStatusChanged(_PropertyEvent):
    """Every status change other than listing (which is PropertyListed)."""

    event_type: ClassVar[str] = "jp.komagane.housing.property-status-changed.v1"
    previous_status: PropertyStatus
    status: PropertyStatus
    changed_on: date
    reason: str | None = None


class _PersonHousingEvent(_HousingEvent):
    person_id: str


class PropertyInquired(_PersonHousingEvent):
    event_type: ClassVar[str] = "jp.komagane.housing.property-inquired.v1"
    inquiry_id: str
    property_id: str
    case_id: str | None = Field(default=None, description="The prospect's migration case, when there is one")
    inquired_at: datetime


class TrialStayBooked(_PersonHousingEvent):
    event_type: ClassVar[str] = "jp.komagane.housing.trial-stay-booked.v1"
    stay_id: str
    property_id: str
    case_id: str | None = None
    check_in: date
    check_out: date
    nights: int
    household_size: int


class TrialStayStarted(_PersonHousingEvent):
    event_type: ClassVar[str] = "jp.komagane.housing.trial-stay-started.v1"
    stay_id: str
    property_id: str
    checked_in_on: date


class TrialStayCompleted(_PersonHousingEvent):
    """Completed trial stays feed the migration-funnel KPI (docs/architecture.md, How a profile is computed)."""

    event_type: ClassVar[str] = "jp.komagane.housing.trial-stay-completed.v1"
    stay_id: str
    property_id: str
    case_id: str | None = None
    check_in: date
    completed_on: date
    nights: int = Field(description="Nights actually stayed")


class TrialStayCancelled(_PersonHousingEvent):
    event_type: ClassVar[str] = "jp.komagane.housing.trial-stay-cancelled.v1"
    stay_id: str
    property_id: str
    check_in: date
    check_out: date
    cancelled_on: date


class MigrationCaseOpened(_PersonHousingEvent):
    event_type: ClassVar[str] = "jp.komagane.housing.migration-case-opened.v1"
    case_id: str
    stage: MigrationStage
    opened_on: date
    household_size: int
    origin: str | None = Field(default=None, description="Prefecture of origin (JIS X 0401 code 01–47) or ABROAD")
    recorded_by: str


class MigrationStageChanged(_PersonHousingEvent):
    event_type: ClassVar[str] = "jp.komagane.housing.migration-stage-changed.v1"
    case_id: str
    previous_stage: MigrationStage
    stage: MigrationStage
    occurred_on: date
    recorded_by: str = Field(description="Staff member of the migration council who recorded the change")
    property_ids: list[str] = Field(default_factory=list, description="Properties shown on a tour")


class HouseholdMovedIn(_PersonHousingEvent):
    event_type: ClassVar[str] = "jp.komagane.housing.household-moved-in.v1"
    move_id: str
    case_id: str | None = None
    property_id: str | None = None
    household_size: int
    origin: str = Field(description="Prefecture of origin (JIS X 0401 code 01–47) or ABROAD")
    channel: MoveChannel
    area: str = Field(description="Daily-life area moved into")
    moved_in_on: date


class SettlementConfirmed(_PersonHousingEvent):
    event_type: ClassVar[str] = "jp.komagane.housing.settlement-confirmed.v1"
    move_id: str
    moved_in_on: date
    confirmed_on: date
    recorded_by: str


class ResidenceRelocated(_PersonHousingEvent):
    event_type: ClassVar[str] = "jp.komagane.housing.residence-relocated.v1"
    relocation_id: str
    from_area: str
    to_area: str
    into_town_centre: bool
    property_id: str | None = None
    relocated_on: date


class WorkationStayCompleted(_PersonHousingEvent):
    event_type: ClassVar[str] = "jp.komagane.housing.workation-stay-completed.v1"
    stay_id: str
    property_id: str | None = None
    started_on: date
    ended_on: date
    nights: int


class RelationshipRegistered(_PersonHousingEvent):
    """関係人口: a person involved with the town without living there."""

    event_type: ClassVar[str] = "jp.komagane.housing.relationship-registered.v1"
    relationship_id: str
    kind: RelationshipKind
    registered_on: date


HOUSING_EVENTS: tuple[type[EventModel], ...] = (
    PropertyRegistered,
    PropertyListed,
    PropertyStatusChanged,
    PropertyInquired,
    TrialStayBooked,
    TrialStayStarted,
    TrialStayCompleted,
    TrialStayCancelled,
    MigrationCaseOpened,
    MigrationStageChanged,
    HouseholdMovedIn,
    SettlementConfirmed,
    ResidenceRelocated,
    WorkationStayCompleted,
    RelationshipRegistered,
)
