"""Events of the jobs service. See DESIGN §3 for the names and §4 for sensitivity."""

from __future__ import annotations

from komagane_contracts.events.base import EventModel

JOBS_TOPIC = "jobs.v1"
JOBS_SOURCE = "/komagane/jobs"

JOBS_EVENTS: tuple[type[EventModel], ...] = ()
