"""Public routes. Writes and person reads go to the owning service; profiles come from Redis."""

from __future__ import annotations

import asyncio
import re
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.responses import JSONResponse

from komagane_contracts.events.profiles import BelongingLapsed, HubMixUpdated, PersonProfileUpdated
from komagane_contracts.readmodels import LAPSE_ALERTS_KEY, hub_mix_key, profile_key
from komagane_contracts.schemas import ASYNCAPI_FILE, published, schema_filename
from komagane_gateway.auth import CareStaff, CurrentPrincipal, authorize
from komagane_gateway.fastpath.forward import DirectForward
from komagane_gateway.fastpath.profile_read import CachedProfileRead
from komagane_gateway.readcache import ReadCache, Rendered
from komagane_gateway.upstream import Upstream
from komagane_kit.errors import Problem, allowed_methods, method_not_allowed
from komagane_kit.fastpath import fast_path

# Every route passes the access matrix (auth.authorize; access.py is the one table).
router = APIRouter(dependencies=[Depends(authorize)])
PersonId = Annotated[str, Path(min_length=1, max_length=36, description="Internal person id")]


# Which service owns which public path: the one place routing is declared. Patterns are tried
# in order, so the more specific ones (jobs' per-person skills and matches) come first.
ROUTE_TABLE: list[tuple[str, str]] = [
    (r"/v1/people/[^/]+/(skills|matches)", "jobs"),
    (r"/v1/people/[^/]+/(sessions|participation)", "exchange"),
    (r"/v1/people(/.*)?", "people"),
    (r"/v1/(hubs|activities|sessions|groups|volunteer-shifts)(/.*)?", "exchange"),
    (r"/v1/(opportunities|applications|engagements|seminars|cooperators)(/.*)?", "jobs"),
    (r"/v1/health(/.*)?", "health"),
    (r"/v1/(properties|trial-stays|migration-cases|moves|relocations|workation-stays|relationships)(/.*)?", "housing"),
    (r"/v1/partners?(/.*)?", "partners"),
]
_COMPILED = [(re.compile(pattern), service) for pattern, service in ROUTE_TABLE]
SERVICES = tuple(dict.fromkeys(service for _, service in ROUTE_TABLE))


def owner_of(path: str) -> str | None:
    for pattern, service in _COMPILED:
        if pattern.fullmatch(path):
            return service
    return None


def _upstream(request: Request, service: str) -> Upstream:
    upstream: Upstream = request.app.state.upstreams[service]
    return upstream


READ_YOUR_WRITES_MAX_WAIT = 10.0
READ_YOUR_WRITES_POLL = 0.05


@router.get(
    "/v1/profiles/{person_id}",
    tags=["profiles"],
    response_model=PersonProfileUpdated,
    summary="Role-and-belonging profile",
    responses={304: {"description": "Not modified (If-None-Match had the current version)"}},
)
@fast_path(CachedProfileRead())  # the common cached read: fastpath/profile_read.py
async def get_profile(
    request: Request,
    person_id: PersonId,
    principal: CurrentPrincipal,
    min_version: Annotated[int | None, Query(ge=1, description="Read-your-writes: wait until the profile has at least this version")] = None,
    wait: Annotated[float, Query(gt=0, le=READ_YOUR_WRITES_MAX_WAIT, description="Longest wait for min_version, in seconds")] = 2.0,
) -> Response:
    """The profile from the Redis read model (its `ETag` is the version). With `min_version`,
    waits (briefly) for the processor to catch up with the caller's own write; if it has not
    within `wait` seconds the answer is 409 with the version there is, so the client can decide
    to retry."""
    deadline = asyncio.get_running_loop().time() + wait
    while True:
        profile = await _read_profile(request, person_id)
        if min_version is None or (profile is not None and profile.version >= min_version):
            break
        if asyncio.get_running_loop().time() >= deadline:
            have = profile.version if profile is not None else 0
            raise Problem(
                409,
                "profile-version-not-reached",
                f"The profile is at version {have}, not yet {min_version}; retry shortly.",
                headers={"Retry-After": "1"},
                version=have,
            )
        await asyncio.sleep(READ_YOUR_WRITES_POLL)
    if profile is None:
        raise Problem(404, "profile-not-found", "No profile: the person is unknown or has not opted in to profiling (PROFILE consent).")
    return profile.response(request.headers.get("if-none-match"))


@router.get("/v1/hubs/{hub_id}/mix", tags=["profiles"], response_model=HubMixUpdated, summary="ごちゃまぜ index of a hub per month")
async def get_hub_mix(request: Request, hub_id: Annotated[str, Path(max_length=36)], principal: CurrentPrincipal) -> HubMixUpdated:
    """Aggregate only; months with fewer than 10 attendances are suppressed. A hub with nothing
    counted yet has no months (the hub is readable as soon as it is created: its id leads here)."""
    raw = await request.app.state.redis.get(hub_mix_key(hub_id))
    if raw is None:
        exchange = _upstream(request, "exchange")
        known = await exchange.call("GET", f"/v1/hubs/{hub_id}", headers=exchange.forward_headers(request))
        if known.status_code != 200:
            raise Problem(404, "hub-mix-not-found", "No such hub, or no attendance has been counted for it yet.")
        return HubMixUpdated(hub_id=hub_id, months={})
    return HubMixUpdated.model_validate_json(raw)


@router.get("/v1/alerts/lapses", tags=["profiles"], response_model=list[BelongingLapsed], summary="People whose belonging has lapsed")
async def list_lapses(request: Request, principal: CareStaff) -> list[BelongingLapsed]:
    """S3: for authorised care staff only. Ordered by days since the last participation, longest first."""
    raw = await request.app.state.redis.hgetall(LAPSE_ALERTS_KEY)
    alerts = [BelongingLapsed.model_validate_json(value) for value in raw.values()]
    return sorted(alerts, key=lambda a: (-a.days_since, a.person_id))


async def _read_profile(request: Request, person_id: str) -> Rendered | None:
    """The person's profile as rendered from the read model (readcache.py), or None."""
    key = profile_key(person_id)
    prefetched: dict[str, bytes | None] = getattr(request.state, "prefetched", {})
    # Read with the rate-limit token (auth.PREFETCH) on the first look; again when waiting.
    raw = prefetched.pop(key) if key in prefetched else await request.app.state.redis.get(key)
    cache: ReadCache = request.app.state.read_cache
    if raw is None:
        cache.drop(key)  # erased (consent withdrawn): nothing of it stays in the gateway
        return None
    return cache.render(key, raw, PersonProfileUpdated)


@router.get("/asyncapi.json", tags=["contracts"], summary="AsyncAPI 3.0 document of the platform's events")
async def asyncapi() -> JSONResponse:
    document = published(ASYNCAPI_FILE)
    if document is None:
        raise Problem(500, "contract-missing", "The AsyncAPI document is not packaged.")
    return JSONResponse(document)


class JsonSchemaResponse(JSONResponse):
    media_type = "application/schema+json"


@router.get(
    "/v1/schemas/{event_type}",
    tags=["contracts"],
    summary="JSON Schema of one event type",
    response_class=JsonSchemaResponse,
    responses={200: {"description": "The event type's JSON Schema (draft 2020-12)", "content": {"application/schema+json": {"schema": {"type": "object"}}}}},
)
async def event_schema(event_type: Annotated[str, Path(max_length=200, pattern=r"^[a-z0-9.\-]+$")]) -> JSONResponse:
    document = published(schema_filename(event_type))
    if document is None:
        raise Problem(404, "schema-not-found", f"No published schema for {event_type}")
    return JsonSchemaResponse(document)


@router.api_route("/v1/{path:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"], include_in_schema=False)
@fast_path(DirectForward())  # every request of this route, without the framework: fastpath/forward.py
async def forward(request: Request, path: str, principal: CurrentPrincipal) -> Response:
    """Every other /v1 path goes to the service that owns its prefix (see ROUTE_TABLE);
    the pillar services' own OpenAPI documents are merged into the gateway's."""
    full_path = f"/v1/{path}"
    service = owner_of(full_path)
    if service is None:
        # A path of the gateway's own routes, with a method none of them declares.
        allow = allowed_methods(request.app.router.routes, full_path, besides=(forward, options))
        if allow:
            raise method_not_allowed(allow, request.method)
        raise Problem(404, "not-found", f"No route for {full_path}")
    return await _upstream(request, service).forward(request, full_path)


# OPTIONS is no method of the access matrix: answered before it, from the merged document.
methods_router = APIRouter()


@methods_router.options("/v1/{path:path}", include_in_schema=False)
async def options(request: Request, path: str) -> Response:
    """405 with `Allow` naming exactly the methods the OpenAPI document lists for the path (the
    services' operations included), so a client's discovery agrees with the document."""
    allowed = documented_methods(request.app.openapi(), f"/v1/{path}")
    if not allowed:
        raise Problem(404, "not-found", f"No route for /v1/{path}")
    raise method_not_allowed(allowed, request.method)


def documented_methods(document: dict[str, Any], path: str) -> list[str]:
    """The methods `document` lists for the path template `path` matches (a literal path first)."""
    paths: dict[str, dict[str, Any]] = document.get("paths", {})
    template = path if path in paths else next((t for t in paths if re.fullmatch(re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(t)), path)), None)
    return sorted(method.upper() for method in paths.get(template or "", {}) if method.upper() in {"GET", "PUT", "POST", "PATCH", "DELETE"})


__all__ = ["ROUTE_TABLE", "SERVICES", "methods_router", "owner_of", "router"]
