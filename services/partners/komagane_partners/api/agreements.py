"""Data-sharing agreements (admin only through the gateway): create, list, read, end. Never deleted."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response, status
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from komagane_contracts.topics import DAY_MS, TopicSpec
from komagane_contracts.vocabulary import Sensitivity
from komagane_kit.errors import Problem
from komagane_kit.inputs import SafeStr
from komagane_kit.kafka import ensure_topics
from komagane_kit.lookups import Lookups, invalid, today
from komagane_kit.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page, page_by_id
from komagane_kit.service import DbSession
from komagane_partners.models import Agreement, AgreementCreate, AgreementEnd, AgreementPublic, PartnerFilter, new_agreement

router = APIRouter(prefix="/v1/partners/agreements", tags=["partner agreements"])
lookups = Lookups({Agreement: "agreement"})


async def create_feed_topic(request: Request, agreement: Agreement) -> None:
    """The partner's topic, created before the agreement exists (creating it again is a no-op)."""
    spec = TopicSpec(
        name=agreement.topic,
        key="pseudonym (person-level messages)",
        value_types=(),
        sensitivity=Sensitivity(agreement.max_sensitivity),
        description=f"Feed {agreement.feed} of partner {agreement.partner_id}",
        retention_ms=agreement.retention_days * DAY_MS,
        has_dlq=False,
    )
    try:
        await ensure_topics(request.app.state.settings.kafka_bootstrap_servers, [spec], brokers=request.app.state.settings.kafka_brokers)
    except Exception as exc:
        raise Problem(
            503, "kafka-unavailable", "The partner topic could not be created now; nothing was saved. Try again.", headers={"Retry-After": "5"}
        ) from exc


AgreementId = Annotated[SafeStr, Path(max_length=36)]


@router.post("", status_code=status.HTTP_201_CREATED, response_model=AgreementPublic, summary="Register a data-sharing agreement and create its partner topic")
async def create_agreement(body: AgreementCreate, session: DbSession, request: Request, response: Response) -> AgreementPublic:
    agreement = new_agreement(body)
    if session.exec(select(Agreement).where(Agreement.partner_id == body.partner_id, Agreement.feed == body.feed)).first() is not None:
        raise Problem(409, "agreement-exists", f"Partner {body.partner_id} already has a feed named {body.feed}.")
    await create_feed_topic(request, agreement)
    session.add(agreement)
    try:
        session.commit()
    except IntegrityError as exc:
        raise Problem(409, "agreement-exists", f"Partner {body.partner_id} already has a feed named {body.feed}.") from exc
    response.headers["Location"] = f"/v1/partners/agreements/{agreement.id}"
    return AgreementPublic.of(agreement)


@router.get("", response_model=Page[AgreementPublic], summary="Agreements, optionally of one partner")
def list_agreements(
    session: DbSession,
    partner_id: PartnerFilter = None,
    cursor: Annotated[SafeStr | None, Query(max_length=500)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
) -> Page[AgreementPublic]:
    query = select(Agreement).order_by(col(Agreement.id))
    if partner_id:
        query = query.where(Agreement.partner_id == partner_id)
    return page_by_id(session, query, Agreement, cursor, limit, AgreementPublic.of)


@router.get("/{agreement_id}", response_model=AgreementPublic, summary="One agreement")
def get_agreement(agreement_id: AgreementId, session: DbSession) -> AgreementPublic:
    return AgreementPublic.of(lookups.get_or_404(session, Agreement, agreement_id))


@router.post("/{agreement_id}/end", response_model=AgreementPublic, summary="End an agreement: nothing is shared after its new end date")
def end_agreement(agreement_id: AgreementId, body: AgreementEnd, session: DbSession) -> AgreementPublic:
    agreement = session.get(Agreement, agreement_id, with_for_update=True)
    if agreement is None:
        raise lookups.not_found(Agreement, agreement_id)
    if body.ends_on < today() or body.ends_on < agreement.starts_on:
        raise invalid("ends_on", "too early", "ends_on must be today or later, and not before the start.")
    if body.ends_on > agreement.ends_on:
        raise invalid("ends_on", "after the agreed end", "Ending cannot extend an agreement; register a new one.")
    agreement.ends_on = body.ends_on
    if agreement.ended_at is None:
        agreement.ended_at = datetime.now(UTC)
    session.add(agreement)
    session.commit()
    return AgreementPublic.of(agreement)
