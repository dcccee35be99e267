"""Views composed from several services, and the profile stream.

`GET /v1/people/{person_id}/overview` asks the read model and four services at once; each
section says whether it is `ok` or `unavailable` (with the problem), so one failing service
costs its section, not the page. Sections have a short deadline of their own.

`GET /v1/people/{person_id}/stream` is server-sent events: `profile` (the whole profile, `id:`
its version) whenever a new version lands in the read model, `profile-erased` when it goes
(consent withdrawn), and a comment line as keep-alive. The gateway polls the person's Redis
key (`PROFILE_STREAM_POLL_SECONDS`, default 0.5 s): it depends only on the read model's
contract (the key and its `version`), not on how the processor writes it, and it costs one GET
per open stream per interval. A client that reconnects with `Last-Event-ID` gets no repeat of
the version it has.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, Path, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from komagane_contracts.events.profiles import PersonProfileUpdated
from komagane_contracts.readmodels import profile_key
from komagane_gateway.auth import CurrentPrincipal, authorize
from komagane_gateway.readcache import ReadCache
from komagane_gateway.upstream import Upstream
from komagane_kit.clock import now
from komagane_kit.errors import Problem

router = APIRouter(dependencies=[Depends(authorize)])
PersonId = Annotated[str, Path(min_length=1, max_length=36, description="Internal person id")]
SECTION_TIMEOUT_SECONDS = 3.0
KEEPALIVE_SECONDS = 15.0


class Section(BaseModel):
    status: Literal["ok", "unavailable"]
    data: Any = Field(default=None, description="The section's content when ok (null: nothing there, e.g. no profile)")
    problem: dict[str, Any] | None = Field(default=None, description="Why the section is unavailable (problem+json fields)")


class Overview(BaseModel):
    person_id: str
    generated_at: datetime
    profile: Section = Field(description="Role-and-belonging profile (null without PROFILE consent)")
    sessions: Section = Field(description="Upcoming sessions the person has reserved or is waitlisted for (exchange)")
    engagements: Section = Field(description="Active work engagements (jobs)")
    matches: Section = Field(description="Best job and activity matches (jobs)")
    housing: Section = Field(description="Migration cases, the housing journey (housing)")

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "person_id": "0b7c…",
                    "generated_at": "2026-11-29T13:00:00+09:00",
                    "profile": {"status": "ok", "data": {"person_id": "0b7c…", "version": 12}},
                    "sessions": {"status": "ok", "data": []},
                    "engagements": {"status": "unavailable", "problem": {"type": "https://komagane.example/problems/service-unavailable", "status": 503}},
                    "matches": {"status": "ok", "data": []},
                    "housing": {"status": "ok", "data": []},
                }
            ]
        }
    }


async def _section(work: Awaitable[Any]) -> Section:
    try:
        return Section(status="ok", data=await asyncio.wait_for(work, SECTION_TIMEOUT_SECONDS))
    except Problem as exc:
        return Section(status="unavailable", problem={"type": exc.kind, "status": exc.status, "detail": exc.detail})
    except TimeoutError:
        return Section(status="unavailable", problem={"type": "upstream-timeout", "status": 504, "detail": "No answer in time."})


async def _get(request: Request, service: str, path: str, params: dict[str, Any] | None = None) -> Any:
    upstream: Upstream = request.app.state.upstreams[service]
    answer = await upstream.call("GET", path, params=params, headers=upstream.forward_headers(request), timeout=SECTION_TIMEOUT_SECONDS)
    if answer.status_code == 404:
        return None
    if answer.status_code != 200:
        raise Problem(answer.status_code if answer.status_code >= 500 else 502, "upstream-error", f"The {service} service answered {answer.status_code}.")
    return answer.json()


def _items(page: Any) -> list[Any]:
    return list(page.get("items", [])) if isinstance(page, dict) else []


async def _profile(request: Request, person_id: str) -> Any:
    key = profile_key(person_id)
    try:
        raw = await request.app.state.redis.get(key)
    except Exception as exc:  # Redis away: this section is unavailable, the rest is not
        raise Problem(503, "read-model-unavailable", "The profile read model is unavailable.") from exc
    if raw is None:
        return None
    cache: ReadCache = request.app.state.read_cache
    return json.loads(cache.render(key, raw, PersonProfileUpdated).body)


async def _engagements(request: Request, person_id: str) -> list[Any]:
    page = await _get(request, "jobs", "/v1/engagements", {"person_id": person_id, "limit": 50})
    return [e for e in _items(page) if e.get("status") == "ACTIVE"]


@router.get("/v1/people/{person_id}/overview", tags=["people"], response_model=Overview, summary="Everything about a person, from every pillar at once")
async def overview(request: Request, person_id: PersonId, principal: CurrentPrincipal) -> Overview:
    """The profile, upcoming reserved sessions, active engagements, matches and migration cases,
    fetched concurrently. A section whose service fails is `unavailable`; the rest is returned."""
    profile, sessions, engagements, matches, housing = await asyncio.gather(
        _section(_profile(request, person_id)),
        _section(_get(request, "exchange", f"/v1/people/{person_id}/sessions")),
        _section(_engagements(request, person_id)),
        _section(_listing(_get(request, "jobs", f"/v1/people/{person_id}/matches", {"limit": 5}))),
        _section(_listing(_get(request, "housing", "/v1/migration-cases", {"person_id": person_id}))),
    )
    return Overview(person_id=person_id, generated_at=now(), profile=profile, sessions=sessions, engagements=engagements, matches=matches, housing=housing)


async def _listing(page: Awaitable[Any]) -> list[Any]:
    return _items(await page)


@router.get(
    "/v1/people/{person_id}/stream",
    tags=["people"],
    summary="Server-sent events: the person's profile, each time it changes",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {"example": 'event: profile\nid: 12\ndata: {"person_id": "…", "version": 12, …}\n\n'}}}},
)
async def stream(
    request: Request,
    person_id: PersonId,
    principal: CurrentPrincipal,
    last_event_id: Annotated[str | None, Header(alias="Last-Event-ID", max_length=20)] = None,
) -> StreamingResponse:
    poll = float(getattr(request.app.state, "stream_poll_seconds", 0.5))
    return StreamingResponse(
        _profile_events(request, person_id, last_event_id, poll),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


async def _profile_events(request: Request, person_id: str, last_event_id: str | None, poll: float) -> AsyncIterator[bytes]:
    key = profile_key(person_id)
    cache: ReadCache = request.app.state.read_cache
    sent: str | None = last_event_id
    loop = asyncio.get_running_loop()
    quiet_since = loop.time()
    yield b"retry: 2000\n\n"
    while not await request.is_disconnected():
        raw = await request.app.state.redis.get(key)
        if raw is None:
            if sent not in (None, "erased"):
                sent = "erased"
                yield b"event: profile-erased\nid: erased\ndata: {}\n\n"
                quiet_since = loop.time()
        else:
            rendered = cache.render(key, raw, PersonProfileUpdated)
            if str(rendered.version) != sent:
                sent = str(rendered.version)
                yield b"event: profile\nid: " + sent.encode() + b"\ndata: " + rendered.body + b"\n\n"
                quiet_since = loop.time()
        if loop.time() - quiet_since >= KEEPALIVE_SECONDS:
            yield b": keep-alive\n\n"
            quiet_since = loop.time()
        await asyncio.sleep(poll)
