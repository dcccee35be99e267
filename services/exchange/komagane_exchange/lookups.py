"""Lookups of the exchange service: the names of its entities for problem types; the rest is
the kit's (komagane_kit.lookups)."""

from __future__ import annotations

from fastapi import Request

from komagane_exchange.models import Activity, Attendance, Group, Hub, VolunteerShift
from komagane_exchange.models import Session as ExchangeSession
from komagane_kit.errors import Problem
from komagane_kit.internal_auth import Identity
from komagane_kit.lookups import Lookups, dump_list, load_list, publish, require_person, require_registered

# Who may enter the past (a paper register typed in later): staff and admin, never residents.
STAFF_ROLES = frozenset({"staff", "admin"})

# Hubs are never deleted (nothing in this service removes one, and visits, activities and
# headcounts refer to them), so a hub once found is remembered.
_lookups = Lookups(
    {Hub: "hub", Activity: "activity", ExchangeSession: "session", Group: "group", VolunteerShift: "volunteer-shift", Attendance: "attendance"},
    permanent=(Hub,),
)
exists_or_404 = _lookups.exists_or_404
get_or_404 = _lookups.get_or_404
get_or_422 = _lookups.get_or_422
locked = _lookups.locked


def require_staff(request: Request, field: str) -> None:
    identity: Identity | None = getattr(request.state, "identity", None)
    if identity is None or not identity.roles & STAFF_ROLES:
        raise Problem(
            403, "staff-only", f"Only staff may use {field}: it records what happened in the past.", errors=[{"field": field, "message": "staff only"}]
        )


__all__ = [
    "dump_list",
    "exists_or_404",
    "get_or_404",
    "get_or_422",
    "load_list",
    "locked",
    "publish",
    "require_person",
    "require_registered",
    "require_staff",
]
