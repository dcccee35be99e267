"""Person and consent, as tables and as the API's input and output shapes (SQLModel variants)."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict, field_validator
from pydantic import Field as PydanticField
from sqlmodel import Field, SQLModel

from komagane_contracts.vocabulary import ResidencyStatus
from komagane_kit.inputs import BirthYear, SafeStr
from komagane_people.search_keys import fold, is_kana

# BCP 47 (simplified): a 2–3 letter language, then optional script/region/variant subtags.
BCP47 = r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$"


def _now() -> datetime:
    return datetime.now(UTC)


class PersonBase(SQLModel):
    display_name: SafeStr = Field(min_length=1, max_length=200, description="Name shown to staff; stays in this service")
    birth_year: int = Field(ge=1900, description="Calendar year of birth; other services see an age band only")
    residency_status: ResidencyStatus
    preferred_language: str = Field(default="ja", max_length=35, description="BCP 47 tag, e.g. ja, en, pt-BR, vi", schema_extra={"pattern": BCP47})
    lives_alone: bool = False
    name_kana: SafeStr | None = Field(
        default=None, max_length=200, description="The name's reading (フリガナ), for finding the person at a hub; stays in this service"
    )


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be blank")
    return value.strip()


def _bcp47(value: str) -> str:
    if not re.fullmatch(BCP47, value):
        raise ValueError("must be a BCP 47 language tag such as ja, en or pt-BR")
    return value


def _kana(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    if not is_kana(value):
        raise ValueError("must be written in kana (hiragana or katakana), e.g. コマガネ ハナコ")
    return value


class PersonCreate(PersonBase):
    birth_year: BirthYear
    contact: SafeStr | None = Field(default=None, max_length=200, description="Phone or e-mail; stays in this service")

    _display_name = field_validator("display_name")(_not_blank)
    _language = field_validator("preferred_language")(_bcp47)
    _name_kana = field_validator("name_kana")(_kana)


class PersonPatch(BaseModel):
    """A correction (訂正), as JSON merge patch (RFC 7396): a field left out stays as it is, `null`
    removes it — only the contact can be removed; the others must keep a value."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"contact": "0265-00-0001", "lives_alone": False}, {"residency_status": "RESIDENT"}]}
    )

    display_name: SafeStr | None = PydanticField(default=None, min_length=1, max_length=200, description="Name shown to staff; stays in this service")
    contact: SafeStr | None = PydanticField(default=None, max_length=200, description="Phone or e-mail (null removes it); stays in this service")
    residency_status: ResidencyStatus | None = None
    preferred_language: str | None = PydanticField(default=None, max_length=35, pattern=BCP47, description="BCP 47 tag, e.g. ja, en, pt-BR, vi")
    lives_alone: bool | None = None
    name_kana: SafeStr | None = PydanticField(default=None, max_length=200, description="The name's reading (フリガナ; null removes it); stays in this service")

    @field_validator("display_name", "residency_status", "preferred_language", "lives_alone")
    @classmethod
    def _kept(cls, value: object) -> object:
        if value is None:
            raise ValueError("cannot be removed (null): give a value or leave the field out")
        return value

    # After `_kept`, which stops a null before these see it.
    _display_name = field_validator("display_name")(_not_blank)
    _language = field_validator("preferred_language")(_bcp47)
    _name_kana = field_validator("name_kana")(_kana)


class Person(PersonBase, table=True):
    id: str = Field(default_factory=lambda: str(uuid.uuid4()), primary_key=True, max_length=36)
    contact: str | None = Field(default=None, max_length=200)
    # The short number on the person's card (search_keys.py and members.py), given at registration.
    member_number: int | None = Field(default=None, unique=True, index=True)
    # Name and kana folded for the staff search (search_keys.fold); kept in step by `refresh_keys`.
    name_key: str = Field(default="", max_length=200)
    kana_key: str = Field(default="", max_length=200)
    created_at: datetime = Field(default_factory=_now)
    updated_at: datetime = Field(default_factory=_now)


def refresh_keys(person: Person) -> None:
    person.name_key = fold(person.display_name)[:200]
    person.kana_key = fold(person.name_kana or "")[:200]


class PersonPublic(PersonBase):
    id: str
    member_number: int | None = Field(default=None, description="The short number on the person's card")
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


class ConsentChange(SQLModel, table=True):
    """Every grant and withdrawal, kept so a person can see the history of their consents (the
    `consent` row holds only the present state). Deleted with the person on erasure."""

    __tablename__ = "consent_change"
    id: int | None = Field(default=None, primary_key=True)
    person_id: str = Field(max_length=36, index=True)
    purpose: str = Field(max_length=80)
    action: str = Field(max_length=10, description="GRANTED or WITHDRAWN")
    at: datetime


class ConsentChangePublic(SQLModel):
    purpose: str
    action: str = Field(description="GRANTED or WITHDRAWN")
    at: datetime


class ConsentsPublic(SQLModel):
    consents: list[ConsentPublic] = Field(description="Every purpose the person has answered, with its present state")
    history: list[ConsentChangePublic] = Field(description="Every grant and withdrawal, newest first")


class PersonErasure(SQLModel):
    person_id: str
    erased_at: datetime = Field(description="When the person was erased; the same on every repeat of the request")
