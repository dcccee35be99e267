"""What a service holds about one person, for the disclosure export (開示, APPI art. 33).

Every service answers one internal route, `GET /internal/v1/people/{person_id}/held`, with all
it keeps about the person, section by section (`HeldData`). The gateway composes the export from
these (`GET /v1/people/{person_id}/export`); it never routes a caller to `/internal/…`, and the
services leave the route out of their OpenAPI documents, so it is not part of the public API.

A service declares what it holds in one place, a list of `Holding`s (usually `rows_of(Model)`:
the rows of a table whose `person_id` is the person), and may record the disclosure in its own
audit log (`record`, called in the read's transaction, which commits before the answer) or
refuse it (`permit`, e.g. health data to roles that may not read S2 data).

The gateway has already applied the access matrix; the route checks again what it can see in
the internal token: the person themself, or staff, care and admin roles — and for anyone but
the person, the reason in `X-Access-Reason`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import unquote

from fastapi import APIRouter, Path, Request
from pydantic import BaseModel, Field
from sqlmodel import Session, SQLModel, col, select

from komagane_kit.errors import Problem
from komagane_kit.inputs import SafeStr
from komagane_kit.internal_auth import Identity
from komagane_kit.service import DbSession

HELD_PATH = "/internal/v1/people/{person_id}/held"
REASON_HEADER = "X-Access-Reason"
REASON_MIN, REASON_MAX = 3, 500
DISCLOSING_ROLES = frozenset({"staff", "care", "admin"})

Rows = Callable[[Session, str], Sequence[SQLModel]]


class HeldData(BaseModel):
    service: str
    person_id: str
    sections: dict[str, list[dict[str, Any]]] = Field(description="Each kind of record the service keeps about the person, every row of it")


@dataclass(frozen=True)
class Holding:
    """One section of what a service holds: its name and how to read the person's rows."""

    name: str
    rows: Rows


@dataclass(frozen=True)
class Requester:
    """Who asked about whose data (a disclosure, a correction), and why (the reason they gave)."""

    person_id: str
    actor: str
    roles: frozenset[str]
    reason: str | None

    @property
    def by_the_person(self) -> bool:
        return self.actor == self.person_id

    @property
    def role(self) -> str:
        return " ".join(sorted(self.roles)) or "none"


def rows_of(model: type[SQLModel], column: str = "person_id") -> Rows:
    """The rows of `model` whose `column` is the person, in primary-key order."""
    key = [col(c) for c in model.__table__.primary_key.columns]  # type: ignore[attr-defined]

    def read(session: Session, person_id: str) -> Sequence[SQLModel]:
        return session.exec(select(model).where(col(getattr(model, column)) == person_id).order_by(*key)).all()

    return read


def rows_through(model: type[SQLModel], column: str, parent: type[SQLModel], parent_column: str = "person_id") -> Rows:
    """The rows of `model` whose `column` names a `parent` row of the person (e.g. the shifts of
    the person's engagements), in primary-key order."""
    key = [col(c) for c in model.__table__.primary_key.columns]  # type: ignore[attr-defined]
    parent_key = next(iter(parent.__table__.primary_key.columns))  # type: ignore[attr-defined]

    def read(session: Session, person_id: str) -> Sequence[SQLModel]:
        owned = select(parent_key).where(col(getattr(parent, parent_column)) == person_id)
        return session.exec(select(model).where(col(getattr(model, column)).in_(owned)).order_by(*key)).all()

    return read


def requester_of(request: Request, person_id: str) -> Requester:
    """The verified caller (internal token) and the reason they gave in `X-Access-Reason`."""
    identity: Identity | None = getattr(request.state, "identity", None)
    if identity is None:
        raise Problem(401, "internal-token-required", "This route is for the gateway only.")
    header = request.headers.get(REASON_HEADER)
    reason = unquote(header).strip() if header else None
    return Requester(person_id=person_id, actor=identity.subject, roles=identity.roles, reason=reason or None)


def disclosure_of(request: Request, person_id: str) -> Requester:
    """The caller of a disclosure; refuses who may not ask (see the module docstring)."""
    disclosure = requester_of(request, person_id)
    reason = disclosure.reason
    if disclosure.by_the_person:
        return disclosure
    if not disclosure.roles & DISCLOSING_ROLES:
        raise Problem(403, "forbidden", "Only the person themself or staff may see what is held about a person.")
    if reason is None or not REASON_MIN <= len(reason) <= REASON_MAX:
        raise Problem(
            422,
            "reason-required",
            f"Disclosing a person's data to someone else needs a reason in {REASON_HEADER} ({REASON_MIN}–{REASON_MAX} characters).",
            errors=[{"field": REASON_HEADER, "message": f"required, {REASON_MIN}–{REASON_MAX} characters"}],
        )
    return disclosure


def held_router(
    service: str,
    holdings: Sequence[Holding],
    *,
    exists: Callable[[Session, str], bool] | None = None,
    permit: Callable[[Requester], None] | None = None,
    record: Callable[[Session, Requester, HeldData], None] | None = None,
) -> APIRouter:
    """The internal route that answers everything `service` holds about a person.

    `exists`: without it an unknown person simply has empty sections (a pillar service cannot
    tell); with it, 404. `permit` raises a Problem to refuse a caller; `record` adds an audit
    entry to the read's transaction.
    """
    router = APIRouter(include_in_schema=False)

    @router.get(HELD_PATH, response_model=HeldData)
    def held(request: Request, person_id: Annotated[SafeStr, Path(min_length=1, max_length=36)], session: DbSession) -> HeldData:
        disclosure = disclosure_of(request, person_id)
        if permit is not None:
            permit(disclosure)
        if exists is not None and not exists(session, person_id):
            raise Problem(404, "person-not-found", f"No person with id {person_id}")
        sections = {h.name: [row.model_dump(mode="json") for row in h.rows(session, person_id)] for h in holdings}
        data = HeldData(service=service, person_id=person_id, sections=sections)
        if record is not None:
            record(session, disclosure, data)
            session.commit()  # the audit entry is stored before anyone sees the data
        return data

    return router


__all__ = ["HELD_PATH", "HeldData", "Holding", "Requester", "disclosure_of", "held_router", "requester_of", "rows_of", "rows_through"]
