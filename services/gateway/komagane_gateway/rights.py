"""The person's rights under APPI at the gateway: correction (訂正) and disclosure (開示).

`PATCH /v1/people/{person_id}` goes to the people service, which owns the record, checks the
patch (`PersonPatch` in its OpenAPI document) and logs the request; it is declared here so the
gateway's document shows both media types it takes.

`GET /v1/people/{person_id}/export` composes everything the platform holds about the person:
each service's internal `/internal/v1/people/{id}/held` (komagane_kit.disclosure) and the
profile from the read model. The people service is asked first: it answers 404 for an unknown
person and records the disclosure in the person's rights log (who, role, reason) before anything
is sent; if it cannot, nothing is disclosed. The other services are asked together, each a
section that is `ok` or `unavailable` (with the problem, e.g. health data refused to hub staff:
care staff only), so the export says plainly what it lacks. The access matrix lets the person
themself and staff roles through; anyone else but the person must give `X-Access-Reason`
(staff_rules.py), which every service sees and the people and health logs keep.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from pydantic import BaseModel, Field

from komagane_gateway.auth import CurrentPrincipal, authorize
from komagane_gateway.composed import SECTION_TIMEOUT_SECONDS, Section, _profile, _section
from komagane_gateway.upstream import Upstream
from komagane_kit.clock import now
from komagane_kit.disclosure import HELD_PATH
from komagane_kit.errors import Problem

router = APIRouter(dependencies=[Depends(authorize)])
PersonId = Annotated[str, Path(min_length=1, max_length=36, description="Internal person id")]

# The services that hold person-level data besides the people service, in the export's order.
HOLDERS = ("exchange", "jobs", "health", "housing", "partners")


class Export(BaseModel):
    person_id: str
    generated_at: datetime
    requested_by: str = Field(description="The token's subject")
    reason: str | None = Field(description="X-Access-Reason, when someone other than the person asked")
    people: dict[str, list[dict[str, Any]]] = Field(description="The people service: the record (name, contact), consents, the rights log")
    sections: dict[str, Section] = Field(description="Every other service's holdings (exchange, jobs, health, housing, partners) and the profile")


async def _held(request: Request, service: str, person_id: str) -> dict[str, list[dict[str, Any]]]:
    upstream: Upstream = request.app.state.upstreams[service]
    path = HELD_PATH.format(person_id=person_id)
    answer = await upstream.call("GET", path, headers=upstream.forward_headers(request), timeout=SECTION_TIMEOUT_SECONDS)
    if answer.status_code == 200:
        sections: dict[str, list[dict[str, Any]]] = answer.json()["sections"]
        return sections
    if 400 <= answer.status_code < 500:
        try:
            problem = answer.json()
        except ValueError:
            problem = {}
        kind = str(problem.get("type", "")).rsplit("/", 1)[-1] or "upstream-refused"
        raise Problem(answer.status_code, kind, str(problem.get("detail", "")), service=service)
    raise Problem(502, "upstream-error", f"The {service} service answered {answer.status_code}.", service=service)


@router.get("/v1/people/{person_id}/export", tags=["people"], response_model=Export, summary="Everything held about a person (開示)")
async def export(request: Request, person_id: PersonId, principal: CurrentPrincipal) -> Export:
    people = await _held(request, "people", person_id)  # 404 or refused: nothing else is asked
    sections = await asyncio.gather(*(_section(_held(request, service, person_id)) for service in HOLDERS), _section(_profile(request, person_id)))
    return Export(
        person_id=person_id,
        generated_at=now(),
        requested_by=principal.subject,
        reason=getattr(request.state, "access_reason", None),
        people=people,
        sections=dict(zip((*HOLDERS, "profile"), sections, strict=True)),
    )
