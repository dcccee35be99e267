"""Routers of the health service, one module per resource."""

from fastapi import APIRouter

ROUTERS: list[APIRouter] = []
