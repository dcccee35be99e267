"""Routers of the health service, one module per resource."""

from fastapi import APIRouter

from komagane_health.api.activity import router as activity
from komagane_health.api.audit import router as audit
from komagane_health.api.measurements import router as measurements
from komagane_health.api.points import router as points
from komagane_health.api.programs import router as programs
from komagane_health.api.station import router as station

ROUTERS: list[APIRouter] = [station, activity, measurements, programs, points, audit]
