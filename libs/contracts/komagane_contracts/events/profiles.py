"""Events derived by the profiles processor."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from pydantic import Field

from komagane_contracts.events.base import EventModel
from komagane_contracts.vocabulary import AgeBand, Controller, ResidencyStatus, Sensitivity

PROFILES_TOPIC = "profiles.v1"
PROFILES_SOURCE = "/komagane/profiles"


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


PROFILE_EVENTS: tuple[type[EventModel], ...] = (PersonProfileUpdated,)
