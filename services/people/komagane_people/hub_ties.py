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

from sqlmodel import Field, Session, SQLModel

from komagane_contracts.envelope import CloudEvent
from komagane_contracts.events.exchange import HubVisited, ParticipantAttended, SessionReserved
from komagane_contracts.vocabulary import Sensitivity
from komagane_kit.clock import now
from komagane_people.models import Person


class PersonHub(SQLModel, table=True):
    __tablename__ = "person_hub"

    person_id: str = Field(primary_key=True, max_length=36)
    hub_id: str = Field(primary_key=True, max_length=36, index=True)
    since: datetime = Field(default_factory=now, description="When the hub first knew the person")
    how: str = Field(max_length=20, description="REGISTERED (by the hub's staff) or TOOK_PART (visit, reservation, attendance)")


def tie(session: Session, person_id: str, hubs: Iterable[str], how: str, at: datetime | None = None) -> None:
    """Note that these hubs know the person (a tie already there is kept as it was)."""
    for hub_id in hubs:
        if hub_id and session.get(PersonHub, (person_id, hub_id)) is None:
            session.add(PersonHub(person_id=person_id, hub_id=hub_id, since=at or now(), how=how))
    session.flush()


def ties_from_exchange(event: CloudEvent, session: Session) -> None:
    """Handler of the exchange topic: a person taking part at a hub is then known there."""
    if event.sensitivity != Sensitivity.S1:
        return
    body = event.body()
    hub_id = getattr(body, "hub_id", None)
    if not isinstance(body, HubVisited | SessionReserved | ParticipantAttended) or not hub_id:
        return
    if session.get(Person, body.person_id) is None:
        return  # not (or no longer) registered here: an erased person stays forgotten
    tie(session, body.person_id, [hub_id], "TOOK_PART", event.time)
