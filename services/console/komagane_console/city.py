"""The city office: the KPI dashboard of the last 12 months and every hub compared, with their
tables as CSV and Excel downloads (downloads.py) built by the same functions (city_tables.py)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.exceptions import HTTPException

from komagane_console.city_tables import KPI_TABLE_NAMES, hubs_table, kpi_tables
from komagane_console.downloads import FORMATS, download
from komagane_console.gateway import Gateway, GatewayError
from komagane_console.i18n import TOKYO, Localiser
from komagane_console.problems import problem_message
from komagane_console.tables import Table
from komagane_console.web import gateway, localiser, render, require_role
from komagane_kit.errors import Problem
from komagane_kit.months import parse_month, shift, this_month

router = APIRouter()
CITY_ROLES = ("city", "admin")
DASHBOARD_MONTHS = 12


def current_month() -> str:
    return this_month(datetime.now(TOKYO).date())


def last_months(count: int = DASHBOARD_MONTHS) -> list[str]:
    latest = current_month()
    return [shift(latest, n - count + 1) for n in range(count)]


async def dashboard_tables(gw: Gateway) -> list[Table]:
    months = last_months()
    answer: dict[str, Any] = await gw.get("/v1/kpis", **{"from": months[0], "to": months[-1]})
    return kpi_tables(months, answer)


def _hub_name(loc: Localiser) -> Callable[[dict[str, Any]], str]:
    """A hub's name in the viewer's language (Japanese names for Japanese and easy Japanese)."""
    japanese = loc.language.babel == "ja"
    return lambda hub: str(hub["name_ja"] if japanese else hub.get("name_en") or hub["name_ja"])


async def hubs_compared(gw: Gateway, loc: Localiser, month: str) -> Table:
    return hubs_table(await gw.get("/v1/hubs/compared", month=month), _hub_name(loc))


@router.get("/city")
async def dashboard(request: Request) -> Response:
    viewer = require_role(request, *CITY_ROLES)
    tables = await dashboard_tables(gateway(request, viewer))
    return render(request, "city.html", tables=tables, month=current_month(), downloads="/city/download")


def _month_asked(request: Request, loc: Localiser) -> tuple[str, str | None]:
    """The month of the hubs page (this month unless asked), and the error to show if it is bad."""
    asked = request.query_params.get("month") or current_month()
    try:
        return parse_month(asked), None
    except Problem:  # the form says so, and shows this month
        return current_month(), loc.gettext("Choose a month between 2000-01 and 2099-12.")


@router.get("/city/hubs")
async def hubs_page(request: Request) -> Response:
    viewer = require_role(request, *CITY_ROLES)
    loc = localiser(request)
    month, error = _month_asked(request, loc)
    try:
        table = await hubs_compared(gateway(request, viewer), loc, month)
    except GatewayError as exc:
        if exc.status != 422:
            raise
        return render(request, "city_hubs.html", status_code=422, table=None, month=month, error=problem_message(exc, loc))
    return render(request, "city_hubs.html", table=table, month=month, error=error, status_code=422 if error else 200)


@router.get("/city/download/{name}.{fmt}")
async def city_download(request: Request, name: str, fmt: str) -> Response:
    viewer = require_role(request, *CITY_ROLES)
    loc = localiser(request)
    if fmt not in FORMATS:
        raise HTTPException(404)
    gw = gateway(request, viewer)
    if name == "hubs":
        month, error = _month_asked(request, loc)
        if error:
            raise HTTPException(422, error)
        return download(await hubs_compared(gw, loc, month), fmt, loc, stem=f"hubs-{month}")
    if name not in KPI_TABLE_NAMES:
        raise HTTPException(404)
    table = next(t for t in await dashboard_tables(gw) if t.name == name)
    return download(table, fmt, loc, stem=f"kpis-{name}-{current_month()}")
