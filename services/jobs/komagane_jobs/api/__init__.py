"""Routers of the jobs service, one module per resource."""

from fastapi import APIRouter

ROUTERS: list[APIRouter] = []
