"""Events of the people service. Names and contacts never appear here: they stay in that service."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from pydantic import Field

from komagane_contracts.events.base import EventModel
from komagane_contracts.vocabulary import AgeBand, Controller, ResidencyStatus, Sensitivity

PEOPLE_TOPIC = "people.v1"
PEOPLE_SOURCE = "/komagane/people"

Purpose = str  # validated by komagane_contracts.vocabulary.is_valid_purpose at the API edge


class _PeopleEvent(EventModel):
    sensitivity: ClassVar[Sensitivity] = Sensitivity.S1
    controller: ClassVar[Controller] = Controller.CITY
    topic: ClassVar[str] = PEOPLE_TOPIC
    source: ClassVar[str] = PEOPLE_SOURCE

    person_id: str = Field(description="Internal person id (UUID); the Kafka key")


class PersonRegistered(_PeopleEvent):
    event_type: ClassVar[str] = "jp.komagane.people.person-registered.v1"

    age_band: AgeBand
    residency_status: ResidencyStatus
    preferred_language: str = Field(description="BCP 47 language tag")
    lives_alone: bool
    registered_at: datetime
    age_decade: str | None = Field(default=None, description="Age in 10-year bands at registration (0-9 … 80-89, 90+); what partner feeds may show")


class ConsentGranted(_PeopleEvent):
    event_type: ClassVar[str] = "jp.komagane.people.consent-granted.v1"

    purpose: Purpose = Field(description="PROFILE, HEALTH, OUTREACH or PARTNER:<partner_id>")
    granted_at: datetime


class ConsentWithdrawn(_PeopleEvent):
    event_type: ClassVar[str] = "jp.komagane.people.consent-withdrawn.v1"

    purpose: Purpose = Field(description="PROFILE, HEALTH, OUTREACH or PARTNER:<partner_id>")
    withdrawn_at: datetime


class PersonErased(_PeopleEvent):
    """The person asked to be erased (APPI 利用停止・消去): every consumer forgets them, and a
    replay of the history must not bring them back (docs/erasure.md)."""

    event_type: ClassVar[str] = "jp.komagane.people.person-erased.v1"

    erased_at: datetime


PEOPLE_EVENTS: tuple[type[EventModel], ...] = (PersonRegistered, ConsentGranted, ConsentWithdrawn, PersonErased)
__all__ = ["PEOPLE_EVENTS", "ConsentGranted", "ConsentWithdrawn", "PersonErased", "PersonRegistered"]
