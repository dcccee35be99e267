"""The log of requests under a person's rights (requests are audited: docs/correction-and-disclosure.md).

Every correction (訂正) and every disclosure (開示) of a person's data adds an entry in the same
transaction as the request's work: who asked, in which role, why (staff must say why; the
person themself need not), and what was changed or disclosed. No route edits or deletes an
entry; the person sees their log in their own export, so they learn who looked at their data.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from sqlalchemy import BigInteger, Column, Integer
from sqlmodel import Field, Session, SQLModel

from komagane_kit.clock import now
from komagane_kit.disclosure import HeldData, Requester

# SEARCH: found by a hub staff search (search.py). CARE_READ and CARE_FOLLOW_UP: care staff read or
# wrote the lapse queue's S3 data (care.py).
RequestKind = Literal["CORRECTION", "DISCLOSURE", "SEARCH", "CARE_READ", "CARE_FOLLOW_UP"]


class RightsRequest(SQLModel, table=True):
    __tablename__ = "rights_request"

    id: int | None = Field(default=None, sa_column=Column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True))
    at: datetime = Field(default_factory=now)
    person_id: str = Field(max_length=36, index=True)
    kind: str = Field(max_length=20, description="CORRECTION, DISCLOSURE, SEARCH, CARE_READ or CARE_FOLLOW_UP")
    actor: str = Field(max_length=100, description="Who asked: the person's id, or the staff member's")
    actor_role: str = Field(max_length=100)
    reason: str | None = Field(default=None, max_length=500, description="Why, when someone else asked")
    detail: str = Field(max_length=500, description="What was changed (field names) or disclosed (sections)")


def record_request(session: Session, kind: RequestKind, disclosure: Requester, detail: str) -> None:
    session.add(
        RightsRequest(
            person_id=disclosure.person_id,
            kind=kind,
            actor=disclosure.actor,
            actor_role=disclosure.role,
            reason=disclosure.reason,
            detail=detail[:500],
        )
    )


def record_disclosure(session: Session, disclosure: Requester, data: HeldData) -> None:
    """`held_router`'s audit hook: which sections of the people service were disclosed."""
    record_request(session, "DISCLOSURE", disclosure, "people: " + ", ".join(f"{name} ({len(rows)})" for name, rows in data.sections.items()))
