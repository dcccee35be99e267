"""Daily activity batches: per-row validation, one transaction, bulk upsert per (person, day).

A batch of thousands of rows costs a handful of statements rather than one per row: people and
consent are looked up in chunks, the rows that are new or changed are upserted with the
dialect's `INSERT … ON CONFLICT DO UPDATE` (SQLite and PostgreSQL alike), and goal awards are
inserted with `ON CONFLICT DO NOTHING … RETURNING`, so a re-sent day never earns twice, even
when two batches race. Rows re-sent with identical values change nothing and emit nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from pydantic import ValidationError
from sqlalchemy import Table, and_
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from komagane_contracts.events.health import DailyActivitySummarized, HealthPointsAwarded, PointReason
from komagane_health.consent import consenting
from komagane_health.lookups import known_people
from komagane_health.models import DailyActivity, DailyActivityRow, IngestReport, PointAward, RowError
from komagane_health.settings import HealthSettings
from komagane_kit.clock import now, tokyo_date
from komagane_kit.lookups import publish_many

CHUNK = 500  # ids per lookup query: well below SQLite's bound-parameter limit


@dataclass
class _Batch:
    good: dict[tuple[str, date], tuple[int, DailyActivityRow]] = field(default_factory=dict)
    errors: list[RowError] = field(default_factory=list)

    def reject(self, row: int, field_name: str, message: str) -> None:
        self.errors.append(RowError(row=row, field=field_name, message=message))


def _validate(raw_rows: Sequence[Any], today: date) -> _Batch:
    batch = _Batch()
    first_seen: dict[tuple[str, date], int] = {}
    for number, raw in enumerate(raw_rows, start=1):
        if not isinstance(raw, Mapping):
            batch.reject(number, "row", "not an object")
            continue
        try:
            row = DailyActivityRow.model_validate(raw)
        except ValidationError as exc:
            for err in exc.errors():
                batch.reject(number, ".".join(str(p) for p in err["loc"]) or "row", err["msg"])
            continue
        if row.day > today:
            batch.reject(number, "day", "in the future")
            continue
        key = (row.person_id, row.day)
        if key in first_seen:
            batch.reject(number, "day", f"the same person and day as row {first_seen[key]}")
            continue
        first_seen[key] = number
        batch.good[key] = (number, row)
    return batch


def _drop(batch: _Batch, keep: set[str], field_name: str, message: str) -> None:
    for key, (number, _) in list(batch.good.items()):
        if key[0] not in keep:
            batch.reject(number, field_name, message)
            del batch.good[key]


def _existing(session: Session, keys: Iterable[tuple[str, date]]) -> dict[tuple[str, date], DailyActivity]:
    keys = list(keys)
    if not keys:
        return {}
    people = sorted({p for p, _ in keys})
    first, last = min(d for _, d in keys), max(d for _, d in keys)
    found: dict[tuple[str, date], DailyActivity] = {}
    for start in range(0, len(people), CHUNK):
        query = select(DailyActivity).where(
            col(DailyActivity.person_id).in_(people[start : start + CHUNK]), and_(col(DailyActivity.day) >= first, col(DailyActivity.day) <= last)
        )
        found.update({(a.person_id, a.day): a for a in session.exec(query).all()})
    return found


def _dialect_insert(session: Session, table: Table) -> postgresql.Insert | sqlite.Insert:
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def _upsert(session: Session, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    table: Table = DailyActivity.__table__  # type: ignore[attr-defined]
    stmt = _dialect_insert(session, table)
    stmt = stmt.on_conflict_do_update(
        index_elements=["person_id", "day"],
        set_={"steps": stmt.excluded.steps, "brisk_walk_minutes": stmt.excluded.brisk_walk_minutes, "updated_at": stmt.excluded.updated_at},
    )
    # One statement compiled once; SQLAlchemy batches the rows into multi-row VALUES ("insertmanyvalues").
    session.execute(stmt, rows)


def _award_goals(session: Session, rows: list[DailyActivityRow], points: int) -> list[tuple[str, str]]:
    """Insert goal awards not yet given; returns the (person_id, source) pairs that are new."""
    table: Table = PointAward.__table__  # type: ignore[attr-defined]
    created = now()
    values = [
        {
            "person_id": r.person_id,
            "source": f"goal:{r.day.isoformat()}",
            "reason": PointReason.ACTIVITY_GOAL.value,
            "points": points,
            "awarded_for": r.day,
            "created_at": created,
        }
        for r in rows
    ]
    if not values:
        return []
    stmt = _dialect_insert(session, table).on_conflict_do_nothing(index_elements=["person_id", "source"]).returning(table.c.person_id, table.c.source)
    return [(str(p), str(s)) for p, s in session.execute(stmt, values).all()]


def ingest(session: Session, raw_rows: Sequence[Any], settings: HealthSettings) -> IngestReport:
    """Validate, store and publish a batch in the session's transaction (the caller commits)."""
    batch = _validate(raw_rows, tokyo_date(now()))
    people = {p for p, _ in batch.good}
    _drop(batch, known_people(session, people), "person_id", "unknown person")
    _drop(batch, consenting(session, people), "person_id", "no HEALTH consent: not stored")

    existing = _existing(session, batch.good)
    changed: list[tuple[DailyActivityRow, bool]] = []
    unchanged = 0
    for key, (_, row) in batch.good.items():
        before = existing.get(key)
        if before is not None and (before.steps, before.brisk_walk_minutes) == (row.steps, row.brisk_walk_minutes):
            unchanged += 1
        else:
            changed.append((row, before is not None))

    stamp = now()
    _upsert(session, [{**row.model_dump(), "updated_at": stamp} for row, _ in changed])
    publish_many(
        session,
        [
            DailyActivitySummarized(person_id=row.person_id, day=row.day, steps=row.steps, brisk_walk_minutes=row.brisk_walk_minutes, replaced=replaced)
            for row, replaced in changed
        ],
    )

    reached = [row for row, _ in changed if row.steps >= settings.step_goal]
    awarded = _award_goals(session, reached, settings.step_goal_points)
    publish_many(
        session,
        [
            HealthPointsAwarded(
                person_id=person_id,
                points=settings.step_goal_points,
                reason=PointReason.ACTIVITY_GOAL,
                awarded_for=date.fromisoformat(source.removeprefix("goal:")),
            )
            for person_id, source in awarded
        ],
    )

    batch.errors.sort(key=lambda e: e.row)
    return IngestReport(
        received=len(raw_rows),
        stored=len(changed),
        unchanged=unchanged,
        rejected=len({e.row for e in batch.errors}),
        points_awarded=len(awarded),
        errors=batch.errors,
    )
