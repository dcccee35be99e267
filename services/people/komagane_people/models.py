"""Person and consent, as tables and as the API's input and output shapes (SQLModel variants)."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, date, datetime

from pydantic import field_validator
from sqlmodel import Field, SQLModel

from komagane_contracts.vocabulary import ResidencyStatus

# BCP 47 (simplified): a 2–3 letter language, then optional script/region/variant subtags.
BCP47 = r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$"


def _now() -> datetime:
    return datetime.now(UTC)


class PersonBase(SQLModel):
    display_name: str = Field(min_length=1, max_length=200, description="Name shown to staff; stays in this service")
    birth_year: int = Field(ge=1900, description="Calendar year of birth; other services see an age band only")
    residency_status: ResidencyStatus
    preferred_language: str = Field(default="ja", max_length=35, description="BCP 47 tag, e.g. ja, en, pt-BR, vi", schema_extra={"pattern": BCP47})
    lives_alone: bool = False


class PersonCreate(PersonBase):
    contact: str | None = Field(default=None, max_length=200, description="Phone or e-mail; stays in this service")

    @field_validator("display_name")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank")
        return value.strip()

    @field_validator("preferred_language")
    @classmethod
    def _bcp47(cls, value: str) -> str:
        if not re.fullmatch(BCP47, value):
            raise ValueError("must be a BCP 47 language tag such as ja, en or pt-BR")
        return value

    @field_validator("birth_year")
    @classmethod
    def _not_future(cls, value: int) -> int:
        if value > date.today().year:
            raise ValueError("must not be in the future")
        return value


class Person(PersonBase, table=True):
    id: str = Field(default_factory=lambda: str(uuid.uuid4()), primary_key=True, max_length=36)
    contact: str | None = Field(default=None, max_length=200)
    created_at: datetime = Field(default_factory=_now)
    updated_at: datetime = Field(default_factory=_now)


class PersonPublic(PersonBase):
    id: str
    contact: str | None
    created_at: datetime
    consents: list[str] = Field(default_factory=list, description="Purposes currently consented to")


class Consent(SQLModel, table=True):
    person_id: str = Field(foreign_key="person.id", primary_key=True, max_length=36)
    purpose: str = Field(primary_key=True, max_length=80)
    granted: bool
    granted_at: datetime | None = None
    withdrawn_at: datetime | None = None


class ConsentPublic(SQLModel):
    person_id: str
    purpose: str
    granted: bool
    granted_at: datetime | None
    withdrawn_at: datetime | None
