"""Care staff's follow-ups of lapse alerts, and what the care page shows of a person (S3).

Why here: a follow-up's note is free text that may name family, neighbours or a hospital, and
the platform keeps names and contacts in this service only; care staff already read person
records here, and every read and write of theirs goes into the person's rights log (who, role,
what), which the person sees in their export. The event (`LapseFollowedUp`, topic
people.care.v1) carries the outcome code, never the note.

Only the care role (and admin) may call these routes: the gateway's access matrix says so
(`care-follow-ups`, `care-queue`), and the routes check the internal token again.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status
from pydantic import BaseModel, field_validator
from pydantic import Field as PydanticField
from sqlmodel import Field, Session, SQLModel, col, select

from komagane_contracts.envelope import CloudEvent
from komagane_contracts.events.care import FollowUpOutcome, LapseFollowedUp
from komagane_kit.disclosure import Requester, requester_of
from komagane_kit.errors import Problem
from komagane_kit.inputs import EventTime, SafeStr
from komagane_kit.outbox import enqueue
from komagane_kit.service import DbSession
from komagane_people.models import Consent, Person
from komagane_people.persons import PersonId, person_or_problem
from komagane_people.rights_log import record_request

CARE_ROLES = frozenset({"care", "admin"})
CONTACT_PURPOSE = "OUTREACH"  # the person agreed to be contacted: only then does care staff see the contact
CARDS_PATH = "/internal/v1/care/cards"
CARDS_MAX = 100

router = APIRouter(tags=["care"])


def _now() -> datetime:
    return datetime.now(UTC)


class CareFollowUp(SQLModel, table=True):
    __tablename__ = "care_follow_up"
    id: str = Field(default_factory=lambda: str(uuid.uuid4()), primary_key=True, max_length=36)
    person_id: str = Field(max_length=36, index=True)
    outcome: str = Field(max_length=40)
    note: str | None = Field(default=None, max_length=1000)
    followed_up_at: datetime
    recorded_by: str = Field(max_length=100)
    recorded_at: datetime = Field(default_factory=_now)


class FollowUpCreate(BaseModel):
    outcome: FollowUpOutcome = PydanticField(description="DECLINED and MOVED_AWAY close the alert; the others keep it open until the person takes part again")
    note: SafeStr | None = PydanticField(default=None, max_length=1000, description="Free text; stays in this service (never on Kafka)")
    followed_up_at: EventTime | None = PydanticField(default=None, description="When it took place (default now); not in the future")

    @field_validator("followed_up_at")
    @classmethod
    def _not_ahead(cls, value: datetime | None) -> datetime | None:
        if value is not None and value > _now() + timedelta(minutes=5):
            raise ValueError("must not be in the future")
        return value


class FollowUpPublic(BaseModel):
    id: str
    person_id: str
    outcome: FollowUpOutcome
    note: str | None
    followed_up_at: datetime
    recorded_by: str
    recorded_at: datetime


class CareCard(BaseModel):
    """What care staff see of a person on the lapse queue."""

    person_id: str
    display_name: str
    contact: str | None = PydanticField(description="Only with the person's OUTREACH consent")
    contact_consented: bool
    lives_alone: bool
    follow_ups: list[FollowUpPublic] = PydanticField(description="Newest first, with notes")


class CareCards(BaseModel):
    cards: list[CareCard] = Field(description="The people asked for that exist, in the order asked")


def _care_requester(request: Request, person_id: str) -> Requester:
    requester = requester_of(request, person_id)
    if not requester.roles & CARE_ROLES:
        raise Problem(403, "forbidden", "Only care staff may see or record follow-ups of lapse alerts.")
    return requester


def _public(row: CareFollowUp) -> FollowUpPublic:
    return FollowUpPublic(
        id=row.id,
        person_id=row.person_id,
        outcome=FollowUpOutcome(row.outcome),
        note=row.note,
        followed_up_at=row.followed_up_at.replace(tzinfo=row.followed_up_at.tzinfo or UTC),
        recorded_by=row.recorded_by,
        recorded_at=row.recorded_at.replace(tzinfo=row.recorded_at.tzinfo or UTC),
    )


def _follow_ups(session: Session, person_ids: list[str]) -> dict[str, list[FollowUpPublic]]:
    rows = session.exec(
        select(CareFollowUp).where(col(CareFollowUp.person_id).in_(person_ids)).order_by(col(CareFollowUp.followed_up_at).desc(), col(CareFollowUp.id))
    ).all()
    found: dict[str, list[FollowUpPublic]] = {}
    for row in rows:
        found.setdefault(row.person_id, []).append(_public(row))
    return found


@router.post(
    "/v1/people/{person_id}/follow-ups",
    status_code=status.HTTP_201_CREATED,
    response_model=FollowUpPublic,
    summary="Record a follow-up of a lapse alert (care staff)",
)
def record_follow_up(person_id: PersonId, body: FollowUpCreate, request: Request, session: DbSession, response: Response) -> FollowUpPublic:
    """Stores the follow-up with its note and publishes `LapseFollowedUp` (outcome only) through
    the outbox; the profiles processor shows it on the alert, and closes the alert for DECLINED
    and MOVED_AWAY. Recorded in the person's rights log."""
    requester = _care_requester(request, person_id)
    person_or_problem(session, person_id)
    row = CareFollowUp(
        person_id=person_id,
        outcome=body.outcome.value,
        note=body.note,
        followed_up_at=(body.followed_up_at or _now()).astimezone(UTC),
        recorded_by=requester.actor,
    )
    session.add(row)
    event = LapseFollowedUp(person_id=person_id, follow_up_id=row.id, outcome=body.outcome, followed_up_at=row.followed_up_at)
    enqueue(session, CloudEvent.of(event, time=row.followed_up_at))
    record_request(session, "CARE_FOLLOW_UP", requester, f"follow-up {row.id}: {body.outcome.value}")
    session.commit()
    # The person's follow-ups, where this one is listed (a follow-up has no address of its own).
    response.headers["Location"] = f"/v1/people/{person_id}/follow-ups"
    return _public(row)


@router.get(
    "/v1/people/{person_id}/follow-ups", response_model=list[FollowUpPublic], summary="A person's follow-ups of lapse alerts, newest first (care staff)"
)
def follow_ups_of(person_id: PersonId, request: Request, session: DbSession) -> list[FollowUpPublic]:
    requester = _care_requester(request, person_id)
    person_or_problem(session, person_id)
    found = _follow_ups(session, [person_id]).get(person_id, [])
    record_request(session, "CARE_READ", requester, f"follow-ups ({len(found)})")
    session.commit()  # the log entry is stored before anyone sees the data
    return found


@router.get(CARDS_PATH, response_model=CareCards, include_in_schema=False)
def care_cards(
    request: Request, session: DbSession, person_id: Annotated[list[SafeStr], Query(min_length=1, max_length=CARDS_MAX, description="People on the queue")]
) -> CareCards:
    """The care queue's people (the gateway composes `GET /v1/care/lapses` from the alerts and
    these): name, the contact only with OUTREACH consent, the follow-ups with notes. Each person
    shown gets an entry in their rights log."""
    ids = list(dict.fromkeys(person_id))
    people = {p.id: p for p in session.exec(select(Person).where(col(Person.id).in_(ids))).all()}
    consented = set(
        session.exec(select(Consent.person_id).where(col(Consent.person_id).in_(ids), Consent.purpose == CONTACT_PURPOSE, col(Consent.granted).is_(True))).all()
    )
    notes = _follow_ups(session, ids)
    cards: list[CareCard] = []
    for pid in ids:
        person = people.get(pid)
        if person is None:
            continue
        requester = _care_requester(request, pid)
        shown = pid in consented
        cards.append(
            CareCard(
                person_id=pid,
                display_name=person.display_name,
                contact=person.contact if shown else None,
                contact_consented=shown,
                lives_alone=person.lives_alone,
                follow_ups=notes.get(pid, []),
            )
        )
        record_request(session, "CARE_READ", requester, "lapse queue: name" + (", contact" if shown else "") + f", follow-ups ({len(notes.get(pid, []))})")
    session.commit()
    return CareCards(cards=cards)
