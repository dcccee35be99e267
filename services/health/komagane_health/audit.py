"""The append-only audit log of person-level reads of S2 data (docs/architecture.md, Consent and sensitivity).

Each such read adds an entry in the same transaction as the read: who, in which role, for which
purpose, the reason they gave, what was read, and when. No API edits or deletes entries (only
`GET /v1/health/audit` exists), and the database refuses UPDATE and DELETE on the table too
(triggers created by migration 0001).

Authentication seam: bearer tokens are not built yet (a later gateway issue). Until then the
caller says who they are with `X-Actor` and `X-Actor-Role` headers — or the `actor` and
`actor_role` query parameters, because today's gateway forwards query strings but not those
headers. When the gateway authenticates, it will pass the verified principal in these headers
and stop forwarding the query parameters; nothing else here changes. `reason` is always a
required query parameter of an S2 read.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Header, Query
from sqlalchemy import BigInteger, Column, Integer
from sqlmodel import Field, Session, SQLModel

from komagane_kit.clock import now
from komagane_kit.errors import Problem
from komagane_kit.inputs import SafeStr

# Roles that may read a person's S2 data, and those that may list the audit log.
S2_READER_ROLES = frozenset({"care", "admin", "physiotherapist", "health-staff"})
AUDIT_READER_ROLES = frozenset({"care", "admin"})


class AuditEntry(SQLModel, table=True):
    __tablename__ = "audit_entry"
    id: int | None = Field(default=None, sa_column=Column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True))
    at: datetime = Field(default_factory=now, index=True)
    actor: str = Field(max_length=100)
    actor_role: str = Field(max_length=50)
    purpose: str = Field(max_length=100)
    reason: str = Field(max_length=500)
    person_id: str = Field(max_length=36, index=True)
    resource: str = Field(max_length=50, description="What was read: measurements, daily-activity, …")
    records: int = Field(description="How many records the read returned")


class AuditEntryPublic(SQLModel):
    id: int
    at: datetime
    actor: str
    actor_role: str
    purpose: str
    reason: str
    person_id: str
    resource: str
    records: int


@dataclass(frozen=True)
class Caller:
    actor: str
    role: str


def _caller(
    x_actor: Annotated[SafeStr | None, Header(max_length=100)] = None,
    x_actor_role: Annotated[SafeStr | None, Header(max_length=50)] = None,
    actor: Annotated[SafeStr | None, Query(max_length=100, description="Until authentication: who is reading (else the X-Actor header)")] = None,
    actor_role: Annotated[SafeStr | None, Query(max_length=50, description="Until authentication: the reader's role (else X-Actor-Role)")] = None,
) -> Caller:
    who = x_actor or actor
    role = x_actor_role or actor_role
    if not who or not role:
        raise Problem(
            401,
            "caller-unknown",
            "Say who is reading: X-Actor and X-Actor-Role headers.",
            errors=[{"field": "X-Actor" if not who else "X-Actor-Role", "message": "required"}],
        )
    return Caller(actor=who, role=role)


CurrentCaller = Annotated[Caller, Depends(_caller)]


@dataclass(frozen=True)
class S2Read:
    """A permitted S2 read: the caller and the reason they gave."""

    caller: Caller
    reason: str
    purpose: str

    def record(self, session: Session, *, person_id: str, resource: str, records: int) -> None:
        """Add the audit entry to the read's transaction; the route commits before answering."""
        session.add(
            AuditEntry(
                actor=self.caller.actor,
                actor_role=self.caller.role,
                purpose=self.purpose,
                reason=self.reason,
                person_id=person_id,
                resource=resource,
                records=records,
            )
        )


def _s2_read(
    caller: CurrentCaller,
    reason: Annotated[SafeStr, Query(min_length=3, max_length=500, description="Why this person's health data is being read (recorded in the audit log)")],
    purpose: Annotated[SafeStr, Query(min_length=1, max_length=100, description="Purpose of use, e.g. HEALTH_GUIDANCE, CARE_PLANNING")] = "HEALTH_GUIDANCE",
) -> S2Read:
    if caller.role not in S2_READER_ROLES:
        raise Problem(
            403, "role-not-permitted", f"The role {caller.role!r} may not read health data.", errors=[{"field": "X-Actor-Role", "message": "not permitted"}]
        )
    return S2Read(caller=caller, reason=reason.strip(), purpose=purpose)


PermittedS2Read = Annotated[S2Read, Depends(_s2_read)]


def require_audit_reader(caller: CurrentCaller) -> Caller:
    if caller.role not in AUDIT_READER_ROLES:
        raise Problem(
            403, "role-not-permitted", "Only care and admin roles may list the audit log.", errors=[{"field": "X-Actor-Role", "message": "not permitted"}]
        )
    return caller


AuditReader = Annotated[Caller, Depends(require_audit_reader)]
