"""A partner's own page: its agreements with the consent count behind each (no individuals), how
to connect to its feeds, and its provision records (APPI art. 29) with CSV and Excel downloads.

Everything comes from the gateway's `/v1/partner/…` reads, which answer a partner token with that
partner's data only; the tables are built once (here) for the page and the downloads."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.exceptions import HTTPException

from komagane_console.downloads import FORMATS, download
from komagane_console.gateway import Gateway
from komagane_console.i18n import Localiser
from komagane_console.problems import N_
from komagane_console.tables import Column, Table
from komagane_console.web import gateway, localiser, render, require_role

router = APIRouter()
PARTNER_ROLES = ("partner",)
RECORDS_PAGES = 20  # 100 records a page: a partner's whole record, as the CSV must hold it


def agreements_table(overview: dict[str, Any], loc: Localiser) -> Table:
    columns = [
        Column("feed", N_("Feed"), "text"),
        Column("purpose", N_("Purpose"), "plain"),
        Column("event_types", N_("Event types"), "plain"),
        Column("starts_on", N_("From"), "plain"),
        Column("ends_on", N_("Until"), "plain"),
        Column("status", N_("Status"), "plain"),
        Column("consent_count", N_("People who consented"), "count"),
        Column("topic", N_("Kafka topic"), "plain"),
    ]
    table = Table("agreements", N_("Our agreements"), columns)
    for a in overview.get("agreements", []):
        status = loc.gettext("active") if a.get("active") else loc.gettext("not active")
        table.rows.append(
            [a["feed"], a["purpose"], " ".join(a.get("event_types", [])), a["starts_on"], a["ends_on"], status, a.get("consent_count", 0), a["topic"]]
        )
    return table


def records_table(records: list[dict[str, Any]]) -> Table:
    columns = [
        Column("id", N_("Record"), "text"),
        Column("recorded_at", N_("Recorded at"), "plain"),
        Column("topic", N_("Kafka topic"), "plain"),
        Column("legal_basis", N_("Legal basis"), "plain"),
        Column("event_types", N_("Event types"), "plain"),
        Column("period_from", N_("Events from"), "plain"),
        Column("period_to", N_("Events until"), "plain"),
        Column("count", N_("Messages provided"), "count"),
    ]
    table = Table("provision-records", N_("Records of provision (APPI art. 29)"), columns)
    for r in records:
        table.rows.append(
            [str(r["id"]), r["recorded_at"], r["topic"], r["legal_basis"], " ".join(r.get("event_types", [])), r["period_from"], r["period_to"], r["count"]]
        )
    return table


async def partner_tables(gw: Gateway, loc: Localiser) -> tuple[dict[str, Any], Table, Table]:
    overview: dict[str, Any] = await gw.get("/v1/partner/agreements")
    records = await gw.items("/v1/partner/provision-records", limit=100, pages=RECORDS_PAGES)
    return overview, agreements_table(overview, loc), records_table(records)


@router.get("/partner")
async def partner_page(request: Request) -> Response:
    viewer = require_role(request, *PARTNER_ROLES)
    loc = localiser(request)
    overview, agreements, records = await partner_tables(gateway(request, viewer), loc)
    gateway_url = request.app.state.settings.gateway_url.rstrip("/")
    return render(request, "partner.html", overview=overview, agreements=agreements, records=records, gateway_url=gateway_url, downloads="/partner/download")


@router.get("/partner/download/{name}.{fmt}")
async def partner_download(request: Request, name: str, fmt: str) -> Response:
    viewer = require_role(request, *PARTNER_ROLES)
    loc = localiser(request)
    if fmt not in FORMATS or name not in ("agreements", "provision-records"):
        raise HTTPException(404)
    overview, agreements, records = await partner_tables(gateway(request, viewer), loc)
    table = agreements if name == "agreements" else records
    return download(table, fmt, loc, stem=f"{name}-{overview['partner_id']}")
