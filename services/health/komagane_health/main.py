"""ASGI entry point: `uvicorn komagane_health.main:app` or the `komagane-health` command."""

from __future__ import annotations

from pathlib import Path

import uvicorn
from fastapi import FastAPI

from komagane_contracts.topics import PEOPLE
from komagane_health.api import ROUTERS
from komagane_health.consent import replicate_people_and_consent
from komagane_health.held import router as held_router
from komagane_health.settings import HealthSettings
from komagane_kit.service import create_service_app

MIGRATIONS = Path(__file__).parent / "migrations"


def build_app(settings: HealthSettings) -> FastAPI:
    return create_service_app(
        settings,
        title="Komagane health service",
        description="Health service (健康づくり): health station, activity data, programmes and points — with consent and audit.",
        routers=[*ROUTERS, held_router],
        migrations=MIGRATIONS,
        # Registrations for the kit's replica, and HEALTH consent for this service's own.
        subscriptions={PEOPLE.name: replicate_people_and_consent},
        idempotent_posts=True,
    )


settings = HealthSettings()
app = build_app(settings)


def run() -> None:
    uvicorn.run(app, host=settings.host, port=settings.port, log_config=None, timeout_graceful_shutdown=10)


if __name__ == "__main__":
    run()
