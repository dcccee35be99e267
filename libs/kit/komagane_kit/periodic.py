"""Background jobs that run one database transaction every few seconds (a service's `background`).

A failed round is logged and its work left for the next: the database may be briefly away, and
a job written for this loop leaves nothing half done (its transaction rolls back).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session

from komagane_kit.db import transaction

log = logging.getLogger(__name__)

BackgroundLoop = Callable[[Engine], Coroutine[Any, Any, None]]


def every(seconds: float, job: Callable[[Session], object], *, name: str) -> BackgroundLoop:
    """A loop for `create_service_app(background=...)` running `job` in a transaction every `seconds`."""

    def once(engine: Engine) -> None:
        with transaction(engine) as session:
            job(session)

    async def loop(engine: Engine) -> None:
        while True:
            await asyncio.sleep(seconds)
            try:
                await asyncio.to_thread(once, engine)
            except Exception:
                log.exception("%s failed; retrying in %.0f s", name, seconds)

    loop.__name__ = name
    return loop
