"""The audit log of S2 reads: listed by care and admin roles; there is deliberately no route that changes it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from sqlmodel import col, select

from komagane_health.audit import AuditEntry, AuditEntryPublic, AuditReader
from komagane_kit.inputs import SafeStr
from komagane_kit.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page, page_by_id
from komagane_kit.service import DbSession

router = APIRouter(prefix="/v1/health/audit", tags=["audit"])


@router.get("", response_model=Page[AuditEntryPublic], summary="Who read whose health data, when and why (oldest first)")
def list_audit(
    session: DbSession,
    reader: AuditReader,
    person_id: Annotated[SafeStr | None, Query(max_length=36)] = None,
    actor: Annotated[SafeStr | None, Query(alias="read_by", max_length=100, description="Only entries of this reader")] = None,
    cursor: Annotated[SafeStr | None, Query(max_length=500)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
) -> Page[AuditEntryPublic]:
    query = select(AuditEntry).order_by(col(AuditEntry.id))
    if person_id:
        query = query.where(AuditEntry.person_id == person_id)
    if actor:
        query = query.where(AuditEntry.actor == actor)
    return page_by_id(session, query, AuditEntry, cursor, limit, AuditEntryPublic.model_validate)
