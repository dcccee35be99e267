"""Tables and API models of the partners service.

Agreements are never deleted (ending one sets its end date); provision records are append-only
(no route changes them, and a database trigger refuses UPDATE and DELETE). The local replicas —
people's age in 10-year bands, partner consents, hub names — come from Kafka.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Annotated, Any

from fastapi import Query
from pydantic import field_validator, model_validator
from sqlalchemy import BigInteger, Column, DateTime, Integer, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from komagane_contracts.kafka_access import partner_topic
from komagane_contracts.vocabulary import Sensitivity
from komagane_kit.inputs import EventDate, SafeStr, TermDate
from komagane_kit.lookups import load_list
from komagane_partners.catalogue import CATALOGUE

SLUG_PATTERN = r"^[a-z0-9][a-z0-9-]{1,62}$"
SLUG = re.compile(SLUG_PATTERN)
# A partner id in a query string: the same slug, so it is safe in file names and headers too.
PartnerFilter = Annotated[str | None, Query(pattern=SLUG_PATTERN, max_length=63, description="Only this partner's")]
FEED = re.compile(r"^[a-z0-9][a-z0-9-]{0,40}$")


class LegalBasis(StrEnum):
    CONSENT = "consent"  # the person consented to this partner's purpose (PARTNER:<partner_id>)
    JOINT_USE = "joint_use"  # 共同利用 (APPI art. 27(5)(iii)); person-level data still needs consent here
    STATISTICS = "statistics"  # aggregates only (統計情報): no person-level event types


def _now() -> datetime:
    return datetime.now(UTC)


class AgreementBase(SQLModel):
    partner_id: SafeStr = Field(max_length=63, description="Lower-case slug; the partner's Kafka principal is partner-<partner_id>")
    feed: SafeStr = Field(max_length=41, description="Feed name: the topic is partner.<partner_id>.<feed>.v1")
    partner_name: SafeStr = Field(max_length=200, min_length=1)
    purpose: SafeStr = Field(max_length=500, min_length=1, description="What the partner may use the data for, as agreed")
    legal_basis: LegalBasis
    max_sensitivity: Sensitivity = Field(default=Sensitivity.S1, description="S0 or S1; never higher")
    pseudonym_key_id: SafeStr = Field(max_length=40, description="Version of the partner's pseudonym key; a new id rotates it")
    retention_days: int = Field(ge=1, le=3650, description="How long the partner topic keeps messages")
    starts_on: date
    ends_on: date


class AgreementCreate(AgreementBase):
    starts_on: EventDate
    ends_on: TermDate
    event_types: list[SafeStr] = Field(
        min_length=1, max_length=60, schema_extra={"json_schema_extra": {"items": {"type": "string", "enum": sorted(CATALOGUE)}}}
    )
    fields: list[SafeStr] = Field(min_length=1, max_length=100, description="Fields of those event types the partner receives")

    model_config = {  # type: ignore[assignment]
        "json_schema_extra": {
            "examples": [
                {
                    "partner_id": "chamber",
                    "feed": "machizemi",
                    "partner_name": "駒ヶ根商工会議所",
                    "purpose": "Running and evaluating まちゼミ",
                    "legal_basis": "consent",
                    "max_sensitivity": "S1",
                    "pseudonym_key_id": "k1",
                    "retention_days": 365,
                    "starts_on": "2026-04-01",
                    "ends_on": "2027-03-31",
                    "event_types": ["jp.komagane.jobs.seminar-enrolled.v1", "jp.komagane.jobs.seminar-attended.v1"],
                    "fields": ["age_decade", "status", "held_on", "hours"],
                }
            ]
        }
    }

    @field_validator("partner_id")
    @classmethod
    def _partner_id(cls, value: str) -> str:
        if not SLUG.match(value):
            raise ValueError("lower-case letters, digits and hyphens, 2–63 characters")
        return value

    @field_validator("feed", "pseudonym_key_id")
    @classmethod
    def _slug(cls, value: str) -> str:
        if not FEED.match(value):
            raise ValueError("lower-case letters, digits and hyphens")
        return value

    @field_validator("max_sensitivity")
    @classmethod
    def _at_most_s1(cls, value: Sensitivity) -> Sensitivity:
        if value not in (Sensitivity.S0, Sensitivity.S1):
            raise ValueError("partner feeds never carry S2 or S3 data")
        return value

    @field_validator("event_types")
    @classmethod
    def _known_types(cls, value: list[str]) -> list[str]:
        unknown = [t for t in value if t not in CATALOGUE]
        if unknown:
            raise ValueError(f"not shareable with partners: {', '.join(unknown)}")
        return sorted(set(value))

    @model_validator(mode="after")
    def _consistent(self) -> AgreementCreate:
        if self.ends_on < self.starts_on:
            raise ValueError("ends_on is before starts_on")
        shareable = [CATALOGUE[t] for t in self.event_types]
        if self.legal_basis == LegalBasis.STATISTICS and any(s.person_level for s in shareable):
            raise ValueError("a statistics agreement takes aggregate event types only")
        if self.max_sensitivity == Sensitivity.S0 and any(s.person_level for s in shareable):
            raise ValueError("person-level event types are S1: raise max_sensitivity or drop them")
        offered = set().union(*(s.field_names() for s in shareable))
        unknown = sorted(set(self.fields) - offered)
        if unknown:
            raise ValueError(f"fields not offered by the chosen event types: {', '.join(unknown)}")
        self.fields = sorted(set(self.fields))
        return self


class Agreement(AgreementBase, table=True):
    __tablename__ = "agreement"
    __table_args__ = (UniqueConstraint("partner_id", "feed", name="uq_agreement_partner_feed"),)

    id: str = Field(default_factory=lambda: str(uuid.uuid4()), primary_key=True, max_length=36)
    topic: str = Field(max_length=200)
    event_types_json: str = Field(sa_column=Column(Text, nullable=False))
    fields_json: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(default_factory=_now)
    ended_at: datetime | None = None

    @property
    def event_types(self) -> list[str]:
        return load_list(self.event_types_json)

    @property
    def fields(self) -> list[str]:
        return load_list(self.fields_json)

    def covers(self, on: date) -> bool:
        return self.starts_on <= on <= self.ends_on


class AgreementPublic(AgreementBase):
    id: str
    topic: str
    event_types: list[str]
    fields: list[str]
    created_at: datetime
    ended_at: datetime | None

    @classmethod
    def of(cls, agreement: Agreement) -> AgreementPublic:
        return cls.model_validate(agreement, update={"event_types": agreement.event_types, "fields": agreement.fields})


class AgreementEnd(SQLModel):
    ends_on: TermDate = Field(description="Last day of sharing (today or later; never before the start)")


def new_agreement(body: AgreementCreate) -> Agreement:
    from komagane_kit.lookups import dump_list

    values: dict[str, Any] = body.model_dump(exclude={"event_types", "fields"})
    return Agreement(
        **values,
        topic=partner_topic(body.partner_id, body.feed),
        event_types_json=dump_list(body.event_types),
        fields_json=dump_list(body.fields),
    )


class Delivery(SQLModel, table=True):
    """A message put on a partner topic (in the same transaction as its outbox row), not yet summed up."""

    __tablename__ = "delivery"

    id: int | None = Field(default=None, sa_column=Column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True))
    agreement_id: str = Field(max_length=36, index=True)
    event_type: str = Field(max_length=200)
    event_date: date
    pseudonym_key_id: str = Field(max_length=40)


class ProvisionRecordBase(SQLModel):
    agreement_id: str = Field(max_length=36, index=True)
    partner_id: str = Field(max_length=63, index=True)
    topic: str = Field(max_length=200)
    legal_basis: LegalBasis
    pseudonym_key_id: str = Field(max_length=40)
    period_from: date = Field(description="Earliest event date in this delivery batch")
    period_to: date = Field(description="Latest event date in this delivery batch")
    count: int = Field(description="Messages delivered")
    recorded_at: datetime = Field(default_factory=_now)


class ProvisionRecord(ProvisionRecordBase, table=True):
    """第三者提供の記録 (APPI art. 29): append-only."""

    __tablename__ = "provision_record"

    id: int | None = Field(default=None, sa_column=Column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True))
    event_types_json: str = Field(sa_column=Column(Text, nullable=False))
    fields_json: str = Field(sa_column=Column(Text, nullable=False))


class ProvisionRecordPublic(ProvisionRecordBase):
    id: int
    event_types: list[str]
    fields: list[str]

    @classmethod
    def of(cls, record: ProvisionRecord) -> ProvisionRecordPublic:
        return cls.model_validate(record, update={"event_types": load_list(record.event_types_json), "fields": load_list(record.fields_json)})


class PartnerPerson(SQLModel, table=True):
    """Replica from people.v1: only what a feed may show."""

    __tablename__ = "partner_person"

    person_id: str = Field(primary_key=True, max_length=36)
    age_decade: str | None = Field(default=None, max_length=8)


class PartnerConsent(SQLModel, table=True):
    """Live PARTNER:<partner_id> consents (a withdrawal deletes the row)."""

    __tablename__ = "partner_consent"

    person_id: str = Field(primary_key=True, max_length=36)
    partner_id: str = Field(primary_key=True, max_length=63)
    granted_at: datetime


class HubName(SQLModel, table=True):
    """Replica of hub names: partners see the hub, never its internal id."""

    __tablename__ = "hub_name"

    hub_id: str = Field(primary_key=True, max_length=36)
    name_ja: str = Field(max_length=200)


class ConsentWait(SQLModel, table=True):
    """A person-level event that found no PARTNER consent, kept a short while for that partner.

    Topics have no order between them: a consent given just before a visit can reach this
    service after it. Held here (consent_waits.py), the event still flows if that consent arrives
    within the grace and was given before the event happened; otherwise the row is purged.
    """

    __tablename__ = "consent_wait"

    event_id: str = Field(primary_key=True, max_length=64)
    partner_id: str = Field(primary_key=True, max_length=63)
    person_id: str = Field(max_length=36, index=True)
    occurred_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False), description="The event's time, in UTC")
    held_at: datetime = Field(default_factory=_now, sa_column=Column(DateTime(timezone=True), nullable=False, index=True))
    ce_headers: str = Field(sa_column=Column(Text, nullable=False), description="The CloudEvents headers, as a JSON object")
    data: str = Field(sa_column=Column(Text, nullable=False), description="The event body, as JSON")
