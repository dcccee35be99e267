"""Who is calling, and may they: bearer JWT authentication and the access matrix (access.py).

`authorize` runs for every route of the gateway's router (a router dependency), so a route
cannot forget it; routes that need the caller depend on `CurrentPrincipal` (the same,
cached per request). No or an invalid token → 401 problem+json with `WWW-Authenticate`;
a role the route class does not allow, or a resident acting for someone else → 403.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request

from komagane_contracts.readmodels import profile_key
from komagane_gateway.access import ACCESS, WRITE, RouteClass, route_class
from komagane_gateway.ratelimit import STATE_KEY, Decision, RateLimiter
from komagane_gateway.staff_rules import apply_staff_rules
from komagane_gateway.tokens import AuthenticationError, Principal, TokenVerifier
from komagane_kit.errors import Problem

ANONYMOUS = Principal(subject="anonymous", roles=frozenset())
REALM = 'Bearer realm="komagane"'


def _unauthorized(detail: str, *, error: str | None = None) -> Problem:
    description = detail.replace('"', "'")
    challenge = REALM if error is None else f'{REALM}, error="{error}", error_description="{description}"'
    return Problem(401, "unauthorized", detail, headers={"WWW-Authenticate": challenge})


async def authenticate(request: Request) -> Principal:
    header = request.headers.get("authorization")
    if not header:
        raise _unauthorized("A bearer token is required (Authorization: Bearer <token>).")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise _unauthorized("Only bearer tokens are accepted.", error="invalid_request")
    verifier: TokenVerifier = request.app.state.token_verifier
    try:
        return await verifier.verify(token.strip())
    except AuthenticationError as exc:
        raise _unauthorized(f"The bearer token is not valid: {exc}", error="invalid_token") from exc


async def _body_person_id(request: Request) -> str | None:
    if "json" not in request.headers.get("content-type", ""):
        return None
    try:
        body = json.loads(await request.body() or b"null")
    except ValueError:
        return None
    value = body.get("person_id") if isinstance(body, dict) else None
    return str(value) if value is not None else None


# Read-model keys a route class reads first thing, fetched with the rate-limit token (one Redis
# round trip instead of two for the hottest read); the route takes them from request.state.
PREFETCH: dict[str, Callable[[re.Match[str]], str]] = {"profile": lambda match: profile_key(match["person"])}


async def _rate_limit(request: Request, client: str, route_class_name: str, match: re.Match[str] | None = None) -> None:
    limiter: RateLimiter | None = getattr(request.app.state, "rate_limiter", None)
    if limiter is None:
        return
    decision: Decision | None = getattr(request.state, STATE_KEY, None)  # taken by the profile read's fast path (fastpath/profile_read.py)
    if decision is None:
        decision = await _take(request, limiter, client, route_class_name, match)
    if decision is None:
        return
    request.state.ratelimit = decision  # ratelimit.RateLimitHeaders puts it on the answer
    request.state.prefetched = dict(decision.prefetched)
    if not decision.allowed:
        raise Problem(
            429,
            "rate-limited",
            f"Too many {route_class_name} requests; try again in {decision.retry_after_seconds} s.",
            headers={"Retry-After": str(decision.retry_after_seconds), **decision.headers()},
            route_class=route_class_name,
        )


async def _take(request: Request, limiter: RateLimiter, client: str, route_class_name: str, match: re.Match[str] | None) -> Decision | None:
    key_of = PREFETCH.get(route_class_name) if match is not None and request.method == "GET" else None
    prefetch = (key_of(match),) if key_of is not None and match is not None else ()
    return await limiter.take(client, route_class_name, write=request.method in WRITE, prefetch=prefetch)


async def refuse_nul(request: Request) -> None:
    """NUL characters are never valid input (PostgreSQL text cannot hold them): 422 at the edge."""
    if "\x00" in request.url.path or "%00" in request.url.query or "\x00" in request.url.query:
        raise Problem(422, "invalid-characters", "The path or query contains a NUL character.", errors=[{"field": "query", "message": "NUL character"}])
    if request.method in WRITE:
        body = await request.body()
        if b"\x00" in body or b"\\u0000" in body:
            raise Problem(422, "invalid-characters", "The request body contains a NUL character.", errors=[{"field": "body", "message": "NUL character"}])


_PUBLIC = tuple(rc for rc in ACCESS if rc.public)


def refuse_other_methods_on_public_paths(method: str, path: str) -> None:
    """A method a public path does not have is 405 for anyone, not 401 for the anonymous."""
    for rc in _PUBLIC:
        if rc.regex.fullmatch(path):
            allowed = sorted(rc.methods - {"HEAD"})
            raise Problem(405, "method-not-allowed", f"{method} is not allowed here.", headers={"Allow": ", ".join(allowed)})


def access_refusal(principal: Principal, rc: RouteClass, person: str | None) -> Problem | None:
    """Why the access matrix refuses `principal` a request of class `rc` about `person`, or None."""
    allowed = [role for role in principal.roles if rc.allows(role)]
    if not allowed:
        return Problem(403, "forbidden", f"The role {principal.role} may not use {rc.name} routes.", route_class=rc.name)
    if rc.own and allowed == ["resident"] and person != principal.subject:
        return Problem(403, "forbidden", "A resident may act only on their own data.", route_class=rc.name)
    return None


async def authorize(request: Request) -> Principal:
    """Authenticate the caller (unless the route class is public), apply the access matrix and
    the caller's rate limit for the route class."""
    await refuse_nul(request)
    rc, match = route_class(request.method, request.url.path)
    if not rc.public:
        refuse_other_methods_on_public_paths(request.method, request.url.path)
    if rc.public:
        await _rate_limit(request, f"ip:{request.client.host if request.client else 'unknown'}", rc.name)
        return ANONYMOUS
    principal = await authenticate(request)
    person = match.groupdict().get("person") or await _body_person_id(request) if rc.own else None
    refusal = access_refusal(principal, rc, person)
    if refusal is not None:
        raise refusal
    # Only now, allowed: the rate limit (and any prefetch of what the caller may read).
    await _rate_limit(request, f"sub:{principal.subject}", rc.name, match)
    request.state.principal = principal
    await apply_staff_rules(request, principal, rc, person)
    return principal


CurrentPrincipal = Annotated[Principal, Depends(authorize)]


def require_role(*roles: str) -> object:
    """A dependency that lets only principals holding one of `roles` (or admin) through."""

    async def check(principal: CurrentPrincipal) -> Principal:
        if not principal.roles & {*roles, "admin"}:
            raise Problem(403, "forbidden", f"This needs one of the roles: {', '.join(roles)}")
        return principal

    return Depends(check)


CareStaff = Annotated[Principal, require_role("care")]

__all__ = ["CareStaff", "CurrentPrincipal", "Principal", "authorize", "require_role"]
