"""The replicas the feed projector reads for each event, as one transaction sees them.

Projecting a person-level event asks three replicas: the person's PARTNER consent, their age
band and the hub's name. Asked of the session one event at a time, each question was a query,
and each query first flushed the outputs of the event before (autoflush): a fetch of a hundred
visits made some four hundred round trips. `ReplicaView` answers from what it loaded for every
person and hub of the consumer's batch (`komagane_kit.consumer.BATCH_EVENTS`) in one query per
replica, and the projector tells it each change it makes to a replica, so within the
transaction it is exactly what the database holds. Anything not loaded (a handler run outside a
batch) is read the ordinary way, once.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlmodel import Session, col, select

from komagane_contracts.envelope import CloudEvent
from komagane_kit.consumer import BATCH_EVENTS
from komagane_partners.models import HubName, PartnerConsent, PartnerPerson

VIEW_KEY = "partners.replica_view"


def replica_view(session: Session) -> ReplicaView:
    """The transaction's view, made (and the batch's replicas loaded) on first use."""
    view: ReplicaView | None = session.info.get(VIEW_KEY)
    if view is None:
        view = session.info[VIEW_KEY] = ReplicaView(session, session.info.get(BATCH_EVENTS, ()))
    return view


def view_if_made(session: Session) -> ReplicaView | None:
    """The transaction's view if something has read through it yet. A view made later loads
    what the database then holds (its queries flush the session first), changes included."""
    view: ReplicaView | None = session.info.get(VIEW_KEY)
    return view


def _ids(events: Iterable[CloudEvent], field: str) -> set[str]:
    return {value for event in events if isinstance(value := event.data.get(field), str)}


class ReplicaView:
    def __init__(self, session: Session, batch: Iterable[CloudEvent]) -> None:
        self.session = session
        events = list(batch)
        # Loaded for these people and hubs: an absent row is an answer too (no consent, no hub).
        self._people = _ids(events, "person_id")
        self._hubs = _ids(events, "hub_id")
        self._consents: set[tuple[str, str]] = set()
        self._ages: dict[str, str | None] = {}
        self._hub_names: dict[str, str] = {}
        if self._people:
            self._consents = {(c.person_id, c.partner_id) for c in session.exec(select(PartnerConsent).where(col(PartnerConsent.person_id).in_(self._people)))}
            self._ages = dict.fromkeys(self._people)
            self._ages |= {p.person_id: p.age_decade for p in session.exec(select(PartnerPerson).where(col(PartnerPerson.person_id).in_(self._people)))}
        if self._hubs:
            self._hub_names = {h.hub_id: h.name_ja for h in session.exec(select(HubName).where(col(HubName.hub_id).in_(self._hubs)))}

    def consented(self, person_id: str, partner_id: str) -> bool:
        if person_id not in self._people:
            self._people.add(person_id)
            self._consents |= {(c.person_id, c.partner_id) for c in self.session.exec(select(PartnerConsent).where(PartnerConsent.person_id == person_id))}
        return (person_id, partner_id) in self._consents

    def age_decade(self, person_id: str) -> str | None:
        if person_id not in self._ages:
            person = self.session.get(PartnerPerson, person_id)
            self._ages[person_id] = person.age_decade if person else None
        return self._ages[person_id]

    def hub_name(self, hub_id: str) -> str | None:
        if hub_id not in self._hubs:
            self._hubs.add(hub_id)
            hub = self.session.get(HubName, hub_id)
            if hub is not None:
                self._hub_names[hub_id] = hub.name_ja
        return self._hub_names.get(hub_id)

    # What the projector changes in the replicas, as it changes it.

    def person_registered(self, person_id: str, age_decade: str | None) -> None:
        self._ages[person_id] = age_decade

    def hub_registered(self, hub_id: str, name_ja: str) -> None:
        self._hubs.add(hub_id)
        self._hub_names[hub_id] = name_ja

    def consent_granted(self, person_id: str, partner_id: str) -> None:
        self.consented(person_id, partner_id)  # (the person's other consents loaded first)
        self._consents.add((person_id, partner_id))

    def consent_withdrawn(self, person_id: str, partner_id: str) -> None:
        self.consented(person_id, partner_id)
        self._consents.discard((person_id, partner_id))
