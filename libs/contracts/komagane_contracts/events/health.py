"""Events of the health service (健康づくり). See docs/architecture.md (Events; Consent and sensitivity).

Two topics keep 要配慮個人情報 apart from everything else:

- `health.internal.v1` (S2): raw activity data, measurements and advice sessions. Only the health
  service and the profile processor read it, and the processor may use it only for people with
  both PROFILE and HEALTH consent.
- `health.v1` (S0/S1): derived, coarse signals others may use — enrolment, programme participation,
  points, and the withdrawal of HEALTH consent (so downstream derived data can be erased). Never a
  raw measurement, never a step count.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import ClassVar

from pydantic import Field

from komagane_contracts.events.base import EventModel
from komagane_contracts.vocabulary import Controller, Sensitivity

HEALTH_TOPIC = "health.v1"
HEALTH_SOURCE = "/komagane/health"

# S2 (要配慮個人情報) events stay on this health-internal topic; only derived, coarse signals go
# to HEALTH_TOPIC. Consumers of the internal topic: the health service and the profile processor.
HEALTH_INTERNAL_TOPIC = "health.internal.v1"


class HealthProgramKind(StrEnum):
    WELLNESS_CLASS = "WELLNESS_CLASS"  # classes at the Wellness hub
    FOOD_HEALTH_STAY = "FOOD_HEALTH_STAY"  # the food-and-health town-stay programme
    WALKING_CLUB = "WALKING_CLUB"
    OTHER = "OTHER"


class MeasurementKind(StrEnum):
    WEIGHT = "WEIGHT"
    BLOOD_PRESSURE = "BLOOD_PRESSURE"
    BODY_COMPOSITION = "BODY_COMPOSITION"


class PointReason(StrEnum):
    PROGRAM_COMPLETION = "PROGRAM_COMPLETION"
    ACTIVITY_GOAL = "ACTIVITY_GOAL"


class _HealthEvent(EventModel):
    """Derived, coarse signals on health.v1 (S1 unless a subclass says otherwise)."""

    sensitivity: ClassVar[Sensitivity] = Sensitivity.S1
    controller: ClassVar[Controller] = Controller.CITY
    topic: ClassVar[str] = HEALTH_TOPIC
    source: ClassVar[str] = HEALTH_SOURCE


class _HealthInternalEvent(EventModel):
    """要配慮個人情報 on health.internal.v1: never copied to any other topic."""

    sensitivity: ClassVar[Sensitivity] = Sensitivity.S2
    controller: ClassVar[Controller] = Controller.CITY
    topic: ClassVar[str] = HEALTH_INTERNAL_TOPIC
    source: ClassVar[str] = HEALTH_SOURCE


# -- health.v1 ------------------------------------------------------------------------------
class HealthStationGroupRegistered(_HealthEvent):
    """The city registered a こまがね健康ステーション group (five or more people) — they are enrolled."""

    event_type: ClassVar[str] = "jp.komagane.health.health-station-group-registered.v1"
    group_id: str
    area: str = Field(description="Daily-life area (日常生活圏域)")
    person_ids: list[str] = Field(description="The founding members, each now enrolled in the health station")
    registered_on: date

    def subject(self) -> str | None:
        return self.group_id


class HealthStationEnrolled(_HealthEvent):
    event_type: ClassVar[str] = "jp.komagane.health.health-station-enrolled.v1"
    person_id: str
    group_id: str
    enrolled_on: date


class HealthProgramPublished(_HealthEvent):
    """A programme is offered: not about a person (S0), keyed by programme."""

    sensitivity: ClassVar[Sensitivity] = Sensitivity.S0
    event_type: ClassVar[str] = "jp.komagane.health.health-program-published.v1"
    program_id: str
    kind: HealthProgramKind
    hub_id: str | None = Field(default=None, description="The exchange hub where it takes place, if any")
    starts_on: date
    ends_on: date
    completion_points: int

    def subject(self) -> str | None:
        return self.program_id


class HealthProgramEnrolled(_HealthEvent):
    event_type: ClassVar[str] = "jp.komagane.health.health-program-enrolled.v1"
    person_id: str
    program_id: str
    kind: HealthProgramKind
    enrolled_on: date


class HealthProgramCompleted(_HealthEvent):
    """Completion, with the points it earned (one event per command: the award is part of it)."""

    event_type: ClassVar[str] = "jp.komagane.health.health-program-completed.v1"
    person_id: str
    program_id: str
    kind: HealthProgramKind
    completed_on: date
    points_awarded: int


class HealthPointsAwarded(_HealthEvent):
    """Points for an activity goal reached on a day; says only that the goal was met, not the steps."""

    event_type: ClassVar[str] = "jp.komagane.health.health-points-awarded.v1"
    person_id: str
    points: int
    reason: PointReason
    awarded_for: date = Field(description="The day the goal was reached (or the completion date)")


class HealthDataConsentWithdrawn(_HealthEvent):
    """HEALTH consent ended: intake stopped; erase anything derived from this person's health data."""

    event_type: ClassVar[str] = "jp.komagane.health.health-data-consent-withdrawn.v1"
    person_id: str
    withdrawn_at: datetime


# -- health.internal.v1 (S2) ------------------------------------------------------------------
class DailyActivitySummarized(_HealthInternalEvent):
    """A person-day from an activity meter, new or replaced (re-sending the same day replaces it)."""

    event_type: ClassVar[str] = "jp.komagane.health.daily-activity-summarized.v1"
    person_id: str
    day: date
    steps: int
    brisk_walk_minutes: int
    replaced: bool = Field(description="True when this replaces an earlier summary of the same day")


class MeasurementRecorded(_HealthInternalEvent):
    event_type: ClassVar[str] = "jp.komagane.health.measurement-recorded.v1"
    person_id: str
    measurement_id: str
    kind: MeasurementKind
    measured_at: datetime
    weight_kg: float | None = None
    systolic_mmhg: int | None = None
    diastolic_mmhg: int | None = None
    pulse_bpm: int | None = None
    body_fat_percent: float | None = None
    muscle_mass_kg: float | None = None


class AdviceSessionHeld(_HealthInternalEvent):
    """A physiotherapist's advice session for a group; the advice itself stays in the service."""

    event_type: ClassVar[str] = "jp.komagane.health.advice-session-held.v1"
    advice_session_id: str
    group_id: str
    held_on: date
    attendee_ids: list[str]

    def subject(self) -> str | None:
        return self.group_id


HEALTH_EVENTS: tuple[type[EventModel], ...] = (
    HealthStationGroupRegistered,
    HealthStationEnrolled,
    HealthProgramPublished,
    HealthProgramEnrolled,
    HealthProgramCompleted,
    HealthPointsAwarded,
    HealthDataConsentWithdrawn,
)
HEALTH_INTERNAL_EVENTS: tuple[type[EventModel], ...] = (DailyActivitySummarized, MeasurementRecorded, AdviceSessionHeld)
