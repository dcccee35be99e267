"""The member number on a person's card: short, stable, unique, given at registration.

A counter row rather than MAX()+1: the UPDATE takes the row's write lock (PostgreSQL) or the
database's (SQLite), so two registrations at once queue there and never get the same number;
the unique index on `person.member_number` guards it as well. Numbers are never reused, not
even after an erasure, so a card found in a drawer never points at someone else.
"""

from __future__ import annotations

from sqlalchemy import update
from sqlmodel import Field, Session, SQLModel


class MemberCounter(SQLModel, table=True):
    __tablename__ = "member_counter"

    id: int = Field(default=1, primary_key=True)
    last: int = Field(default=0, description="The last member number given")


def next_member_number(session: Session) -> int:
    table = MemberCounter.__table__  # type: ignore[attr-defined]
    given = session.execute(update(table).where(table.c.id == 1).values(last=table.c.last + 1).returning(table.c.last)).scalar_one_or_none()
    if given is None:  # (the migration creates the row; a database made without it starts here)
        session.add(MemberCounter(id=1, last=1))
        session.flush()
        return 1
    return int(given)
