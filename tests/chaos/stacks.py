"""The chaos modules' own platforms: one way to start one, and to leave nothing behind."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bench.e2e import start_stack
from komagane_devstack.stack import Stack

# Relays retry fast: a fault's recovery is measured, not the back-off.
CHAOS_ENV = {"OUTBOX_POLL_SECONDS": "0.5", "OUTBOX_BACKOFF_MAX_SECONDS": "1", "LOG_LEVEL": "INFO"}


@contextmanager
def chaos_platform(prefix: str, database: str, **options: Any) -> Iterator[Stack]:
    """A supervised platform of the module's own. Not under pytest's tmp dir: PostgreSQL runs as
    its own user, which cannot enter that."""
    root = Path(tempfile.mkdtemp(prefix=prefix))
    saved = dict(os.environ)
    stack = start_stack(root, database, extra_env=CHAOS_ENV, **options)
    try:
        yield stack
    finally:
        stack.stop()
        os.environ.clear()
        os.environ.update(saved)  # start_stack logs this process in as the broker's admin
        shutil.rmtree(root, ignore_errors=True)
