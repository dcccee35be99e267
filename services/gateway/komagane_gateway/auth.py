"""Who is calling. The seam for authentication: routes depend on `current_principal` only.

Until bearer JWTs arrive (gateway issue), every caller is the local development principal.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from komagane_kit.errors import Problem


@dataclass(frozen=True)
class Principal:
    subject: str
    roles: frozenset[str]


DEVELOPMENT_PRINCIPAL = Principal(subject="local-developer", roles=frozenset({"admin"}))


async def current_principal(request: Request) -> Principal:
    return DEVELOPMENT_PRINCIPAL


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


def require_role(*roles: str) -> object:
    """A dependency that lets only principals holding one of `roles` (or admin) through."""

    async def check(principal: CurrentPrincipal) -> Principal:
        if not principal.roles & {*roles, "admin"}:
            raise Problem(403, "forbidden", f"This needs one of the roles: {', '.join(roles)}")
        return principal

    return Depends(check)


CareStaff = Annotated[Principal, require_role("care")]
