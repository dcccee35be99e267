"""Who is calling, and may they: bearer JWT authentication and the access matrix (access.py).

`authorize` runs for every route of the gateway's router (a router dependency), so a route
cannot forget it; routes that need the caller depend on `CurrentPrincipal` (the same,
cached per request). No or an invalid token → 401 problem+json with `WWW-Authenticate`;
a role the route class does not allow, or a resident acting for someone else → 403.
"""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import Depends, Request

from komagane_gateway.access import route_class
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


async def authorize(request: Request) -> Principal:
    """Authenticate the caller (unless the route class is public) and apply the access matrix."""
    rc, match = route_class(request.method, request.url.path)
    if rc.public:
        return ANONYMOUS
    principal = await authenticate(request)
    allowed = [role for role in principal.roles if rc.allows(role)]
    if not allowed:
        raise Problem(403, "forbidden", f"The role {principal.role} may not use {rc.name} routes.", route_class=rc.name)
    if rc.own and allowed == ["resident"]:
        person = match.groupdict().get("person") or await _body_person_id(request)
        if person != principal.subject:
            raise Problem(403, "forbidden", "A resident may act only on their own data.", route_class=rc.name)
    request.state.principal = principal
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
