"""Hubs (GOTCHA!WELLNESS, ぱとな, community halls, …), drop-in visits and anonymous headcounts."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response, status
from sqlalchemy import insert
from sqlmodel import Session, select

from komagane_contracts.events.exchange import AnonymousHeadcountRecorded, HubRegistered, HubVisited
from komagane_exchange.lookups import dump_list, exists_or_404, get_or_404, load_list, publish, require_registered
from komagane_exchange.models import Headcount, HeadcountCreate, Hub, HubCreate, HubPublic, HubVisit, HubVisitCreate
from komagane_kit.clock import aware, now
from komagane_kit.db import insert_row
from komagane_kit.errors import Problem
from komagane_kit.fastpath import fast_path
from komagane_kit.fastpath.grouped_writes import GroupedWrite
from komagane_kit.idempotency import commit_with_answer
from komagane_kit.inputs import SafeStr
from komagane_kit.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page, page_by_id
from komagane_kit.service import DbSession

router = APIRouter(prefix="/v1/hubs", tags=["hubs"])
# One statement object, values given at execution (its compiled form is found by a key computed once).
_INSERT_VISIT = insert(HubVisit.__table__)  # type: ignore[attr-defined]
HUB_ID_LENGTH = 36
HubId = Annotated[SafeStr, Path(max_length=HUB_ID_LENGTH)]


def hub_public(hub: Hub) -> HubPublic:
    return HubPublic.model_validate(hub, update={"capabilities": load_list(hub.capabilities)})


@router.post("", status_code=status.HTTP_201_CREATED, response_model=HubPublic)
def register_hub(body: HubCreate, session: DbSession, response: Response) -> HubPublic:
    hub = Hub.model_validate(body, update={"kind": body.kind.value, "capabilities": dump_list(body.capabilities)})
    session.add(hub)
    publish(session, HubRegistered(hub_id=hub.id, name_ja=hub.name_ja, name_en=hub.name_en, kind=body.kind, capabilities=body.capabilities, area=hub.area))
    session.commit()
    response.headers["Location"] = f"/v1/hubs/{hub.id}"
    return hub_public(hub)


@router.get("", response_model=Page[HubPublic])
def list_hubs(
    session: DbSession,
    area: Annotated[SafeStr | None, Query(max_length=100)] = None,
    cursor: Annotated[SafeStr | None, Query(max_length=500)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
) -> Page[HubPublic]:
    query = select(Hub).order_by(Hub.id)  # type: ignore[arg-type]
    if area:
        query = query.where(Hub.area == area)
    return page_by_id(session, query, Hub, cursor, limit, hub_public)


@router.get("/{hub_id}", response_model=HubPublic)
def get_hub(hub_id: HubId, session: DbSession) -> HubPublic:
    return hub_public(get_or_404(session, Hub, hub_id))


@router.post("/{hub_id}/visits", status_code=status.HTTP_201_CREATED, response_model=HubVisit)
@fast_path(GroupedWrite(body=HubVisitCreate, write=lambda session, params, body: write_visit(session, params["hub_id"], body)))
def record_visit(hub_id: HubId, body: HubVisitCreate, session: DbSession) -> Response:
    """The platform's busiest write. Its common case is served by its fast path (grouped with
    concurrent visits, without the framework); this route serves the rest, with the same work."""
    return commit_with_answer(session, write_visit(session, hub_id, body))


def write_visit(session: Session, hub_id: str, body: HubVisitCreate) -> Response:
    """Checks without loading objects, a plain INSERT, and the answer serialised here; the
    caller commits."""
    exists_or_404(session, Hub, hub_id)
    require_registered(session, body.person_id)
    visited_at = aware(body.visited_at) if body.visited_at else now()
    if visited_at > now():
        raise Problem(422, "validation-error", "visited_at is in the future", errors=[{"field": "visited_at", "message": "in the future"}])
    visit = HubVisit(hub_id=hub_id, person_id=body.person_id, visited_at=visited_at, purpose=body.purpose)
    insert_row(session, _INSERT_VISIT, visit.model_dump())
    publish(session, HubVisited(person_id=body.person_id, visit_id=visit.id, hub_id=hub_id, visited_at=visited_at, purpose=body.purpose))
    return Response(visit.model_dump_json(), status_code=status.HTTP_201_CREATED, media_type="application/json")


@router.post("/{hub_id}/headcounts", status_code=status.HTTP_201_CREATED, response_model=Headcount)
def record_headcount(hub_id: HubId, body: HeadcountCreate, session: DbSession) -> Headcount:
    """Festival or deck events where identifying people adds nothing: a count only (S0)."""
    get_or_404(session, Hub, hub_id)
    headcount = Headcount(hub_id=hub_id, counted_on=body.counted_on, count=body.count, occasion=body.occasion)
    session.add(headcount)
    publish(session, AnonymousHeadcountRecorded(hub_id=hub_id, headcount_id=headcount.id, counted_on=body.counted_on, count=body.count, occasion=body.occasion))
    session.commit()
    return headcount
