"""Care staff's follow-ups of lapse alerts (docs/architecture.md, Care follow-ups).

The people service owns the command (`POST /v1/people/{id}/follow-ups`): notes are free text that
may name family, neighbours or a hospital, and names and contacts live only there. The event
carries the outcome code and when, never the note, on a topic of its own that only the people
service writes and only the profiles processor reads (S3: never a partner feed, never a
pillar service's replica).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import ClassVar

from pydantic import Field

from komagane_contracts.events.base import EventModel
from komagane_contracts.vocabulary import Controller, Sensitivity

CARE_TOPIC = "people.care.v1"
CARE_SOURCE = "/komagane/people"


class FollowUpOutcome(StrEnum):
    CALLED = "CALLED"
    VISITED = "VISITED"
    REACHED_THROUGH_GROUP_MEMBER = "REACHED_THROUGH_GROUP_MEMBER"
    DECLINED = "DECLINED"
    MOVED_AWAY = "MOVED_AWAY"
    OTHER = "OTHER"


# Outcomes after which nothing more is to be done about this lapse: the alert closes. Calling,
# visiting or reaching the person through a group member keeps it open until they take part
# again (the alert is about belonging, not about having been contacted).
CLOSING_OUTCOMES = frozenset({FollowUpOutcome.DECLINED, FollowUpOutcome.MOVED_AWAY})


class LapseFollowedUp(EventModel):
    """Care staff followed up a person's lapse alert (S3: care staff and the profiles processor only).

    The outcome code only: the note stays in the people service.
    """

    event_type: ClassVar[str] = "jp.komagane.people.lapse-followed-up.v1"
    sensitivity: ClassVar[Sensitivity] = Sensitivity.S3
    controller: ClassVar[Controller] = Controller.CITY
    topic: ClassVar[str] = CARE_TOPIC
    source: ClassVar[str] = CARE_SOURCE

    person_id: str = Field(description="Internal person id (UUID); the Kafka key")
    follow_up_id: str
    outcome: FollowUpOutcome = Field(
        description="CALLED, VISITED, REACHED_THROUGH_GROUP_MEMBER, DECLINED, MOVED_AWAY or OTHER; DECLINED and MOVED_AWAY close the alert"
    )
    followed_up_at: datetime = Field(description="When the follow-up took place (the city KPIs count those within 14 days of the lapse)")


CARE_EVENTS: tuple[type[EventModel], ...] = (LapseFollowedUp,)
__all__ = ["CARE_EVENTS", "CARE_TOPIC", "CLOSING_OUTCOMES", "FollowUpOutcome", "LapseFollowedUp"]
