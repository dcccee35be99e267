"""What every people route that names a person does first: its path parameter, and the person
or the problem that says why not (erased: 410, never registered: 404)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path
from sqlmodel import Session

from komagane_kit.erasure import erased_at, person_erased
from komagane_kit.errors import Problem
from komagane_kit.inputs import SafeStr
from komagane_people.models import Person

PersonId = Annotated[SafeStr, Path(min_length=1, max_length=36, description="Internal person id")]


def person_or_problem(session: Session, person_id: str) -> Person:
    person = session.get(Person, person_id)
    if person is None:
        if erased_at(session, person_id) is not None:
            raise person_erased(person_id)
        raise Problem(404, "person-not-found", f"No person with id {person_id}")
    return person
