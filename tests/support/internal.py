"""Calling a service in-process as the gateway would: with a valid internal token.

settings = PeopleSettings(database_url=..., internal_token_secret=INTERNAL_SECRET)
with TestClient(build_app(settings), headers=as_gateway()) as client: ...
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable

from komagane_kit.internal_auth import internal_headers

# One per test run, never written anywhere.
INTERNAL_SECRET = secrets.token_urlsafe(48)


def as_gateway(*, subject: str = "test-staff", roles: Iterable[str] = ("admin",), hub_id: str | None = None) -> dict[str, str]:
    """The X-Internal-Token header the gateway would add for this caller (valid for ten minutes)."""
    return internal_headers(INTERNAL_SECRET, subject=subject, roles=roles, hub_id=hub_id, ttl_seconds=600)
