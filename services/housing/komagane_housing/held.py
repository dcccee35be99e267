"""What the housing service holds about a person, for the disclosure export (komagane_kit.disclosure)."""

from __future__ import annotations

from komagane_housing.models import MigrationCase, Move, Property, PropertyInquiry, Relationship, Relocation, StageRecord, TrialStay, WorkationStay
from komagane_kit.disclosure import Holding, held_router, rows_of, rows_through
from komagane_kit.people_replica import KnownPerson

HOLDINGS = [
    Holding("registration", rows_of(KnownPerson)),
    Holding("migration_cases", rows_of(MigrationCase)),
    Holding("migration_stages", rows_through(StageRecord, "case_id", MigrationCase)),
    Holding("property_inquiries", rows_of(PropertyInquiry)),
    Holding("trial_stays", rows_of(TrialStay)),
    Holding("moves", rows_of(Move)),
    Holding("relocations", rows_of(Relocation)),
    Holding("workation_stays", rows_of(WorkationStay)),
    Holding("relationships", rows_of(Relationship)),
    Holding("properties_owned", rows_of(Property, "owner_person_id")),
]

router = held_router("housing", HOLDINGS)
