"""Events of the housing service. See DESIGN §3 for the names and §4 for sensitivity."""

from __future__ import annotations

from komagane_contracts.events.base import EventModel

HOUSING_TOPIC = "housing.v1"
HOUSING_SOURCE = "/komagane/housing"

HOUSING_EVENTS: tuple[type[EventModel], ...] = ()
