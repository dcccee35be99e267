"""Person-level events that reached the feed projector before the PARTNER consent they needed.

people.v1 and the pillar topics have no order between them, and a fetch brings partitions as
they come: a visit made a moment after the person consented can reach the projector before the
consent does. Dropping it would lose what the person agreed to share. So an event that finds no
consent for a partner whose agreement covers it waits here, per partner, for a short grace
(`consent_grace_seconds`). A consent arriving meanwhile that was given no later than the event
happened lets it flow as if the two had come in order; a withdrawal drops the person's waits for
that partner; and waits older than the grace are purged: nobody may receive them.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete
from sqlmodel import Session, col, select

from komagane_contracts.envelope import CloudEvent
from komagane_partners.models import ConsentWait


def _utc(moment: datetime) -> datetime:
    # SQLite hands timestamps back without their zone; every one stored here is UTC.
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def hold(session: Session, event: CloudEvent, person_id: str, partner_ids: Iterable[str]) -> None:
    """Keep `event` for each partner it would have gone to, had the person consented."""
    headers = {name: value.decode() for name, value in event.headers() if name != "traceparent"}
    for partner_id in partner_ids:
        session.add(
            ConsentWait(
                event_id=event.id,
                partner_id=partner_id,
                person_id=person_id,
                occurred_at=_utc(event.time),
                ce_headers=json.dumps(headers),
                data=event.value().decode(),
            )
        )


def release(session: Session, person_id: str, partner_id: str, granted_at: datetime) -> list[CloudEvent]:
    """The waiting events of this person and partner that happened once the consent was given,
    oldest first; every wait of theirs is removed (the older ones can never flow)."""
    waits = list(session.exec(select(ConsentWait).where(ConsentWait.person_id == person_id, ConsentWait.partner_id == partner_id)).all())
    if not waits:
        return []
    drop(session, person_id, partner_id)
    since = _utc(granted_at)
    waits = sorted((w for w in waits if _utc(w.occurred_at) >= since), key=lambda w: _utc(w.occurred_at))
    return [CloudEvent.from_kafka(w.data.encode(), [(k, v.encode()) for k, v in json.loads(w.ce_headers).items()]) for w in waits]


def drop(session: Session, person_id: str, partner_id: str) -> None:
    session.execute(delete(ConsentWait).where(col(ConsentWait.person_id) == person_id, col(ConsentWait.partner_id) == partner_id))


def purge_older_than(grace_seconds: float) -> Callable[[Session], int]:
    """A job for `komagane_kit.periodic.every`: remove the waits held longer than the grace."""

    def purge(session: Session) -> int:
        cutoff = datetime.now(UTC) - timedelta(seconds=grace_seconds)
        return session.execute(delete(ConsentWait).where(col(ConsentWait.held_at) < cutoff)).rowcount  # type: ignore[attr-defined, no-any-return]

    return purge
