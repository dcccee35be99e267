"""What a partner reads about its own feeds: its AsyncAPI document and message schemas.

Through the gateway a `partner` token's subject is the partner id; admins may name one.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from sqlmodel import col, select

from komagane_kit.errors import Problem
from komagane_kit.inputs import SafeStr
from komagane_kit.lookups import today
from komagane_kit.service import DbSession
from komagane_partners.contract import message_schema, message_types, partner_asyncapi
from komagane_partners.models import Agreement, PartnerFilter

router = APIRouter(prefix="/v1/partner", tags=["partner contract"])


def _partner_id(request: Request, asked: str | None) -> str:
    identity = getattr(request.state, "identity", None)
    if identity is not None and "partner" in identity.roles and "admin" not in identity.roles:
        if asked not in (None, identity.subject):
            raise Problem(403, "forbidden", "A partner sees only its own feeds.")
        return str(identity.subject)
    if not asked:
        raise Problem(422, "validation-error", "Name the partner.", errors=[{"field": "partner_id", "message": "required"}])
    return asked


def _agreements(session: DbSession, partner_id: str) -> list[Agreement]:
    query = select(Agreement).where(Agreement.partner_id == partner_id, col(Agreement.ends_on) >= today()).order_by(col(Agreement.feed))
    return list(session.exec(query).all())


@router.get("/asyncapi.json", summary="AsyncAPI 3.0 document of the caller's partner feeds")
def asyncapi(request: Request, session: DbSession, partner_id: PartnerFilter = None) -> dict[str, Any]:
    partner = _partner_id(request, partner_id)
    return partner_asyncapi(partner, _agreements(session, partner))


@router.get("/schemas/{feed}/{event_type}", summary="JSON Schema of one message type of one of the caller's feeds")
def schema(
    feed: Annotated[SafeStr, Path(max_length=41)],
    event_type: Annotated[SafeStr, Path(max_length=200)],
    request: Request,
    session: DbSession,
    partner_id: PartnerFilter = None,
) -> dict[str, Any]:
    partner = _partner_id(request, partner_id)
    for agreement in _agreements(session, partner):
        if agreement.feed == feed and event_type in message_types(agreement):
            return message_schema(agreement, event_type)
    raise Problem(404, "not-found", f"No message type {event_type} on a feed {feed} of this partner.")
