"""Ids found in a table whose rows are never deleted, remembered per database and process.

A hot write path checks the same hubs and people all day; once a row was found it stays valid,
so asking again is a round trip for nothing. Kept per engine, so that two databases in one
process (tests, benchmarks) never answer for each other; bounded, then forgotten and relearnt.
"""

from __future__ import annotations

import weakref

from sqlalchemy.engine import Engine
from sqlmodel import Session

REMEMBERED_MAX = 100_000


class RememberedIds:
    def __init__(self, limit: int = REMEMBERED_MAX) -> None:
        self._limit = limit
        self._by_engine: weakref.WeakKeyDictionary[Engine, set[str]] = weakref.WeakKeyDictionary()

    def _ids(self, session: Session) -> set[str]:
        engine = session.get_bind()
        assert isinstance(engine, Engine)
        ids = self._by_engine.get(engine)
        if ids is None:
            ids = self._by_engine[engine] = set()
        return ids

    def known(self, session: Session, entity_id: str) -> bool:
        return entity_id in self._ids(session)

    def learn(self, session: Session, entity_id: str) -> None:
        ids = self._ids(session)
        if len(ids) >= self._limit:
            ids.clear()
        ids.add(entity_id)

    def forget(self, session: Session, entity_id: str) -> None:
        """The row is gone (an erasure): ask the database again next time."""
        self._ids(session).discard(entity_id)
