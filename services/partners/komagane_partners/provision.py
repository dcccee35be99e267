"""Provision records (第三者提供の記録, APPI art. 29), summed up from deliveries.

Each delivery row was written in the transaction that put the message in the outbox, so the
records count exactly what partners receive. Every few seconds the pending deliveries of each
agreement become one append-only record (agreement, event types, fields, key version, period,
count) and are removed, in one transaction.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Iterable

from sqlalchemy import delete
from sqlmodel import Session, col, select

from komagane_kit.lookups import dump_list
from komagane_partners.models import Agreement, Delivery, ProvisionRecord, ProvisionRecordPublic


def record_deliveries(session: Session) -> int:
    """Turn pending deliveries into provision records; returns the number of records written."""
    pending = list(session.exec(select(Delivery).order_by(col(Delivery.id))).all())
    if not pending:
        return 0
    groups: dict[tuple[str, str], list[Delivery]] = defaultdict(list)
    for delivery in pending:
        groups[(delivery.agreement_id, delivery.pseudonym_key_id)].append(delivery)
    for (agreement_id, key_id), deliveries in groups.items():
        agreement = session.get(Agreement, agreement_id)
        if agreement is None:  # agreements are never deleted; keep the rows if one ever is
            continue
        dates = [d.event_date for d in deliveries]
        session.add(
            ProvisionRecord(
                agreement_id=agreement_id,
                partner_id=agreement.partner_id,
                topic=agreement.topic,
                legal_basis=agreement.legal_basis,
                pseudonym_key_id=key_id,
                event_types_json=dump_list(sorted({d.event_type for d in deliveries})),
                fields_json=dump_list(agreement.fields),
                period_from=min(dates),
                period_to=max(dates),
                count=len(deliveries),
            )
        )
        session.execute(delete(Delivery).where(col(Delivery.id).in_([d.id for d in deliveries])))
    return len(groups)


CSV_COLUMNS = (
    "id",
    "recorded_at",
    "partner_id",
    "agreement_id",
    "topic",
    "legal_basis",
    "event_types",
    "fields",
    "pseudonym_key_id",
    "period_from",
    "period_to",
    "count",
)


def records_csv(records: Iterable[ProvisionRecordPublic]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for r in records:
        row = r.model_dump(mode="json")
        writer.writerow([" ".join(row[c]) if isinstance(row[c], list) else row[c] for c in CSV_COLUMNS])
    return out.getvalue()
