"""Events of the jobs service (活躍・しごと). See docs/architecture.md (Events; Consent and sensitivity).

Person-centred events are keyed by person id; opportunity and seminar events (no person) by
their own id. Any person-level event about a WELFARE_A, WELFARE_B or TRAINING arrangement
implies a disability (要配慮個人情報): those event types declare it (`WELFARE_S2`), so such an
event is published as S2 from its body alone and never leaves the jobs/profiles boundary at
person level.
A person's accessibility needs are not published at all: matching uses them inside the service.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Any, ClassVar

from pydantic import Field

from komagane_contracts.events.base import EventModel, RaisedSensitivity
from komagane_contracts.vocabulary import Controller, Sensitivity

JOBS_TOPIC = "jobs.v1"
JOBS_SOURCE = "/komagane/jobs"


class Arrangement(StrEnum):
    """How a person works: general employment down to 就労継続支援 A型/B型, volunteering, 協力隊."""

    GENERAL = "GENERAL"
    PART_TIME = "PART_TIME"
    SHORT_TIME = "SHORT_TIME"
    WELFARE_A = "WELFARE_A"
    WELFARE_B = "WELFARE_B"
    TRAINING = "TRAINING"
    VOLUNTEER = "VOLUNTEER"
    COOPERATOR = "COOPERATOR"

    @property
    def sensitive(self) -> bool:
        """Welfare employment and training referrals imply a disability (S2 at person level)."""
        return self in (Arrangement.WELFARE_A, Arrangement.WELFARE_B, Arrangement.TRAINING)


def _welfare(body: Any) -> bool:
    values = (getattr(body, name, None) for name in ("arrangement", "from_arrangement", "to_arrangement"))
    return any(isinstance(value, Arrangement) and value.sensitive for value in values)


WELFARE_S2 = RaisedSensitivity(
    Sensitivity.S2,
    "S2 when the arrangement (for arrangement-stepped: either arrangement) is "
    + ", ".join(a.value for a in Arrangement if a.sensitive)
    + ": welfare employment and training referrals imply a disability (要配慮個人情報); S1 otherwise",
    applies=_welfare,
)


class Accommodation(StrEnum):
    """Accommodations an opportunity offers; a person's accessibility needs use the same words."""

    WHEELCHAIR_ACCESS = "WHEELCHAIR_ACCESS"
    QUIET_ROOM = "QUIET_ROOM"
    FLEXIBLE_START = "FLEXIBLE_START"
    INTERPRETER = "INTERPRETER"
    SIGN_LANGUAGE = "SIGN_LANGUAGE"
    EASY_JAPANESE = "EASY_JAPANESE"
    SEATED_WORK = "SEATED_WORK"
    SHORT_SHIFTS = "SHORT_SHIFTS"
    JOB_COACH = "JOB_COACH"
    TRANSPORT = "TRANSPORT"


class ApplicationDecision(StrEnum):
    ACCEPTED = "ACCEPTED"
    DECLINED = "DECLINED"


class EngagementEndReason(StrEnum):
    COMPLETED = "COMPLETED"
    RESIGNED = "RESIGNED"
    CONTRACT_ENDED = "CONTRACT_ENDED"
    MOVED_ON = "MOVED_ON"
    HEALTH = "HEALTH"
    RELOCATED = "RELOCATED"
    DISMISSED = "DISMISSED"
    OTHER = "OTHER"


class EnrollmentStatus(StrEnum):
    ENROLLED = "ENROLLED"
    WAITLISTED = "WAITLISTED"


class _JobsEvent(EventModel):
    sensitivity: ClassVar[Sensitivity] = Sensitivity.S1
    controller: ClassVar[Controller] = Controller.JOCA
    topic: ClassVar[str] = JOBS_TOPIC
    source: ClassVar[str] = JOBS_SOURCE


class _OpportunityEvent(_JobsEvent):
    """About an opportunity, not a person: non-personal (S0), keyed by opportunity."""

    sensitivity: ClassVar[Sensitivity] = Sensitivity.S0
    opportunity_id: str

    def subject(self) -> str | None:
        return self.opportunity_id


class OpportunityPosted(_OpportunityEvent):
    event_type: ClassVar[str] = "jp.komagane.jobs.opportunity-posted.v1"
    organisation: str = Field(description="The employer, hub operator or group offering it")
    hub_id: str | None = None
    area: str | None = Field(default=None, description="Daily-life area (日常生活圏域)")
    arrangement: Arrangement
    paid: bool
    min_weekly_hours: float
    skills_wanted: list[str] = Field(description="Normalised skill tags")
    accommodations: list[Accommodation]
    languages: list[str]


class OpportunityClosed(_OpportunityEvent):
    event_type: ClassVar[str] = "jp.komagane.jobs.opportunity-closed.v1"
    closed_on: date


class _SeminarEvent(_JobsEvent):
    """About a まちゼミ course, not a person (S0), keyed by seminar."""

    sensitivity: ClassVar[Sensitivity] = Sensitivity.S0
    seminar_id: str

    def subject(self) -> str | None:
        return self.seminar_id


class SeminarCourseRegistered(_SeminarEvent):
    event_type: ClassVar[str] = "jp.komagane.jobs.seminar-course-registered.v1"
    organisation: str = Field(description="The shop offering the course (the instructor's identity stays in the service)")
    hub_id: str | None = None
    area: str | None = None
    capacity: int
    languages: list[str]


class SeminarHeld(_SeminarEvent):
    event_type: ClassVar[str] = "jp.komagane.jobs.seminar-held.v1"
    seminar_session_id: str
    held_on: date
    hours: float
    attendees: int


class _PersonJobsEvent(_JobsEvent):
    person_id: str


class ApplicationSubmitted(_PersonJobsEvent):
    event_type: ClassVar[str] = "jp.komagane.jobs.application-submitted.v1"
    raised_sensitivity: ClassVar[RaisedSensitivity | None] = WELFARE_S2
    application_id: str
    opportunity_id: str
    arrangement: Arrangement


class ApplicationDecided(_PersonJobsEvent):
    event_type: ClassVar[str] = "jp.komagane.jobs.application-decided.v1"
    raised_sensitivity: ClassVar[RaisedSensitivity | None] = WELFARE_S2
    application_id: str
    opportunity_id: str
    arrangement: Arrangement
    decision: ApplicationDecision


class MatchProposed(_PersonJobsEvent):
    """Staff suggested an opportunity to a person, with the matching score they saw."""

    event_type: ClassVar[str] = "jp.komagane.jobs.match-proposed.v1"
    raised_sensitivity: ClassVar[RaisedSensitivity | None] = WELFARE_S2
    proposal_id: str
    opportunity_id: str
    arrangement: Arrangement
    score: float = Field(description="0–100, from the service's matching (参加支援)")


class EngagementStarted(_PersonJobsEvent):
    event_type: ClassVar[str] = "jp.komagane.jobs.engagement-started.v1"
    raised_sensitivity: ClassVar[RaisedSensitivity | None] = WELFARE_S2
    engagement_id: str
    opportunity_id: str
    arrangement: Arrangement
    paid: bool
    hub_id: str | None = None
    starts_on: date
    ends_on: date | None = Field(default=None, description="Planned end, if the engagement is for a fixed period")


class ShiftWorked(_PersonJobsEvent):
    event_type: ClassVar[str] = "jp.komagane.jobs.shift-worked.v1"
    raised_sensitivity: ClassVar[RaisedSensitivity | None] = WELFARE_S2
    shift_id: str
    engagement_id: str
    arrangement: Arrangement
    hub_id: str | None = None
    worked_on: date
    hours: float


class ArrangementStepped(_PersonJobsEvent):
    event_type: ClassVar[str] = "jp.komagane.jobs.arrangement-stepped.v1"
    raised_sensitivity: ClassVar[RaisedSensitivity | None] = WELFARE_S2
    engagement_id: str
    from_arrangement: Arrangement
    to_arrangement: Arrangement
    stepped_on: date
    backwards: bool = Field(description="A step down the ladder (always with a reason in the service)")


class EngagementEnded(_PersonJobsEvent):
    event_type: ClassVar[str] = "jp.komagane.jobs.engagement-ended.v1"
    raised_sensitivity: ClassVar[RaisedSensitivity | None] = WELFARE_S2
    engagement_id: str
    arrangement: Arrangement
    ended_on: date
    reason: EngagementEndReason


class SkillDeclared(_PersonJobsEvent):
    event_type: ClassVar[str] = "jp.komagane.jobs.skill-declared.v1"
    skills: list[str] = Field(description="Normalised skill tags")
    languages: list[str]
    weekly_available_hours: float


class SeminarEnrolled(_PersonJobsEvent):
    event_type: ClassVar[str] = "jp.komagane.jobs.seminar-enrolled.v1"
    seminar_id: str
    status: EnrollmentStatus
    waitlist_position: int | None = None


class SeminarTaught(_PersonJobsEvent):
    """The instructor's contributing role (TEACH)."""

    event_type: ClassVar[str] = "jp.komagane.jobs.seminar-taught.v1"
    seminar_id: str
    seminar_session_id: str
    held_on: date
    hours: float
    attendees: int


class SeminarAttended(_PersonJobsEvent):
    """An attendee learning (LEARN): belonging."""

    event_type: ClassVar[str] = "jp.komagane.jobs.seminar-attended.v1"
    seminar_id: str
    seminar_session_id: str
    held_on: date
    hours: float


class _CooperatorEvent(_PersonJobsEvent):
    # 地域おこし協力隊 is commissioned by the city.
    controller: ClassVar[Controller] = Controller.CITY
    cooperator_id: str


class CooperatorCommissioned(_CooperatorEvent):
    event_type: ClassVar[str] = "jp.komagane.jobs.cooperator-commissioned.v1"
    mission: str
    area: str | None = None
    term_starts_on: date
    term_ends_on: date


class CooperatorTermCompleted(_CooperatorEvent):
    event_type: ClassVar[str] = "jp.komagane.jobs.cooperator-term-completed.v1"
    completed_on: date
    settled: bool = Field(description="Stayed living in the area after the term")
    started_business: bool


JOBS_EVENTS: tuple[type[EventModel], ...] = (
    OpportunityPosted,
    OpportunityClosed,
    SeminarCourseRegistered,
    SeminarHeld,
    ApplicationSubmitted,
    ApplicationDecided,
    MatchProposed,
    EngagementStarted,
    ShiftWorked,
    ArrangementStepped,
    EngagementEnded,
    SkillDeclared,
    SeminarEnrolled,
    SeminarTaught,
    SeminarAttended,
    CooperatorCommissioned,
    CooperatorTermCompleted,
)
