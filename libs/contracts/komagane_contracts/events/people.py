"""Events of the people service. Names and contacts never appear here: they stay in that service."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar, Literal

from pydantic import Field

from komagane_contracts.events.base import EventModel
from komagane_contracts.vocabulary import AgeBand, Controller, ResidencyStatus, Sensitivity

PEOPLE_TOPIC = "people.v1"
PEOPLE_SOURCE = "/komagane/people"

Purpose = str  # validated by komagane_contracts.vocabulary.is_valid_purpose at the API edge
# The fields of a person's record a correction can change (PATCH /v1/people/{id}).
PersonField = Literal["display_name", "contact", "residency_status", "preferred_language", "lives_alone"]
UpdateCause = Literal["CORRECTION", "MOVED_IN"]


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


class PersonUpdated(_PeopleEvent):
    """A correction of the person's record (訂正). Carries the current value of every field other
    services may know, so a replica applies it whatever it missed before; a change of name or
    contact is named in `changed` but its value never leaves the people service."""

    event_type: ClassVar[str] = "jp.komagane.people.person-updated.v1"

    residency_status: ResidencyStatus
    preferred_language: str = Field(description="BCP 47 language tag")
    lives_alone: bool
    changed: list[PersonField] = Field(min_length=1, description="The fields this correction changed (names only, never values of name or contact)")
    cause: UpdateCause = Field(description="CORRECTION: the person or staff corrected the record; MOVED_IN: a move into the town made a visitor a resident")
    updated_at: datetime


class PersonErased(_PeopleEvent):
    """The person asked to be erased (APPI 利用停止・消去): every consumer forgets them, and a
    replay of the history must not bring them back (docs/erasure.md)."""

    event_type: ClassVar[str] = "jp.komagane.people.person-erased.v1"

    erased_at: datetime


PEOPLE_EVENTS: tuple[type[EventModel], ...] = (PersonRegistered, ConsentGranted, ConsentWithdrawn, PersonUpdated, PersonErased)
__all__ = ["PEOPLE_EVENTS", "ConsentGranted", "ConsentWithdrawn", "PersonErased", "PersonField", "PersonRegistered", "PersonUpdated", "UpdateCause"]
