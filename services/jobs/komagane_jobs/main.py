"""ASGI entry point: `uvicorn komagane_jobs.main:app` or the `komagane-jobs` command."""

from __future__ import annotations

from pathlib import Path

import uvicorn
from fastapi import FastAPI

from komagane_contracts.topics import PEOPLE
from komagane_jobs.api import ROUTERS
from komagane_jobs.held import router as held_router
from komagane_jobs.settings import JobsSettings
from komagane_kit.people_replica import replicate_people
from komagane_kit.service import create_service_app

MIGRATIONS = Path(__file__).parent / "migrations"


def build_app(settings: JobsSettings) -> FastAPI:
    return create_service_app(
        settings,
        title="Komagane jobs service (活躍・しごと)",
        description="Jobs service (活躍・しごと): opportunities, matching, engagements, まちゼミ seminars and 地域おこし協力隊.",
        routers=[*ROUTERS, held_router],
        migrations=MIGRATIONS,
        subscriptions={PEOPLE.name: replicate_people},
        idempotent_posts=True,
    )


settings = JobsSettings()
app = build_app(settings)


def run() -> None:
    uvicorn.run(app, host=settings.host, port=settings.port, log_config=None, timeout_graceful_shutdown=10)


if __name__ == "__main__":
    run()
