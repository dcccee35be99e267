"""One publishing outbox relay per database, however many replicas of a service run.

Replicas of a service share its database; each runs a relay, and two relays reading the same
unpublished rows would publish each twice and could interleave a key's events. On PostgreSQL the
relay that holds a session advisory lock publishes; the others stand by and try again each poll.
The lock lives on a connection of its own, so it ends with the process (or the connection): a
standby takes over within a poll of the leader's death. SQLite is one process's file: always held.
"""

from __future__ import annotations

import contextlib
import logging
import time

from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError

log = logging.getLogger(__name__)
# Any constant the services agree on: each service has its own database, so one key serves all.
LOCK_KEY = 0x6B6F6D61  # "koma"
CHECK_EVERY_S = 1.0  # how often a held lease's connection is checked to be alive


class RelayLease:
    """`held()` before each batch: True when this process may publish the database's outbox."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._shared = engine.dialect.name != "postgresql"
        self._connection: Connection | None = None
        self._checked_at = 0.0

    def held(self) -> bool:
        if self._shared:
            return True
        if self._connection is not None:
            if time.monotonic() - self._checked_at < CHECK_EVERY_S:
                return True
            try:
                self._connection.execute(text("SELECT 1"))
                self._checked_at = time.monotonic()
                return True
            except DBAPIError:
                log.warning("outbox relay: the connection holding the publishing lease was lost")
                self.release()
        return self._acquire()

    def _acquire(self) -> bool:
        connection = self._engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        try:
            taken = bool(connection.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": LOCK_KEY}).scalar())
        except BaseException:
            connection.close()
            raise
        if not taken:
            connection.close()  # another replica publishes; try again next poll
            return False
        log.info("outbox relay: this replica publishes the outbox (lease taken)")
        self._connection, self._checked_at = connection, time.monotonic()
        return True

    def release(self) -> None:
        """Give the lease up (stop, or a lost connection): closing the connection ends the lock."""
        if self._connection is not None:
            connection, self._connection = self._connection, None
            with contextlib.suppress(DBAPIError):
                connection.invalidate()  # closed, not back into the pool with the lock on it
            connection.close()
