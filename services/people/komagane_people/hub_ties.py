"""Which people a hub knows: the rule behind the staff search (docs/console.md, "Finding a person").

A person is *registered at a hub* when staff of that hub registered them (the `hub` claim of the
registering token), or once they visited the hub, or reserved or attended one of its
sessions — what the exchange service publishes on its topic. Hub staff find
only those people: a name typed at GOTCHA!WELLNESS does not search the whole town.

Only the person id and the hub id are taken from the exchange topic, and only from S1 events:
an S2 event (attendance at a support-specific activity) says something about the person's care
needs, which this service has no need to learn. Nothing here is published.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import cast

from sqlalchemy import DateTime, bindparam, text
from sqlmodel import Field, Session, SQLModel

from komagane_contracts.envelope import CloudEvent
from komagane_contracts.events.exchange import HubVisited, ParticipantAttended, SessionReserved
from komagane_contracts.vocabulary import Sensitivity
from komagane_kit.clock import now


class PersonHub(SQLModel, table=True):
    __tablename__ = "person_hub"

    person_id: str = Field(primary_key=True, max_length=36)
    hub_id: str = Field(primary_key=True, max_length=36, index=True)
    since: datetime = Field(default_factory=now, description="When the hub first knew the person")
    how: str = Field(max_length=20, description="REGISTERED (by the hub's staff) or TOOK_PART (visit, reservation, attendance)")


# One statement per tie, no ORM reads: every hub visit in the town comes through here, and most
# are of a tie already there (kept as it was). A person not (or no longer) registered here gets
# none: an erased person stays forgotten. (SQLite and PostgreSQL both take this form.)
# (The casts give PostgreSQL one type for a parameter used twice.)
_TIE = text(
    "INSERT INTO person_hub (person_id, hub_id, since, how)"
    " SELECT CAST(:person_id AS VARCHAR(36)), CAST(:hub_id AS VARCHAR(36)), :since, CAST(:how AS VARCHAR(20))"
    " WHERE EXISTS (SELECT 1 FROM person WHERE id = CAST(:person_id AS VARCHAR(36)))"
    " ON CONFLICT (person_id, hub_id) DO NOTHING"
).bindparams(bindparam("since", type_=DateTime()))

_TAKING_PART = frozenset(t.event_type for t in (HubVisited, SessionReserved, ParticipantAttended))


def tie(session: Session, person_id: str, hubs: Iterable[str], how: str, at: datetime | None = None) -> None:
    """Note that these hubs know the person (a tie already there is kept as it was). A person
    added in this transaction must have been flushed, to be found."""
    rows = [{"person_id": person_id, "hub_id": hub_id, "since": at or now(), "how": how} for hub_id in hubs if hub_id]
    if rows:
        session.execute(_TIE, rows)


def ties_from_exchange(event: CloudEvent, session: Session) -> None:
    """Handler of the exchange topic: a person taking part at a hub is then known there."""
    if event.sensitivity != Sensitivity.S1 or event.type not in _TAKING_PART:
        return  # (decided on the headers: the other events' bodies are never parsed here)
    body = cast(HubVisited | SessionReserved | ParticipantAttended, event.body())
    hub_id = body.hub_id
    if hub_id:
        tie(session, body.person_id, [hub_id], "TOOK_PART", event.time)
