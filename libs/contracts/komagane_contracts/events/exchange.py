"""Events of the exchange service (交流・居場所): hubs, activities, sessions, attendance, groups.

Person-centred events are keyed by person id; hub, activity and session events by hub id, so
everything that happens at one hub stays in order. Attendance, reservations and memberships of
a `support_specific` activity or group are published as S2: those event types declare it
(`SUPPORT_S2`) and the service raises each such event (CloudEvent.of(sensitivity=…)).
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import ClassVar

from pydantic import Field

from komagane_contracts.events.base import EventModel, RaisedSensitivity
from komagane_contracts.vocabulary import Controller, Sensitivity

EXCHANGE_TOPIC = "exchange.v1"
EXCHANGE_SOURCE = "/komagane/exchange"


class HubKind(StrEnum):
    WELLNESS_HUB = "WELLNESS_HUB"
    CIVIC_CENTRE = "CIVIC_CENTRE"
    COMMUNITY_HALL = "COMMUNITY_HALL"
    SHOP = "SHOP"
    JICA = "JICA"
    OTHER = "OTHER"


class ActivityCategory(StrEnum):
    """The elderly needs survey's participation categories, plus the programme's own."""

    VOLUNTEER = "VOLUNTEER"
    SPORTS = "SPORTS"
    HOBBY = "HOBBY"
    STUDY_CULTURE = "STUDY_CULTURE"
    SKILL_TEACHING = "SKILL_TEACHING"
    KAYOINOBA = "KAYOINOBA"
    SENIOR_CLUB = "SENIOR_CLUB"
    NEIGHBORHOOD_ASSOC = "NEIGHBORHOOD_ASSOC"
    INTERNATIONAL = "INTERNATIONAL"
    CHILDCARE = "CHILDCARE"
    HEALTH_PROGRAM = "HEALTH_PROGRAM"


class ParticipationMode(StrEnum):
    """Receiving modes build belonging; contributing modes are roles (docs/architecture.md, How a profile is computed)."""

    ATTEND = "ATTEND"
    LEARN = "LEARN"
    RECEIVE_SUPPORT = "RECEIVE_SUPPORT"
    TEACH = "TEACH"
    HOST = "HOST"
    ORGANIZE = "ORGANIZE"
    VOLUNTEER = "VOLUNTEER"
    WORK = "WORK"
    CARE_GIVE = "CARE_GIVE"
    MENTOR = "MENTOR"

    @property
    def contributing(self) -> bool:
        return self not in (ParticipationMode.ATTEND, ParticipationMode.LEARN, ParticipationMode.RECEIVE_SUPPORT)


class ReservationStatus(StrEnum):
    RESERVED = "RESERVED"
    WAITLISTED = "WAITLISTED"


SUPPORT_S2 = RaisedSensitivity(
    Sensitivity.S2,
    "S2 when the session's activity (for group membership: the group) is support_specific, for a disability or care need"
    " (要配慮個人情報); the body does not say it, the exchange service does. S1 otherwise",
)


class _ExchangeEvent(EventModel):
    sensitivity: ClassVar[Sensitivity] = Sensitivity.S1
    controller: ClassVar[Controller] = Controller.JOCA
    topic: ClassVar[str] = EXCHANGE_TOPIC
    source: ClassVar[str] = EXCHANGE_SOURCE


class _HubEvent(_ExchangeEvent):
    """Not about a person: aggregate-level (S0), keyed by hub."""

    sensitivity: ClassVar[Sensitivity] = Sensitivity.S0
    hub_id: str

    def subject(self) -> str | None:
        return self.hub_id


class HubRegistered(_HubEvent):
    event_type: ClassVar[str] = "jp.komagane.exchange.hub-registered.v1"
    name_ja: str
    name_en: str | None = None
    kind: HubKind
    capabilities: list[str] = Field(default_factory=list)
    area: str = Field(description="Daily-life area (日常生活圏域)")


class ActivityPublished(_HubEvent):
    event_type: ClassVar[str] = "jp.komagane.exchange.activity-published.v1"
    activity_id: str
    category: ActivityCategory
    is_kayoinoba: bool
    support_specific: bool = Field(description="For a disability or care need: participation in it is S2")
    languages: list[str]
    organiser_kind: str = Field(description="PERSON or ORGANISATION (the organiser's identity stays in the service)")


class SessionScheduled(_HubEvent):
    event_type: ClassVar[str] = "jp.komagane.exchange.session-scheduled.v1"
    session_id: str
    activity_id: str
    category: ActivityCategory
    starts_at: datetime
    ends_at: datetime
    capacity: int


class SessionHeld(_HubEvent):
    event_type: ClassVar[str] = "jp.komagane.exchange.session-held.v1"
    session_id: str
    activity_id: str
    category: ActivityCategory
    held_on: date
    attendees: int


class SessionCancelled(_HubEvent):
    event_type: ClassVar[str] = "jp.komagane.exchange.session-cancelled.v1"
    session_id: str
    activity_id: str
    reason: str
    affected_reservations: int = Field(description="Reservations and waitlist entries the cancellation notifies")


class InternationalExchangeHeld(_HubEvent):
    event_type: ClassVar[str] = "jp.komagane.exchange.international-exchange-held.v1"
    session_id: str
    activity_id: str
    held_on: date
    attendees: int
    countries: list[str] = Field(description="ISO 3166-1 alpha-2 codes of participating countries")


class AnonymousHeadcountRecorded(_HubEvent):
    event_type: ClassVar[str] = "jp.komagane.exchange.anonymous-headcount-recorded.v1"
    headcount_id: str
    counted_on: date
    count: int
    occasion: str


class GroupRegistered(_ExchangeEvent):
    event_type: ClassVar[str] = "jp.komagane.exchange.group-registered.v1"
    sensitivity: ClassVar[Sensitivity] = Sensitivity.S0
    group_id: str
    kind: str
    hub_id: str | None = None
    is_kayoinoba: bool
    support_specific: bool

    def subject(self) -> str | None:
        return self.group_id


class _PersonExchangeEvent(_ExchangeEvent):
    person_id: str


class HubVisited(_PersonExchangeEvent):
    event_type: ClassVar[str] = "jp.komagane.exchange.hub-visited.v1"
    visit_id: str
    hub_id: str
    visited_at: datetime
    purpose: str | None = None


class SessionReserved(_PersonExchangeEvent):
    event_type: ClassVar[str] = "jp.komagane.exchange.session-reserved.v1"
    raised_sensitivity: ClassVar[RaisedSensitivity | None] = SUPPORT_S2
    session_id: str
    hub_id: str
    status: ReservationStatus
    waitlist_position: int | None = None


class ReservationCancelled(_PersonExchangeEvent):
    event_type: ClassVar[str] = "jp.komagane.exchange.reservation-cancelled.v1"
    raised_sensitivity: ClassVar[RaisedSensitivity | None] = SUPPORT_S2
    session_id: str
    hub_id: str
    promoted_person_id: str | None = Field(default=None, description="First waitlisted person, now holding the freed seat")


class ParticipantAttended(_PersonExchangeEvent):
    event_type: ClassVar[str] = "jp.komagane.exchange.participant-attended.v1"
    raised_sensitivity: ClassVar[RaisedSensitivity | None] = SUPPORT_S2
    attendance_id: str
    session_id: str
    activity_id: str
    hub_id: str
    category: ActivityCategory
    is_kayoinoba: bool
    mode: ParticipationMode
    attended_at: datetime
    recorded_by: str | None = Field(default=None, description="Staff member who recorded it for the person (proxy)")
    proxy_reason: str | None = None


class MemberJoinedGroup(_PersonExchangeEvent):
    event_type: ClassVar[str] = "jp.komagane.exchange.member-joined-group.v1"
    raised_sensitivity: ClassVar[RaisedSensitivity | None] = SUPPORT_S2
    group_id: str
    officer_role: str | None = Field(default=None, description="e.g. LEADER, TREASURER: a contributing role")
    joined_on: date


class MemberLeftGroup(_PersonExchangeEvent):
    event_type: ClassVar[str] = "jp.komagane.exchange.member-left-group.v1"
    raised_sensitivity: ClassVar[RaisedSensitivity | None] = SUPPORT_S2
    group_id: str
    left_on: date


class VolunteerShiftCompleted(_PersonExchangeEvent):
    event_type: ClassVar[str] = "jp.komagane.exchange.volunteer-shift-completed.v1"
    shift_id: str
    hub_id: str | None = None
    activity_id: str | None = None
    worked_on: date
    hours: float


EXCHANGE_EVENTS: tuple[type[EventModel], ...] = (
    HubRegistered,
    ActivityPublished,
    SessionScheduled,
    SessionHeld,
    SessionCancelled,
    InternationalExchangeHeld,
    AnonymousHeadcountRecorded,
    GroupRegistered,
    HubVisited,
    SessionReserved,
    ReservationCancelled,
    ParticipantAttended,
    MemberJoinedGroup,
    MemberLeftGroup,
    VolunteerShiftCompleted,
)
