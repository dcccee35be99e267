"""Lookup of event classes by CloudEvents type."""

from __future__ import annotations

from komagane_contracts.events.base import EventModel
from komagane_contracts.events.care import CARE_EVENTS
from komagane_contracts.events.exchange import EXCHANGE_EVENTS
from komagane_contracts.events.health import HEALTH_EVENTS, HEALTH_INTERNAL_EVENTS
from komagane_contracts.events.housing import HOUSING_EVENTS
from komagane_contracts.events.jobs import JOBS_EVENTS
from komagane_contracts.events.people import PEOPLE_EVENTS
from komagane_contracts.events.profiles import ALERT_EVENTS, CITY_KPI_EVENTS, HUB_MIX_EVENTS, PROFILE_EVENTS

ALL_EVENTS: tuple[type[EventModel], ...] = (
    PEOPLE_EVENTS
    + EXCHANGE_EVENTS
    + JOBS_EVENTS
    + HEALTH_EVENTS
    + HEALTH_INTERNAL_EVENTS
    + HOUSING_EVENTS
    + CARE_EVENTS
    + PROFILE_EVENTS
    + HUB_MIX_EVENTS
    + ALERT_EVENTS
    + CITY_KPI_EVENTS
)
_BY_TYPE: dict[str, type[EventModel]] = {cls.event_type: cls for cls in ALL_EVENTS}


def event_types() -> list[str]:
    return sorted(_BY_TYPE)


def event_class(event_type: str) -> type[EventModel] | None:
    return _BY_TYPE.get(event_type)
