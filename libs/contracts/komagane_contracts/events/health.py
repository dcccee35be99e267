"""Events of the health service. See DESIGN §3 for the names and §4 for sensitivity."""

from __future__ import annotations

from komagane_contracts.events.base import EventModel

HEALTH_TOPIC = "health.v1"
HEALTH_SOURCE = "/komagane/health"

HEALTH_EVENTS: tuple[type[EventModel], ...] = ()

# S2 (要配慮個人情報) events stay on this health-internal topic; only derived, coarse signals go
# to HEALTH_TOPIC. Consumers of the internal topic: the health service and the profile processor.
HEALTH_INTERNAL_TOPIC = "health.internal.v1"
HEALTH_INTERNAL_EVENTS: tuple[type[EventModel], ...] = ()
