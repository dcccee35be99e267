"""The platform's published contract: event models, the CloudEvents envelope and the topic registry.

Partners may install this package on its own; it depends on pydantic only.
"""

from komagane_contracts.envelope import CloudEvent, InvalidEvent
from komagane_contracts.events.base import EventModel
from komagane_contracts.registry import event_class, event_types
from komagane_contracts.topics import TOPICS, TopicSpec, dlq_name
from komagane_contracts.vocabulary import Controller, Sensitivity

__all__ = [
    "TOPICS",
    "CloudEvent",
    "Controller",
    "EventModel",
    "InvalidEvent",
    "Sensitivity",
    "TopicSpec",
    "dlq_name",
    "event_class",
    "event_types",
]
