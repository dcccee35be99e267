"""Routers of the housing service, one module per resource."""

from fastapi import APIRouter

ROUTERS: list[APIRouter] = []
