"""What the partners service holds about a person, for the disclosure export (komagane_kit.disclosure).

Besides its replicas (age in 10-year bands, live PARTNER consents) and events waiting for a
consent, the person learns to whom their data may flow: the agreements of each partner they
consent to, and those agreements' provision records (APPI art. 29). Provision records count
deliveries per batch, not per person, so they say what was provided under an agreement in a
period, not whether a given message was the person's; a consent already withdrawn leaves no
person-level trace here to link its past provisions by.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlmodel import Session, SQLModel, col, select

from komagane_kit.disclosure import Holding, held_router, rows_of
from komagane_partners.models import Agreement, ConsentWait, PartnerConsent, PartnerPerson, ProvisionRecord


def _consented_agreements(session: Session, person_id: str) -> Sequence[SQLModel]:
    partners = select(PartnerConsent.partner_id).where(PartnerConsent.person_id == person_id)
    return session.exec(select(Agreement).where(col(Agreement.partner_id).in_(partners)).order_by(col(Agreement.created_at), col(Agreement.id))).all()


def _their_provisions(session: Session, person_id: str) -> Sequence[SQLModel]:
    partners = select(PartnerConsent.partner_id).where(PartnerConsent.person_id == person_id)
    return session.exec(select(ProvisionRecord).where(col(ProvisionRecord.partner_id).in_(partners)).order_by(col(ProvisionRecord.id))).all()


HOLDINGS = [
    Holding("registration", rows_of(PartnerPerson)),
    Holding("partner_consents", rows_of(PartnerConsent)),
    Holding("events_waiting_for_consent", rows_of(ConsentWait)),
    Holding("agreements", _consented_agreements),
    Holding("provision_records", _their_provisions),
]

router = held_router("partners", HOLDINGS)
