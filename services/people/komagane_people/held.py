"""What the people service holds about a person, for the disclosure export (komagane_kit.disclosure)."""

from __future__ import annotations

from sqlmodel import Session

from komagane_kit.disclosure import Holding, held_router, rows_of
from komagane_kit.erasure import erased_at, person_erased
from komagane_people.care import CareFollowUp
from komagane_people.hub_ties import PersonHub
from komagane_people.models import Consent, ConsentChange, Person
from komagane_people.rights_log import RightsRequest, record_disclosure

HOLDINGS = [
    Holding("person", rows_of(Person, "id")),
    Holding("consents", rows_of(Consent)),
    Holding("consent_history", rows_of(ConsentChange)),
    Holding("hubs", rows_of(PersonHub)),
    Holding("rights_requests", rows_of(RightsRequest)),
    Holding("care_follow_ups", rows_of(CareFollowUp)),
]


def _exists(session: Session, person_id: str) -> bool:
    """An erased person is no longer held: 410, as every other route about them answers."""
    if session.get(Person, person_id) is not None:
        return True
    if erased_at(session, person_id) is not None:
        raise person_erased(person_id)
    return False


router = held_router("people", HOLDINGS, exists=_exists, record=record_disclosure)
