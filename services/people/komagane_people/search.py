"""Staff search: find a person at the hub by name, kana or the member number on their card.

Restricted to the people the staff member's hubs know (hub_ties.py), answered with what hub staff
need to recognise someone (name, kana, member number, age band, language — never the contact or
the birth year), and audited twice in the same transaction: one `people_search` row per search
(who, which hubs, the folded query, how many found) and one entry in each found person's rights
log, so a person's export shows who found them, as it shows who read their data.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request
from sqlalchemy import BigInteger, Column, Integer, case, or_
from sqlmodel import Field, SQLModel, col, select

from komagane_contracts.vocabulary import age_band
from komagane_kit.clock import now, tokyo_date
from komagane_kit.disclosure import requester_of
from komagane_kit.errors import Problem
from komagane_kit.inputs import SafeStr
from komagane_kit.internal_auth import Identity
from komagane_kit.service import DbSession
from komagane_people.hub_ties import PersonHub
from komagane_people.models import Person
from komagane_people.rights_log import record_request
from komagane_people.search_keys import fold, member_number_of

router = APIRouter(prefix="/v1/people", tags=["people"])
SEARCHING_ROLES = frozenset({"staff", "admin"})
MAX_RESULTS = 50


class PeopleSearch(SQLModel, table=True):
    """The search audit log: appended by every search, never edited by a route."""

    __tablename__ = "people_search"

    id: int | None = Field(default=None, sa_column=Column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True))
    at: datetime = Field(default_factory=now)
    actor: str = Field(max_length=100)
    actor_role: str = Field(max_length=100)
    hubs: str = Field(max_length=500, description="The hubs searched (space-separated; * for all, admin only)")
    query: str = Field(max_length=100, description="The query as folded for the search")
    reason: str | None = Field(default=None, max_length=500)
    found: int


class PersonFound(SQLModel):
    id: str
    display_name: str
    name_kana: str | None
    member_number: int | None
    age_band: str
    preferred_language: str


class PeopleFound(SQLModel):
    items: list[PersonFound]
    hubs: list[str] = Field(description="The hubs whose people were searched (empty: all, admin only)")


def _hubs_searched(identity: Identity, hub_id: str | None) -> list[str] | None:
    """The hubs a caller may search (None: every person, admin only)."""
    if not identity.roles & SEARCHING_ROLES:
        raise Problem(403, "forbidden", "Only hub staff may search people.")
    admin = "admin" in identity.roles
    own = sorted(set((identity.hub_id or "").split()))
    if hub_id:
        if not admin and hub_id not in own:
            raise Problem(403, "wrong-hub", f"Staff may search only the people of their own hubs ({', '.join(own) or 'none in the token'}).", hubs=[hub_id])
        return [hub_id]
    if admin:
        return None
    if not own:
        raise Problem(403, "wrong-hub", "This staff token names no hub: there is no one to search.")
    return own


@router.get("/search", response_model=PeopleFound, summary="Find a person at my hub by name, kana or member number (staff; audited)")
def search_people(
    request: Request,
    session: DbSession,
    q: Annotated[
        SafeStr, Query(min_length=1, max_length=100, description="Part of the name or its kana (hiragana or katakana, any width), or a member number")
    ],
    hub_id: Annotated[SafeStr | None, Query(max_length=36, description="One of the caller's hubs (default: all of them)")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_RESULTS)] = 20,
) -> PeopleFound:
    """Prefix and contained matches of the folded name or kana (search_keys.py: `やまだ` finds
    `ヤマダ`), prefix matches first; a query of digits is a member number (exact). Only people
    registered at the caller's hubs (hub_ties.py)."""
    identity: Identity | None = getattr(request.state, "identity", None)
    if identity is None:
        raise Problem(401, "internal-token-required", "This route is for the gateway only.")
    hubs = _hubs_searched(identity, hub_id)
    key = fold(q)
    if not key:
        raise Problem(
            422,
            "validation-error",
            "The query has no letters or digits.",
            title="Validation failed",
            errors=[{"field": "q", "message": "empty once spaces are removed", "type": "value_error"}],
        )
    query = select(Person)
    if hubs is not None:
        query = query.where(col(Person.id).in_(select(PersonHub.person_id).where(col(PersonHub.hub_id).in_(hubs))))
    number = member_number_of(q)
    if number is not None:
        query = query.where(Person.member_number == number)
    else:
        name, kana = col(Person.name_key), col(Person.kana_key)
        query = query.where(or_(name.contains(key, autoescape=True), kana.contains(key, autoescape=True)))
        first = case((or_(name.startswith(key, autoescape=True), kana.startswith(key, autoescape=True)), 0), else_=1)
        query = query.order_by(first, kana, name)
    found = list(session.exec(query.order_by(col(Person.id)).limit(limit)).all())
    today = tokyo_date(now())
    requester = requester_of(request, "")
    session.add(
        PeopleSearch(
            actor=identity.subject,
            actor_role=requester.role,
            hubs=" ".join(hubs) if hubs is not None else "*",
            query=key[:100],
            reason=requester.reason,
            found=len(found),
        )
    )
    for person in found:
        record_request(session, "SEARCH", requester_of(request, person.id), f"found by a staff search at {' '.join(hubs) if hubs is not None else 'every hub'}")
    session.commit()
    return PeopleFound(
        items=[
            PersonFound(
                id=p.id,
                display_name=p.display_name,
                name_kana=p.name_kana,
                member_number=p.member_number,
                age_band=age_band(p.birth_year, today),
                preferred_language=p.preferred_language,
            )
            for p in found
        ],
        hubs=hubs or [],
    )
