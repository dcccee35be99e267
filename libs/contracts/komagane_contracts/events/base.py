"""Base class of every event body.

Each concrete event declares its CloudEvents type, sensitivity class, controller and topic as
class variables, so producers, consumers, topic creation and schema generation read one source.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import BaseModel, ConfigDict

from komagane_contracts.vocabulary import Controller, Sensitivity


class EventModel(BaseModel):
    # Unknown fields are ignored so that additive evolution never breaks an older consumer.
    model_config = ConfigDict(extra="ignore", frozen=True)

    event_type: ClassVar[str]
    sensitivity: ClassVar[Sensitivity]
    controller: ClassVar[Controller]
    topic: ClassVar[str]
    source: ClassVar[str]

    def subject(self) -> str | None:
        """The person (or other entity) the event is about; used as CloudEvents subject and Kafka key."""
        return getattr(self, "person_id", None)
