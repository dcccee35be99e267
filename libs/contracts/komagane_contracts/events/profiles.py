"""Events derived by the profiles processor."""

from __future__ import annotations

from datetime import date, datetime
from typing import ClassVar

from pydantic import BaseModel, Field

from komagane_contracts.events.base import EventModel
from komagane_contracts.vocabulary import AgeBand, Controller, ResidencyStatus, Sensitivity

PROFILES_TOPIC = "profiles.v1"
HUB_MIX_TOPIC = "profiles.hub-mix.v1"
ALERTS_TOPIC = "profiles.alerts.v1"
CITY_KPIS_TOPIC = "profiles.city-kpis.v1"
PROFILES_SOURCE = "/komagane/profiles"


class Belonging(BaseModel):
    """Where the person belongs (居場所; docs/architecture.md, How a profile is computed); each indicator lists the events behind it."""

    places: list[str] = Field(description="hub:<id> or group:<id> attended in at least 2 of the last 3 calendar months")
    regularity_12w: float = Field(ge=0, le=1, description="Share of the last 12 weeks with any participation")
    category_bands: dict[str, str] = Field(description="Participation days this month per category, banded like the needs survey")
    groups: list[str] = Field(description="Groups the person is a member of")
    last_participation: date | None = None
    explanations: dict[str, list[str]] = Field(default_factory=dict, description="Event ids behind each place")


class Role(BaseModel):
    """What the person gives (役割; docs/architecture.md, How a profile is computed)."""

    role_types: list[str] = Field(description="Distinct contributing role types in the last 12 months")
    contribution_hours_this_month: float
    contribution_ratio_90d: float | None = Field(description="Contributing ÷ all participation events in 90 days")
    reciprocity_90d: bool = Field(description="Both gave and received within 90 days")
    explanations: list[str] = Field(default_factory=list, description="Event ids of recent contributions")
    work_status: str | None = Field(default=None, description="Arrangement of the current engagement (general or flexible work only)")


class JourneyStep(BaseModel):
    step: str = Field(description="TRIAL_STAY_BOOKED, TRIAL_STAY_COMPLETED, MIGRATION_<STAGE>, MOVED_IN, SETTLED, RELOCATED, WORKATION")
    on: date
    event_id: str


class Living(BaseModel):
    """The person's housing journey (住まい): trial stays, moving in, settling, relocating."""

    journey: list[JourneyStep] = Field(description="Oldest first")


class HealthSignals(BaseModel):
    """Coarse health signals, only with both PROFILE and HEALTH consent; never a measurement or
    a step count, and gone from the profile as soon as HEALTH consent is withdrawn."""

    station_enrolled: bool = Field(description="Enrolled in the こまがね健康ステーション")
    programs_active: list[str] = Field(description="Kinds of health programmes enrolled in and not completed")
    programs_completed_12m: int = Field(ge=0, description="Health programmes completed in the last 12 months")
    steps_band_28d: str | None = Field(
        default=None, description="Median daily steps over the last 28 days, banded: <2000, 2000-4999, 5000-7999, 8000+; None without data"
    )
    explanations: list[str] = Field(default_factory=list, description="Event ids of recent programme and enrolment events")


class PersonProfileUpdated(EventModel):
    """The whole current profile of one person (compacted topic: latest value per person wins).

    Exists only while the person holds PROFILE consent; withdrawal leaves a tombstone instead.
    """

    event_type: ClassVar[str] = "jp.komagane.profiles.person-profile-updated.v1"
    sensitivity: ClassVar[Sensitivity] = Sensitivity.S1
    controller: ClassVar[Controller] = Controller.JOCA
    topic: ClassVar[str] = PROFILES_TOPIC
    source: ClassVar[str] = PROFILES_SOURCE

    person_id: str
    version: int = Field(ge=1, description="Grows by one with every event folded into the profile")
    age_band: AgeBand | None = None
    residency_status: ResidencyStatus | None = None
    preferred_language: str | None = None
    consents: list[str] = Field(default_factory=list, description="Purposes currently consented to")
    updated_at: datetime = Field(description="Event time of the last event folded in")
    as_of: date | None = Field(default=None, description="Asia/Tokyo date the metrics are computed for (from event time)")
    belonging: Belonging | None = None
    role: Role | None = None
    living: Living | None = None
    health: HealthSignals | None = Field(default=None, description="Only with both PROFILE and HEALTH consent")


class MixedSession(BaseModel):
    """One of the month's most mixed sessions (no counts of people: S0)."""

    session_id: str
    bands_present: int = Field(description="How many of the five age bands attended")
    mix_index: float | None = Field(description="The session's own index; None when it had fewer than 10 attendances")


class HubMonthMix(BaseModel):
    sessions: int
    attendances: int | None = Field(description="None when suppressed (fewer than 10 attendances)")
    mix_index: float | None = Field(description="Normalised Shannon entropy over the five age bands, 0–1")
    mixed_session_share: float | None = Field(description="Share of sessions with at least three age bands")
    suppressed: bool
    bands: dict[str, int | None] = Field(
        default_factory=dict,
        description="Attendances per age band (the generations behind the index); a band with 1–9 is None (suppressed); empty when the month is",
    )
    top_sessions: list[MixedSession] = Field(
        default_factory=list, description="The sessions that mixed most (most age bands, then highest index); empty when suppressed"
    )


class HubMixUpdated(EventModel):
    """The ごちゃまぜ index of one hub per month (aggregate only, S0; compacted, keyed by hub)."""

    event_type: ClassVar[str] = "jp.komagane.profiles.hub-mix-updated.v1"
    sensitivity: ClassVar[Sensitivity] = Sensitivity.S0
    controller: ClassVar[Controller] = Controller.JOCA
    topic: ClassVar[str] = HUB_MIX_TOPIC
    source: ClassVar[str] = PROFILES_SOURCE

    hub_id: str
    months: dict[str, HubMonthMix] = Field(description="Keyed by YYYY-MM (Asia/Tokyo)")

    def subject(self) -> str | None:
        return self.hub_id


class LapseFollowUp(BaseModel):
    """A follow-up of the lapse, as the alert shows it: the outcome code, never the note."""

    follow_up_id: str
    outcome: str = Field(description="CALLED, VISITED, REACHED_THROUGH_GROUP_MEMBER, DECLINED, MOVED_AWAY or OTHER")
    followed_up_at: datetime


class BelongingLapsed(EventModel):
    """A person who used to take part has not for longer than usual (S3: care staff only).

    Emitted once per lapse; a new participation clears it, and so does a follow-up whose outcome
    closes it (DECLINED, MOVED_AWAY). The read model's copy shows the follow-ups. Never on any partner topic.
    """

    event_type: ClassVar[str] = "jp.komagane.profiles.belonging-lapsed.v1"
    sensitivity: ClassVar[Sensitivity] = Sensitivity.S3
    controller: ClassVar[Controller] = Controller.JOCA
    topic: ClassVar[str] = ALERTS_TOPIC
    source: ClassVar[str] = PROFILES_SOURCE

    person_id: str
    last_participation: date
    days_since: int
    threshold_days: int = Field(description="max(28, 2 × the person's median gap between participation days)")
    as_of: date = Field(description="The processor's event-time date when the lapse was found")
    usual_places: list[str] = Field(default_factory=list, description="Places (hub:<id>, …) attended in 2 of the 3 months up to the last participation")
    groups: list[str] = Field(default_factory=list, description="Groups the person is a member of")
    follow_ups: list[LapseFollowUp] = Field(default_factory=list, description="Care staff's follow-ups of this lapse, oldest first (outcome codes only)")


class CityKpisUpdated(EventModel):
    """The city's KPIs of one calendar month (Asia/Tokyo, by event time; S0, compacted, keyed by month).

    Aggregates only. Every count of people under 10 is suppressed (None), and so is every figure
    derived from such a cell (an event count made by fewer than 10 people, a rate over it); the
    names of the suppressed figures are listed in `suppressed`. Places and roles are counted only
    for people who opted in to profiling (PROFILE consent) and took part that month.
    """

    event_type: ClassVar[str] = "jp.komagane.profiles.city-kpis-updated.v1"
    sensitivity: ClassVar[Sensitivity] = Sensitivity.S0
    controller: ClassVar[Controller] = Controller.CITY
    topic: ClassVar[str] = CITY_KPIS_TOPIC
    source: ClassVar[str] = PROFILES_SOURCE

    month: str = Field(pattern=r"^\d{4}-(0[1-9]|1[0-2])$", description="YYYY-MM (Asia/Tokyo)")
    hub_visits: int | None = Field(description="Hub visits and session attendances in the month")
    hub_visitors: int | None = Field(description="Distinct people behind hub_visits")
    profiled_participants: int | None = Field(description="People with PROFILE consent who took part in the month")
    people_with_place: int | None = Field(description="Of profiled_participants: with at least one place (居場所) at the month's end")
    people_with_role: int | None = Field(description="Of profiled_participants: with at least one role (役割) in the 12 months to the month's end")
    registered_65_plus: int | None = Field(description="People aged 65+ registered by the month's end")
    kayoinoba_participants_65_plus: int | None = Field(description="People aged 65+ who attended a 通いの場 in the month")
    kayoinoba_rate_65_plus: float | None = Field(description="kayoinoba_participants_65_plus ÷ registered_65_plus")
    social_participants_65_plus: int | None = Field(description="People aged 65+ with any participation in the month")
    social_participation_share_65_plus: float | None = Field(description="social_participants_65_plus ÷ registered_65_plus")
    seminar_attendances: int | None = Field(description="まちゼミ attendances in the month")
    seminar_attendees: int | None = Field(description="Distinct people behind seminar_attendances")
    trial_stays_completed: int | None = Field(description="Trial stays completed in the month")
    trial_stays_moved_within_12m: int | None = Field(description="Of those, stays whose guest moved in within 12 months of completing")
    migration_conversion: float | None = Field(description="trial_stays_moved_within_12m ÷ trial_stays_completed")
    moves: int | None = Field(description="Households moved in during the month")
    relationship_registrations: int | None = Field(description="People first registered as 関係人口 in the month")
    relationship_population: int | None = Field(description="People registered as 関係人口 by the month's end")
    health_station_enrolments: int | None = Field(default=None, description="People who enrolled in the health station this month")
    health_station_enrolled: int | None = Field(default=None, description="People enrolled in the health station by the month's end")
    step_walkers: int | None = Field(default=None, description="People with activity-meter data this month (PROFILE and HEALTH consent)")
    median_daily_steps: int | None = Field(
        default=None, description="Median over step_walkers of each one's median daily steps this month, to the nearest thousand (midpoint)"
    )
    lapses_followed_up_within_14d: int | None = Field(
        default=None, description="Lapses that began in the month (BelongingLapsed) and were first followed up by care staff within 14 days"
    )
    migration_inquiries: int | None = Field(
        default=None, description="Migration cases opened in the month: the funnel's first step (inquiries → trial stays → moves within 12 months)"
    )
    suppressed: list[str] = Field(default_factory=list, description="Figures withheld because fewer than 10 people are behind them")

    def subject(self) -> str | None:
        return self.month


PROFILE_EVENTS: tuple[type[EventModel], ...] = (PersonProfileUpdated,)
ALERT_EVENTS: tuple[type[EventModel], ...] = (BelongingLapsed,)
HUB_MIX_EVENTS: tuple[type[EventModel], ...] = (HubMixUpdated,)
CITY_KPI_EVENTS: tuple[type[EventModel], ...] = (CityKpisUpdated,)
