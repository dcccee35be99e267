"""Base class of every event body.

Each concrete event declares its CloudEvents type, sensitivity class, controller and topic as
class variables, so producers, consumers, topic creation and schema generation read one source.
An event type that some of its events raise above that class (welfare work, support-specific
activities: docs/architecture.md, Consent and sensitivity) declares it too, with the condition
(`raised_sensitivity`): the envelope refuses any other level, and the published contract lists
exactly what the class declares.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict

from komagane_contracts.vocabulary import Controller, Sensitivity


@dataclass(frozen=True)
class RaisedSensitivity:
    """A higher class some events of a type are published at, and when.

    `applies` decides it from the body where the body tells (e.g. a welfare arrangement); without
    it the producer decides from what it knows beyond the body (e.g. the activity is support-specific).
    """

    level: Sensitivity
    when: str
    applies: Callable[[Any], bool] | None = None


class EventModel(BaseModel):
    # Unknown fields are ignored so that additive evolution never breaks an older consumer.
    model_config = ConfigDict(extra="ignore", frozen=True)

    event_type: ClassVar[str]
    sensitivity: ClassVar[Sensitivity]
    controller: ClassVar[Controller]
    topic: ClassVar[str]
    source: ClassVar[str]
    raised_sensitivity: ClassVar[RaisedSensitivity | None] = None

    def subject(self) -> str | None:
        """The person (or other entity) the event is about; used as CloudEvents subject and Kafka key."""
        return getattr(self, "person_id", None)

    @classmethod
    def sensitivities(cls) -> tuple[Sensitivity, ...]:
        """Every class an event of this type may be published at (the contract's `ce_sensitivity`)."""
        raised = cls.raised_sensitivity
        return (cls.sensitivity,) if raised is None else (cls.sensitivity, raised.level)

    def published_sensitivity(self, requested: Sensitivity | None = None) -> Sensitivity:
        """The class to publish this event at: what its body requires, or what the producer asks
        for where the type lets the producer decide; ValueError for anything the contract does not allow."""
        raised = self.raised_sensitivity
        required = raised.level if raised is not None and raised.applies is not None and raised.applies(self) else self.sensitivity
        if requested is None or requested == required:
            return required
        if raised is None or raised.applies is not None or requested not in self.sensitivities():
            allowed = raised.when if raised is not None else f"{self.sensitivity.value} only"
            raise ValueError(f"this {self.event_type} cannot be published as {requested.value} (its contract: {allowed})")
        return requested
