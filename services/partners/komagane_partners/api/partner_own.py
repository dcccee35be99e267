"""What a partner's page shows about its own data: its agreements with the count of consents
behind them, how to connect to its feeds, and its provision records (APPI art. 29), list or CSV.

Through the gateway a `partner` token's subject is the partner id and nothing else can be asked
for (partner.py's `_partner_id`); admins name one. Consents are counted, never listed: a
partner learns how many people agreed to share with it, not who.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field
from sqlalchemy import func
from sqlmodel import col, select

from komagane_kit.inputs import SafeStr
from komagane_kit.lookups import today
from komagane_kit.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page, page_by_id
from komagane_kit.service import DbSession
from komagane_partners.api.partner import _partner_id
from komagane_partners.models import Agreement, AgreementPublic, PartnerConsent, PartnerFilter, ProvisionRecord, ProvisionRecordPublic
from komagane_partners.provision import records_csv
from komagane_partners.settings import PartnersSettings

router = APIRouter(prefix="/v1/partner", tags=["partner contract"])
ASYNCAPI_PATH = "/v1/partner/asyncapi.json"


class PartnerAgreement(AgreementPublic):
    active: bool = Field(description="Sharing under it today (between starts_on and ends_on)")
    consent_count: int = Field(description="People whose PARTNER consent for this partner is live (consent is given per partner): a count, no one named")


class Connection(BaseModel):
    bootstrap_servers: str = Field(description="The Kafka broker address partners connect to")
    security_protocol: str = "SASL_PLAINTEXT"
    sasl_mechanism: str = "SCRAM-SHA-512"
    sasl_username: str = Field(description="partner-<partner_id>; the city hands over its password")
    consumer_group_prefix: str = Field(description="Consumer groups must start with this")
    asyncapi: str = Field(description="Gateway path of the partner's AsyncAPI document")


class PartnerOverview(BaseModel):
    partner_id: str
    agreements: list[PartnerAgreement] = Field(description="Every agreement of the partner, newest start first, ended ones too")
    connection: Connection
    generated_at: datetime


def bootstrap_of(request: Request) -> str:
    settings: PartnersSettings = request.app.state.settings
    return settings.partner_bootstrap_servers or settings.kafka_bootstrap_servers


@router.get("/agreements", response_model=PartnerOverview, summary="The caller's agreements, consent counts and how to connect")
def my_agreements(request: Request, session: DbSession, partner_id: PartnerFilter = None) -> PartnerOverview:
    partner = _partner_id(request, partner_id)
    agreements = session.exec(select(Agreement).where(Agreement.partner_id == partner).order_by(col(Agreement.starts_on).desc(), col(Agreement.feed))).all()
    consents = session.exec(select(func.count()).select_from(PartnerConsent).where(PartnerConsent.partner_id == partner)).one()
    on = today()
    items = [PartnerAgreement.model_validate(AgreementPublic.of(a), update={"active": a.covers(on), "consent_count": int(consents)}) for a in agreements]
    connection = Connection(
        bootstrap_servers=bootstrap_of(request), sasl_username=f"partner-{partner}", consumer_group_prefix=f"partner.{partner}.", asyncapi=ASYNCAPI_PATH
    )
    return PartnerOverview(partner_id=partner, agreements=items, connection=connection, generated_at=datetime.now().astimezone())


def _records(partner: str):  # type: ignore[no-untyped-def]
    return select(ProvisionRecord).where(ProvisionRecord.partner_id == partner).order_by(col(ProvisionRecord.id))


@router.get("/provision-records", response_model=Page[ProvisionRecordPublic], summary="The caller's provision records (第三者提供の記録), oldest first")
def my_records(
    request: Request,
    session: DbSession,
    partner_id: PartnerFilter = None,
    cursor: Annotated[SafeStr | None, Query(max_length=500)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
) -> Page[ProvisionRecordPublic]:
    return page_by_id(session, _records(_partner_id(request, partner_id)), ProvisionRecord, cursor, limit, ProvisionRecordPublic.of)


@router.get("/provision-records.csv", summary="The caller's provision records as CSV", response_class=Response, responses={200: {"content": {"text/csv": {}}}})
def my_records_csv(request: Request, session: DbSession, partner_id: PartnerFilter = None) -> Response:
    partner = _partner_id(request, partner_id)
    records = [ProvisionRecordPublic.of(r) for r in session.exec(_records(partner)).all()]
    return Response(
        records_csv(records),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="provision-records-{partner}.csv"'},
    )
