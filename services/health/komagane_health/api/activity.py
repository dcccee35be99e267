"""Daily activity summaries from activity meters: JSON and CSV batches, and the audited per-person read."""

from __future__ import annotations

import csv
import io
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from sqlmodel import Field, SQLModel, col, select

from komagane_health.audit import PermittedS2Read
from komagane_health.ingest import ingest
from komagane_health.lookups import Settings
from komagane_health.models import DailyActivity, DailyActivityPublic, IngestReport
from komagane_kit.errors import Problem
from komagane_kit.inputs import FilterDate, SafeStr
from komagane_kit.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page, decode_cursor, encode_cursor
from komagane_kit.people_replica import known_person
from komagane_kit.service import DbSession

router = APIRouter(prefix="/v1/health", tags=["daily activity"])
PersonId = Annotated[SafeStr, Path(max_length=36)]
CSV_COLUMNS = ("person_id", "day", "steps", "brisk_walk_minutes")


class ActivityBatch(SQLModel):
    rows: list[Any] = Field(
        description="Objects with person_id, day, steps, brisk_walk_minutes; each validated on its own", schema_extra={"json_schema_extra": {"minItems": 1}}
    )


def _store(session: DbSession, rows: list[Any], settings: Settings) -> IngestReport:
    if not rows:
        raise Problem(422, "validation-error", "The batch has no rows.", title="Validation failed", errors=[{"field": "rows", "message": "empty"}])
    if len(rows) > settings.max_batch_rows:
        raise Problem(
            413, "batch-too-large", f"At most {settings.max_batch_rows} rows per batch; split it.", errors=[{"field": "rows", "message": "too many rows"}]
        )
    report = ingest(session, rows, settings)
    if report.rejected == report.received:
        session.rollback()
        raise Problem(
            422,
            "validation-error",
            "No row of the batch is valid; nothing was stored.",
            title="Validation failed",
            errors=[{"field": f"rows[{e.row - 1}].{e.field}", "message": e.message} for e in report.errors],
            report=report.model_dump(mode="json"),
        )
    session.commit()
    return report


@router.post("/daily-activity", response_model=IngestReport, summary="Store a JSON batch of person-day summaries")
def ingest_json(body: ActivityBatch, session: DbSession, settings: Settings) -> IngestReport:
    """Good rows are stored (re-sending a person-day replaces it); bad rows are listed with the reason."""
    return _store(session, body.rows, settings)


@router.post(
    "/daily-activity.csv",
    response_model=IngestReport,
    summary="Store a CSV batch of person-day summaries",
    openapi_extra={
        "requestBody": {"required": True, "content": {"text/csv": {"schema": {"type": "string", "example": "person_id,day,steps,brisk_walk_minutes\n"}}}}
    },
)
async def ingest_csv(request: Request, session: DbSession, settings: Settings) -> IngestReport:
    """Columns person_id, day (YYYY-MM-DD), steps, brisk_walk_minutes, with a header line; UTF-8."""
    if request.headers.get("content-type", "").split(";")[0].strip().lower() != "text/csv":
        raise Problem(415, "unsupported-media-type", "Send the batch as text/csv.", errors=[{"field": "Content-Type", "message": "must be text/csv"}])
    try:
        text = (await request.body()).decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise Problem(422, "validation-error", "The CSV is not UTF-8.", errors=[{"field": "body", "message": "not UTF-8"}]) from exc
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in CSV_COLUMNS[:3] if c not in (reader.fieldnames or [])]
    if missing:
        raise Problem(
            422,
            "validation-error",
            f"The CSV header lacks {', '.join(missing)}.",
            title="Validation failed",
            errors=[{"field": c, "message": "missing column"} for c in missing],
        )
    # An empty cell means "not given" (so brisk_walk_minutes may be left blank).
    rows: list[Any] = [{k: v for k, v in line.items() if k is not None and v not in ("", None)} for line in reader]
    return _store(session, rows, settings)


@router.get("/people/{person_id}/daily-activity", response_model=Page[DailyActivityPublic], summary="A person's daily activity (S2: audited, reason required)")
def person_daily_activity(
    person_id: PersonId,
    session: DbSession,
    read: PermittedS2Read,
    since: Annotated[FilterDate | None, Query(alias="from")] = None,
    until: Annotated[FilterDate | None, Query(alias="to")] = None,
    cursor: Annotated[SafeStr | None, Query(max_length=500)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
) -> Page[DailyActivityPublic]:
    if known_person(session, person_id) is None:
        raise Problem(404, "person-not-found", f"No person {person_id} is known to the health service.")
    query = select(DailyActivity).where(DailyActivity.person_id == person_id).order_by(col(DailyActivity.day))
    if since:
        query = query.where(col(DailyActivity.day) >= since)
    if until:
        query = query.where(col(DailyActivity.day) <= until)
    after = decode_cursor(cursor, (date,))
    if after is not None:
        query = query.where(col(DailyActivity.day) > after[0])
    found = list(session.exec(query.limit(limit + 1)).all())
    page = found[:limit]
    read.record(session, person_id=person_id, resource="daily-activity", records=len(page))
    session.commit()  # the audit entry is stored before anyone sees the data
    items = [DailyActivityPublic(day=a.day, steps=a.steps, brisk_walk_minutes=a.brisk_walk_minutes) for a in page]
    return Page(items=items, next_cursor=encode_cursor(page[-1].day) if len(found) > limit else None)
