"""Routers of the jobs service, one module per resource."""

from fastapi import APIRouter

from komagane_jobs.api.applications import router as applications
from komagane_jobs.api.cooperators import router as cooperators
from komagane_jobs.api.engagements import router as engagements
from komagane_jobs.api.opportunities import router as opportunities
from komagane_jobs.api.people import router as people
from komagane_jobs.api.seminars import router as seminars

ROUTERS: list[APIRouter] = [opportunities, applications, engagements, people, seminars, cooperators]
