"""Provision records (city and admin through the gateway): list with cursor pagination, or CSV."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response
from sqlmodel import col, select

from komagane_kit.inputs import SafeStr
from komagane_kit.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page, page_by_id
from komagane_kit.service import DbSession
from komagane_partners.models import PartnerFilter, ProvisionRecord, ProvisionRecordPublic
from komagane_partners.provision import records_csv

router = APIRouter(prefix="/v1/partners/provision-records", tags=["provision records"])


def _query(partner_id: str | None):  # type: ignore[no-untyped-def]
    query = select(ProvisionRecord).order_by(col(ProvisionRecord.id))
    return query.where(ProvisionRecord.partner_id == partner_id) if partner_id else query


@router.get("", response_model=Page[ProvisionRecordPublic], summary="第三者提供の記録: every delivery batch to a partner, oldest first")
def list_records(
    session: DbSession,
    partner_id: PartnerFilter = None,
    cursor: Annotated[SafeStr | None, Query(max_length=500)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
) -> Page[ProvisionRecordPublic]:
    return page_by_id(session, _query(partner_id), ProvisionRecord, cursor, limit, ProvisionRecordPublic.of)


@router.get(
    ".csv", summary="All provision records as CSV (for the city's records and audits)", response_class=Response, responses={200: {"content": {"text/csv": {}}}}
)
def export_records(session: DbSession, partner_id: PartnerFilter = None) -> Response:
    records = [ProvisionRecordPublic.of(r) for r in session.exec(_query(partner_id)).all()]
    filename = f"provision-records{'-' + partner_id if partner_id else ''}.csv"
    return Response(records_csv(records), media_type="text/csv; charset=utf-8", headers={"Content-Disposition": f'attachment; filename="{filename}"'})
