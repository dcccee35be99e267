"""Lookups and checks every route needs: 404 for unknown ids, 422 naming the field for bad input."""

from __future__ import annotations

from datetime import date

from sqlmodel import Session

from komagane_contracts.vocabulary import ResidencyStatus
from komagane_housing.models import MigrationCase, Move, Property, Relationship, Relocation, TrialStay, WorkationStay
from komagane_kit.lookups import Lookups, dump_list, invalid, load_list, publish, require_person, today

_lookups = Lookups(
    {
        Property: "property", TrialStay: "trial-stay", MigrationCase: "migration-case", Move: "move",
        Relocation: "relocation", WorkationStay: "workation-stay", Relationship: "relationship",
    }
)  # fmt: skip
get_or_404 = _lookups.get_or_404
get_or_422 = _lookups.get_or_422
PROSPECT_STATUSES = frozenset({ResidencyStatus.VISITOR.value, ResidencyStatus.RELATIONSHIP.value})


def require_case_of(session: Session, case_id: str, person_id: str, field: str = "case_id") -> MigrationCase:
    """A case named in a body must exist and be the same person's."""
    case = get_or_422(session, MigrationCase, case_id, field)
    if case.person_id != person_id:
        raise invalid(field, "belongs to another person", f"Migration case {case_id} is not the case of person {person_id}")
    return case


def not_future(value: date, field: str) -> date:
    if value > today():
        raise invalid(field, "in the future", f"{field} is in the future: record it once it has happened")
    return value


__all__ = [
    "PROSPECT_STATUSES", "dump_list", "get_or_404", "get_or_422", "invalid", "load_list", "not_future", "publish",
    "require_case_of", "require_person", "today",
]  # fmt: skip
