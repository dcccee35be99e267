"""ASGI entry point: `uvicorn komagane_partners.main:app` or the `komagane-partners` command."""

from __future__ import annotations

from pathlib import Path

import uvicorn
from fastapi import FastAPI

from komagane_contracts.kafka_access import PARTNER_FEED_INPUTS
from komagane_kit.periodic import every
from komagane_kit.service import create_service_app
from komagane_partners.api import ROUTERS
from komagane_partners.consent_waits import purge_older_than
from komagane_partners.feeds import FeedProjector
from komagane_partners.held import router as held_router
from komagane_partners.provision import record_deliveries
from komagane_partners.pseudonyms import Pseudonymiser
from komagane_partners.settings import PartnersSettings

MIGRATIONS = Path(__file__).parent / "migrations"


def build_app(settings: PartnersSettings) -> FastAPI:
    project = FeedProjector(lambda: Pseudonymiser(settings.partner_pseudonym_secret.get_secret_value()))
    return create_service_app(
        settings,
        title="Komagane partners service",
        description="Data-sharing agreements, consented pseudonymised partner feeds (partner.<partner_id>.<feed>.v1) and provision records (APPI art. 29).",
        routers=[*ROUTERS, held_router],
        migrations=MIGRATIONS,
        subscriptions={topic.name: project for topic in PARTNER_FEED_INPUTS},
        idempotent_posts=True,
        background=[
            every(settings.provision_record_seconds, record_deliveries, name="record-provisions"),
            every(settings.consent_grace_seconds / 10, purge_older_than(settings.consent_grace_seconds), name="purge-consent-waits"),
        ],
    )


settings = PartnersSettings()
app = build_app(settings)


def run() -> None:
    Pseudonymiser(settings.partner_pseudonym_secret.get_secret_value())  # refuse to start without a proper secret
    uvicorn.run(app, host=settings.host, port=settings.port, log_config=None, timeout_graceful_shutdown=10)


if __name__ == "__main__":
    run()
