"""The city office's aggregate reads: KPIs of one month or a range, and every hub compared.

Both read the profiles processor's read model (Redis) and, for the hubs, the exchange service;
months are checked by `komagane_kit.months` (a malformed, reversed or out-of-range month is a
422 problem, never a 500). Suppressed figures stay None (null in JSON), never 0: a page can
tell "fewer than 10 people" from "nobody".
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, Field

from komagane_contracts.events.profiles import CityKpisUpdated, HubMixUpdated, HubMonthMix
from komagane_contracts.readmodels import city_kpis_key, hub_mix_key
from komagane_gateway.auth import CurrentPrincipal, authorize
from komagane_gateway.readcache import ReadCache
from komagane_gateway.upstream import Upstream
from komagane_kit.errors import Problem
from komagane_kit.months import MAX_RANGE_MONTHS, month_range, parse_month

router = APIRouter(dependencies=[Depends(authorize)])
MonthQuery = Annotated[str | None, Query(max_length=7, description="YYYY-MM (Asia/Tokyo)")]


class CityKpisRange(BaseModel):
    from_month: str = Field(serialization_alias="from", description="First month of the range (YYYY-MM)")
    to_month: str = Field(serialization_alias="to", description="Last month of the range (YYYY-MM)")
    months: list[CityKpisUpdated] = Field(description="The KPIs of each month of the range that has been counted, oldest first")
    not_counted: list[str] = Field(description="Months of the range with nothing counted yet")


@router.get(
    "/v1/kpis",
    tags=["profiles"],
    response_model=CityKpisUpdated | CityKpisRange,
    response_model_by_alias=True,
    summary="City KPIs of one month (`month`) or of a range of months (`from`, `to`)",
)
async def get_city_kpis(
    request: Request,
    principal: CurrentPrincipal,
    month: MonthQuery = None,
    from_month: Annotated[str | None, Query(alias="from", max_length=7, description="First month of a range (YYYY-MM)")] = None,
    to_month: Annotated[str | None, Query(alias="to", max_length=7, description=f"Last month of a range (YYYY-MM), at most {MAX_RANGE_MONTHS} months")] = None,
) -> Response:
    """Aggregate only, by event time; figures with fewer than 10 people behind them are null and
    named in `suppressed`. One month: 404 when nothing is counted for it. A range: every counted
    month in one answer (one Redis round trip), the others listed in `not_counted`."""
    cache: ReadCache = request.app.state.read_cache
    if month is not None:
        if from_month is not None or to_month is not None:
            raise Problem(422, "validation-error", "Give either month or from and to.", errors=[{"field": "month", "message": "not with from/to"}])
        key = city_kpis_key(parse_month(month))
        raw = await request.app.state.redis.get(key)
        if raw is None:
            raise Problem(404, "kpis-not-found", "Nothing has been counted for this month yet.")
        return Response(cache.render(key, raw, CityKpisUpdated).body, media_type="application/json")
    if from_month is None or to_month is None:
        field = "to" if from_month is not None else "from"
        raise Problem(422, "validation-error", "Give a month, or from and to.", errors=[{"field": field, "message": "required"}])
    months = month_range(from_month, to_month)
    values = await request.app.state.redis.mget([city_kpis_key(m) for m in months])
    counted = [CityKpisUpdated.model_validate_json(raw) for raw in values if raw is not None]
    missing = [m for m, raw in zip(months, values, strict=True) if raw is None]
    body = CityKpisRange(from_month=months[0], to_month=months[-1], months=counted, not_counted=missing)
    return Response(body.model_dump_json(by_alias=True), media_type="application/json")


class HubCompared(BaseModel):
    hub_id: str
    name_ja: str
    name_en: str | None
    visits: int | None = Field(description="Visits and attendances in the month (exchange); null when suppressed")
    visitors: int | None = Field(description="Distinct people behind them; null when suppressed")
    previous_visits: int | None = Field(description="The same in the month before; null when suppressed")
    visits_change: float | None = Field(description="Month on month: visits ÷ previous_visits − 1; null when either is suppressed")
    mix_index: float | None = Field(description="ごちゃまぜ index of the month (profiles); null when suppressed or not counted")
    previous_mix_index: float | None
    suppressed: list[str] = Field(description="Figures of this hub withheld because fewer than 10 people are behind them")


class HubsCompared(BaseModel):
    month: str
    previous_month: str
    items: list[HubCompared]


def _mix(mixes: dict[str, HubMixUpdated], hub_id: str, month: str) -> HubMonthMix | None:
    mix = mixes.get(hub_id)
    return mix.months.get(month) if mix is not None else None


@router.get("/v1/hubs/compared", tags=["profiles"], response_model=HubsCompared, summary="Every hub compared in a month: visits, visitors, mix index, trend")
async def hubs_compared(
    request: Request, principal: CurrentPrincipal, month: Annotated[str, Query(max_length=7, description="YYYY-MM (Asia/Tokyo)")]
) -> HubsCompared:
    """Aggregate only: the exchange service's visits and visitors per hub, with the profiles
    processor's mix index, for the month and the month before (the trend)."""
    month = parse_month(month)
    exchange: Upstream = request.app.state.upstreams["exchange"]
    answer = await exchange.call("GET", "/v1/hubs/activity", headers=exchange.forward_headers(request), params=[("month", month)])
    if answer.status_code != 200:  # the month was checked here: a refusal is the service's trouble
        raise Problem(502, "upstream-error", f"The exchange service answered {answer.status_code} for the hubs' activity.")
    activity = answer.json()
    previous = activity["previous_month"]
    hub_ids = [item["hub_id"] for item in activity["items"]]
    raws = await request.app.state.redis.mget([hub_mix_key(h) for h in hub_ids]) if hub_ids else []
    mixes = {h: HubMixUpdated.model_validate_json(raw) for h, raw in zip(hub_ids, raws, strict=True) if raw is not None}
    items = []
    for item in activity["items"]:
        now, before = item["months"][month], item["months"][previous]
        mix_now, mix_before = _mix(mixes, item["hub_id"], month), _mix(mixes, item["hub_id"], previous)
        suppressed = [name for name, cell in (("visits", now), ("previous_visits", before)) if cell["suppressed"]]
        if mix_now is not None and mix_now.suppressed:
            suppressed.append("mix_index")
        change = round(now["visits"] / before["visits"] - 1, 4) if now["visits"] is not None and before["visits"] else None
        items.append(
            HubCompared(
                hub_id=item["hub_id"],
                name_ja=item["name_ja"],
                name_en=item["name_en"],
                visits=now["visits"],
                visitors=now["visitors"],
                previous_visits=before["visits"],
                visits_change=change,
                mix_index=mix_now.mix_index if mix_now is not None else None,
                previous_mix_index=mix_before.mix_index if mix_before is not None else None,
                suppressed=suppressed,
            )
        )
    return HubsCompared(month=month, previous_month=previous, items=items)
