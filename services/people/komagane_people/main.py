"""ASGI entry point: `uvicorn komagane_people.main:app` or the `komagane-people` command."""

from __future__ import annotations

from pathlib import Path

import uvicorn
from fastapi import FastAPI

from komagane_contracts.topics import EXCHANGE, HOUSING, PEOPLE
from komagane_kit.erasure import forget_erased
from komagane_kit.service import create_service_app
from komagane_people.api import router
from komagane_people.care import router as care_router
from komagane_people.corrections import residency_from_moves
from komagane_people.held import router as held_router
from komagane_people.hub_ties import ties_from_exchange
from komagane_people.search import router as search_router
from komagane_people.settings import PeopleSettings

MIGRATIONS = Path(__file__).parent / "migrations"


def build_app(settings: PeopleSettings) -> FastAPI:
    return create_service_app(
        settings,
        title="Komagane people service",
        description="Persons, proxies and consent per purpose. Names and contacts never leave this service.",
        routers=[search_router, router, care_router, held_router],  # the search first: `/search` is no person id
        migrations=MIGRATIONS,
        # A move into the town makes a visitor a resident (corrections.py says why an event); its
        # own topic: once an erasure is published, the outbox rows that carried the person's events
        # (the erasure's own included) are pseudonymised like everywhere else.
        # The exchange topic tells which hubs know a person (hub_ties.py: the staff search's rule).
        subscriptions={HOUSING.name: residency_from_moves, PEOPLE.name: forget_erased, EXCHANGE.name: ties_from_exchange},
        idempotent_posts=True,  # a follow-up recorded twice would be two follow-ups
    )


settings = PeopleSettings()
app = build_app(settings)


def run() -> None:
    uvicorn.run(app, host=settings.host, port=settings.port, log_config=None, timeout_graceful_shutdown=10)


if __name__ == "__main__":
    run()
