"""What the exchange service holds about a person, for the disclosure export (komagane_kit.disclosure)."""

from __future__ import annotations

from komagane_exchange.models import Activity, Attendance, HubVisit, Membership, Reservation, VolunteerShift
from komagane_kit.disclosure import Holding, held_router, rows_of
from komagane_kit.people_replica import KnownPerson

HOLDINGS = [
    Holding("registration", rows_of(KnownPerson)),
    Holding("hub_visits", rows_of(HubVisit)),
    Holding("reservations", rows_of(Reservation)),
    Holding("attendance", rows_of(Attendance)),
    Holding("memberships", rows_of(Membership)),
    Holding("volunteer_shifts", rows_of(VolunteerShift)),
    Holding("activities_organised", rows_of(Activity, "organiser_person_id")),
]

router = held_router("exchange", HOLDINGS)
