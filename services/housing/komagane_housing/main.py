"""ASGI entry point: `uvicorn komagane_housing.main:app` or the `komagane-housing` command."""

from __future__ import annotations

from pathlib import Path

import uvicorn
from fastapi import FastAPI

from komagane_contracts.topics import PEOPLE
from komagane_housing.api import ROUTERS
from komagane_housing.held import router as held_router
from komagane_housing.settings import HousingSettings
from komagane_kit.people_replica import replicate_people
from komagane_kit.service import create_service_app

MIGRATIONS = Path(__file__).parent / "migrations"


def build_app(settings: HousingSettings) -> FastAPI:
    return create_service_app(
        settings,
        title="Komagane housing service",
        description="Housing service (住まい): properties, trial stays, migration cases, moves, relocation and workation.",
        routers=[*ROUTERS, held_router],
        migrations=MIGRATIONS,
        subscriptions={PEOPLE.name: replicate_people},
        idempotent_posts=True,
    )


settings = HousingSettings()
app = build_app(settings)


def run() -> None:
    uvicorn.run(app, host=settings.host, port=settings.port, log_config=None, timeout_graceful_shutdown=10)


if __name__ == "__main__":
    run()
