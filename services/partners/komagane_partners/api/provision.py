"""Provision records (city and admin through the gateway): list with cursor pagination, or CSV."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response
from sqlmodel import col, select

from komagane_kit.errors import Problem
from komagane_kit.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page, decode_cursor, encode_cursor
from komagane_kit.service import DbSession
from komagane_partners.models import PartnerFilter, ProvisionRecord, ProvisionRecordPublic
from komagane_partners.provision import records_csv

router = APIRouter(prefix="/v1/partners/provision-records", tags=["provision records"])


def _query(partner_id: str | None, after: int | None = None):  # type: ignore[no-untyped-def]
    query = select(ProvisionRecord).order_by(col(ProvisionRecord.id))
    if partner_id:
        query = query.where(ProvisionRecord.partner_id == partner_id)
    if after is not None:
        query = query.where(col(ProvisionRecord.id) > after)
    return query


@router.get("", response_model=Page[ProvisionRecordPublic], summary="第三者提供の記録: every delivery batch to a partner, oldest first")
def list_records(
    session: DbSession,
    partner_id: PartnerFilter = None,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
) -> Page[ProvisionRecordPublic]:
    after = decode_cursor(cursor)
    if after and not isinstance(after[0], int):
        raise Problem(400, "invalid-cursor", "The cursor is not one this API returned.", errors=[{"field": "cursor", "message": "invalid"}])
    found = list(session.exec(_query(partner_id, after[0] if after else None).limit(limit + 1)).all())
    page = found[:limit]
    return Page(items=[ProvisionRecordPublic.of(r) for r in page], next_cursor=encode_cursor(page[-1].id) if len(found) > limit else None)


@router.get(
    ".csv", summary="All provision records as CSV (for the city's records and audits)", response_class=Response, responses={200: {"content": {"text/csv": {}}}}
)
def export_records(session: DbSession, partner_id: PartnerFilter = None) -> Response:
    records = [ProvisionRecordPublic.of(r) for r in session.exec(_query(partner_id)).all()]
    filename = f"provision-records{'-' + partner_id if partner_id else ''}.csv"
    return Response(records_csv(records), media_type="text/csv; charset=utf-8", headers={"Content-Disposition": f'attachment; filename="{filename}"'})
