"""ASGI entry point: `uvicorn komagane_exchange.main:app` or the `komagane-exchange` command."""

from __future__ import annotations

from pathlib import Path

import uvicorn
from fastapi import FastAPI

from komagane_contracts.topics import PEOPLE
from komagane_exchange.api import ROUTERS
from komagane_exchange.held import router as held_router
from komagane_exchange.settings import ExchangeSettings
from komagane_kit.people_replica import replicate_people
from komagane_kit.service import create_service_app

MIGRATIONS = Path(__file__).parent / "migrations"


def build_app(settings: ExchangeSettings) -> FastAPI:
    return create_service_app(
        settings,
        title="Komagane exchange service (交流・居場所)",
        description="Hubs, activities, sessions, attendance, groups and volunteering.",
        routers=[*ROUTERS, held_router],
        migrations=MIGRATIONS,
        subscriptions={PEOPLE.name: replicate_people},
        idempotent_posts=True,
    )


settings = ExchangeSettings()
app = build_app(settings)


def run() -> None:
    uvicorn.run(app, host=settings.host, port=settings.port, log_config=None, timeout_graceful_shutdown=10)


if __name__ == "__main__":
    run()
