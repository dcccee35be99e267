"""The partner-feed processor: each input event becomes zero or more partner messages.

It runs as the service's consumer (at-least-once, inbox dedup, DLQ): in one transaction it keeps
its replicas (age in 10-year bands, PARTNER:<id> consents, hub names), puts the projected
messages in the outbox for `partner.<partner_id>.<feed>.v1`, and notes each delivery for the
provision records. So a message reaches a partner exactly when its delivery is recorded.

A person-level event goes to a partner only while that person's consent to the partner's
purpose is live; a withdrawal stops the flow at once and sends a deletion notice for that
pseudonym. One that comes before a consent given before it happened waits a short while for it
(consent_waits.py). Messages carry dates, never timestamps (the CloudEvents time is the day's start).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time
from typing import Any

from sqlmodel import Session, col, select

from komagane_contracts.envelope import CloudEvent
from komagane_contracts.events.base import EventModel
from komagane_contracts.events.exchange import HubRegistered
from komagane_contracts.events.people import ConsentGranted, ConsentWithdrawn, PersonErased, PersonRegistered
from komagane_contracts.registry import event_class
from komagane_contracts.vocabulary import Controller, Sensitivity
from komagane_kit.clock import TOKYO, tokyo_date
from komagane_kit.erasure import forget_person, is_erased
from komagane_kit.lookups import today
from komagane_kit.outbox import enqueue
from komagane_partners import consent_waits
from komagane_partners.catalogue import AGE_FIELD, CATALOGUE, HUB_FIELD, SENSITIVITY_RANK, Shareable
from komagane_partners.models import Agreement, Delivery, HubName, LegalBasis, PartnerConsent, PartnerPerson
from komagane_partners.pseudonyms import Pseudonymiser
from komagane_partners.replicas import ReplicaView, replica_view, view_if_made

PARTNER_SOURCE = "/komagane/partners"
PARTNER_PURPOSE = "PARTNER:"
DELETION_NOTICE = "jp.komagane.partner.deletion-notice.v1"


class FeedProjector:
    """EventConsumer handler for every input topic of the service."""

    def __init__(self, pseudonymiser: Callable[[], Pseudonymiser]) -> None:
        # Built on first use, so that importing the app needs no secret (the process checks it at start).
        self._pseudonymiser = pseudonymiser
        self._pseudonyms: Pseudonymiser | None = None

    @property
    def pseudonyms(self) -> Pseudonymiser:
        if self._pseudonyms is None:
            self._pseudonyms = self._pseudonymiser()
        return self._pseudonyms

    def __call__(self, event: CloudEvent, session: Session) -> None:
        if event_class(event.type) is None:
            return  # a type this version does not know cannot be on any agreement
        body = event.body()
        if isinstance(body, PersonErased):
            self._erased(body, session)
            return
        if isinstance(body, PersonRegistered | ConsentGranted | ConsentWithdrawn) and is_erased(session, body.person_id):
            return  # a replay of the history must not bring an erased person back
        self._replicate(body, session)
        shareable = CATALOGUE.get(event.type)
        if shareable is not None:
            self._deliver(event, body, shareable, session)

    def _replicate(self, body: EventModel, session: Session) -> None:
        """Keeps the replicas, and tells the transaction's view of them (replicas.py), if made, each change."""
        if isinstance(body, PersonRegistered):
            session.merge(PartnerPerson(person_id=body.person_id, age_decade=body.age_decade))
            if (view := view_if_made(session)) is not None:
                view.person_registered(body.person_id, body.age_decade)
        elif isinstance(body, HubRegistered):
            session.merge(HubName(hub_id=body.hub_id, name_ja=body.name_ja))
            if (view := view_if_made(session)) is not None:
                view.hub_registered(body.hub_id, body.name_ja)
        elif isinstance(body, ConsentGranted) and body.purpose.startswith(PARTNER_PURPOSE):
            partner_id = body.purpose.removeprefix(PARTNER_PURPOSE)
            session.merge(PartnerConsent(person_id=body.person_id, partner_id=partner_id, granted_at=body.granted_at))
            if (view := view_if_made(session)) is not None:
                view.consent_granted(body.person_id, partner_id)
            for held in consent_waits.release(session, body.person_id, partner_id, body.granted_at):
                self._deliver(held, held.body(), CATALOGUE[held.type], session, only_partner=partner_id)
        elif isinstance(body, ConsentWithdrawn) and body.purpose.startswith(PARTNER_PURPOSE):
            self._withdrawn(body, session)

    def _withdrawn(self, body: ConsentWithdrawn, session: Session) -> None:
        partner_id = body.purpose.removeprefix(PARTNER_PURPOSE)
        source_id = f"withdrawal/{body.person_id}/{body.withdrawn_at.isoformat()}"
        self._stop(session, body.person_id, partner_id, body.withdrawn_at, "consent-withdrawn", source_id)

    def _erased(self, body: PersonErased, session: Session) -> None:
        """Every partner the person had consented to gets a deletion notice for its pseudonym;
        then nothing of the person stays here (consents, waits, age replica, outbox links)."""
        partners = session.exec(select(PartnerConsent.partner_id).where(PartnerConsent.person_id == body.person_id)).all()
        for partner_id in sorted(partners):
            self._stop(session, body.person_id, partner_id, body.erased_at, "person-erased", f"erasure/{body.person_id}")
        forget_person(session, body.person_id, delete_from=("partner_consent", "consent_wait"), when=body.erased_at)

    def _stop(self, session: Session, person_id: str, partner_id: str, at: datetime, notice_kind: str, source_id: str) -> None:
        """The flow to one partner stops, and the partner is told to delete what it holds."""
        consent_waits.drop(session, person_id, partner_id)
        consent = session.get(PartnerConsent, (person_id, partner_id))
        if consent is None:
            return  # nothing was flowing for this person
        session.delete(consent)
        # Applied now: later events of the same transaction (the consumer handles a fetch in
        # one) must not find the consent in the session and still flow to the partner.
        session.flush()
        if (view := view_if_made(session)) is not None:
            view.consent_withdrawn(person_id, partner_id)
        on = tokyo_date(at)
        for agreement in _agreements(session, partner_id=partner_id):
            if not any(CATALOGUE[t].person_level for t in agreement.event_types):
                continue
            pseudonym = self.pseudonyms.pseudonym(partner_id, agreement.pseudonym_key_id, person_id)
            notice = {"pseudonym": pseudonym, "date": on.isoformat(), "notice": notice_kind}
            self._send(session, agreement, DELETION_NOTICE, source_id, on, notice, pseudonym, Sensitivity.S1, Controller.CITY)

    def _deliver(self, event: CloudEvent, body: EventModel, shareable: Shareable, session: Session, *, only_partner: str | None = None) -> None:
        """Project the event for every agreement covering it (or only that partner's, for an
        event released by a consent); one that lacks the person's consent waits for it."""
        on = tokyo_date(event.time)
        person_id: str | None = getattr(body, "person_id", None) if shareable.person_level else None
        waiting: set[str] = set()
        for agreement in _agreements(session, partner_id=only_partner, event_type=event.type):
            if not agreement.covers(on) or SENSITIVITY_RANK[event.sensitivity] > SENSITIVITY_RANK[agreement.max_sensitivity]:
                continue
            replicas = replica_view(session)  # (made once per transaction, on the first need)
            payload: dict[str, Any] = {"date": on.isoformat()}
            pseudonym: str | None = None
            if person_id is not None:
                if agreement.legal_basis == LegalBasis.STATISTICS:
                    continue
                if not replicas.consented(person_id, agreement.partner_id):
                    waiting.add(agreement.partner_id)
                    continue
                pseudonym = self.pseudonyms.pseudonym(agreement.partner_id, agreement.pseudonym_key_id, person_id)
                payload["pseudonym"] = pseudonym
                if AGE_FIELD in agreement.fields:
                    payload[AGE_FIELD] = replicas.age_decade(person_id)
            payload |= project(shareable, body, agreement.fields, replicas)
            self._send(session, agreement, event.type, event.id, on, payload, pseudonym, event.sensitivity, event.controller)
        if waiting and person_id is not None and only_partner is None:
            consent_waits.hold(session, event, person_id, waiting)

    def _send(
        self,
        session: Session,
        agreement: Agreement,
        event_type: str,
        source_id: str,
        on: date,
        payload: dict[str, Any],
        pseudonym: str | None,
        sensitivity: Sensitivity,
        controller: Controller,
    ) -> None:
        message = CloudEvent(
            id=self.pseudonyms.message_id(agreement.partner_id, agreement.pseudonym_key_id, agreement.feed, source_id),
            type=event_type,
            source=f"{PARTNER_SOURCE}/{agreement.partner_id}",
            time=datetime.combine(on, time(0), TOKYO),
            data=payload,
            sensitivity=sensitivity,
            controller=controller,
            subject=pseudonym,
        )
        # No trace context: a partner's copy must not point into the city's internal telemetry.
        enqueue(session, message, topic=agreement.topic, propagate_trace=False)
        session.add(Delivery(agreement_id=agreement.id, event_type=event_type, event_date=on, pseudonym_key_id=agreement.pseudonym_key_id))


AGREEMENTS_IN_FORCE = "partners.agreements_in_force"


def _agreements(session: Session, *, partner_id: str | None = None, event_type: str | None = None) -> list[Agreement]:
    """Agreements still in force today, optionally of one partner or covering one event type.

    Read once per transaction (the consumer handles a fetch of events in one): agreements are
    few, and the events of one transaction are projected under the same ones.
    """
    in_force: list[Agreement] | None = session.info.get(AGREEMENTS_IN_FORCE)
    if in_force is None:
        in_force = session.info[AGREEMENTS_IN_FORCE] = list(session.exec(select(Agreement).where(col(Agreement.ends_on) >= today())).all())
    return [a for a in in_force if (partner_id is None or a.partner_id == partner_id) and (event_type is None or event_type in a.event_types)]


def project(shareable: Shareable, body: EventModel, fields: list[str], replicas: ReplicaView) -> dict[str, Any]:
    """The agreed fields of one event, as partners may see them."""
    raw = body.model_dump(mode="json")
    out: dict[str, Any] = {}
    for name in fields:
        kind = shareable.fields.get(name)
        if kind == "keep":
            out[name] = raw[name]
        elif kind == "date":
            value = getattr(body, name)
            out[name] = tokyo_date(value).isoformat() if value is not None else None
        elif kind == "hub":
            hub_id = getattr(body, "hub_id", None)
            out[HUB_FIELD] = replicas.hub_name(hub_id) if hub_id else None
    return out
