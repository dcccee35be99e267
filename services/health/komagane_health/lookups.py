"""Lookups every route needs: 404 for unknown ids, 422 for unknown people, and the outbox helper."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated

from fastapi import Depends, Request
from sqlmodel import Session, col, select

from komagane_health.models import AdviceSession, Program, StationGroup
from komagane_health.settings import HealthSettings
from komagane_kit.lookups import Lookups, publish, require_person
from komagane_kit.people_replica import KnownPerson

_lookups = Lookups({StationGroup: "group", Program: "program", AdviceSession: "advice-session"})
get_or_404 = _lookups.get_or_404
get_or_422 = _lookups.get_or_422


def _settings(request: Request) -> HealthSettings:
    settings: HealthSettings = request.app.state.settings
    return settings


Settings = Annotated[HealthSettings, Depends(_settings)]


def known_people(session: Session, person_ids: Iterable[str]) -> set[str]:
    """Which of `person_ids` the replica knows (one query per 500 ids)."""
    ids = list(dict.fromkeys(person_ids))
    found: set[str] = set()
    for start in range(0, len(ids), 500):
        found.update(session.exec(select(KnownPerson.person_id).where(col(KnownPerson.person_id).in_(ids[start : start + 500]))).all())
    return found


# Health events need no `sensitive` flag: S2 classes declare S2 and the health-internal topic.
__all__ = ["Settings", "get_or_404", "get_or_422", "known_people", "publish", "require_person"]
