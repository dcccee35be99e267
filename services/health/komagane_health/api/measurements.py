"""Measurements (weight, blood pressure, body composition): S2, taken only with HEALTH consent, read with audit."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query, status
from sqlmodel import col, select

from komagane_contracts.events.health import MeasurementKind, MeasurementRecorded
from komagane_health.audit import PermittedS2Read
from komagane_health.consent import require_health_consent
from komagane_health.lookups import publish, require_person
from komagane_health.models import Measurement, MeasurementCreate, MeasurementPublic
from komagane_kit.clock import TOKYO, aware, from_db, now
from komagane_kit.errors import Problem
from komagane_kit.inputs import SafeStr
from komagane_kit.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page, decode_cursor, encode_cursor
from komagane_kit.people_replica import known_person
from komagane_kit.service import DbSession

router = APIRouter(prefix="/v1/health", tags=["measurements"])
PersonId = Annotated[SafeStr, Path(max_length=36)]


def _public(m: Measurement) -> MeasurementPublic:
    return MeasurementPublic.model_validate(m, update={"kind": MeasurementKind(m.kind), "measured_at": from_db(m.measured_at).astimezone(TOKYO)})


@router.post("/measurements", status_code=status.HTTP_201_CREATED, response_model=MeasurementPublic)
def record_measurement(body: MeasurementCreate, session: DbSession) -> MeasurementPublic:
    require_person(session, body.person_id)
    require_health_consent(session, body.person_id)
    measured_at = aware(body.measured_at)
    if measured_at > now():
        raise Problem(
            422, "validation-error", "measured_at is in the future.", title="Validation failed", errors=[{"field": "measured_at", "message": "in the future"}]
        )
    measurement = Measurement.model_validate(body, update={"kind": body.kind.value, "measured_at": measured_at})
    session.add(measurement)
    publish(
        session,
        MeasurementRecorded(
            person_id=body.person_id,
            measurement_id=measurement.id,
            kind=body.kind,
            measured_at=measured_at,
            weight_kg=body.weight_kg,
            systolic_mmhg=body.systolic_mmhg,
            diastolic_mmhg=body.diastolic_mmhg,
            pulse_bpm=body.pulse_bpm,
            body_fat_percent=body.body_fat_percent,
            muscle_mass_kg=body.muscle_mass_kg,
        ),
    )
    session.commit()
    return _public(measurement)


@router.get("/people/{person_id}/measurements", response_model=Page[MeasurementPublic], summary="A person's measurements (S2: audited, reason required)")
def person_measurements(
    person_id: PersonId,
    session: DbSession,
    read: PermittedS2Read,
    kind: MeasurementKind | None = None,
    cursor: Annotated[SafeStr | None, Query(max_length=500)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
) -> Page[MeasurementPublic]:
    if known_person(session, person_id) is None:
        raise Problem(404, "person-not-found", f"No person {person_id} is known to the health service.")
    # Newest first; the cursor is (measured_at, id) of the last item returned.
    query = select(Measurement).where(Measurement.person_id == person_id).order_by(col(Measurement.measured_at).desc(), col(Measurement.id).desc())
    if kind:
        query = query.where(Measurement.kind == kind.value)
    after = decode_cursor(cursor, (datetime, str))
    if after is not None:
        at, last_id = after
        query = query.where((col(Measurement.measured_at) < at) | ((col(Measurement.measured_at) == at) & (col(Measurement.id) < last_id)))
    found = list(session.exec(query.limit(limit + 1)).all())
    page = found[:limit]
    read.record(session, person_id=person_id, resource="measurements", records=len(page))
    session.commit()  # the audit entry is stored before anyone sees the data
    next_cursor = encode_cursor(page[-1].measured_at, page[-1].id) if len(found) > limit else None
    return Page(items=[_public(m) for m in page], next_cursor=next_cursor)
