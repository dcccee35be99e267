"""A partner agreement as the tests and the partners benchmark set one up."""

from __future__ import annotations

from datetime import date, timedelta

from komagane_partners.models import AgreementCreate

from komagane_contracts.events.exchange import HubVisited


def hall_visits_agreement(partner_id: str = "hall") -> AgreementCreate:
    """The social welfare council's feed of hub visits (pseudonymised, with age decades),
    running from a month ago to a month ahead."""
    return AgreementCreate(
        partner_id=partner_id,
        feed="visits",
        partner_name="駒ヶ根市社会福祉協議会",
        purpose="Planning community hall opening hours",
        legal_basis="consent",  # type: ignore[arg-type]
        pseudonym_key_id="k1",
        retention_days=30,
        starts_on=date.today() - timedelta(days=30),
        ends_on=date.today() + timedelta(days=30),
        event_types=[HubVisited.event_type],
        fields=["hub", "visited_at", "age_decade"],
    )
