"""Output shapes built from the tables (enums restored, JSON lists decoded, nights derived)."""

from __future__ import annotations

from sqlmodel import Session, col, select

from komagane_contracts.events.housing import MigrationStage, PropertyStatus
from komagane_housing.lookups import load_list
from komagane_housing.models import CasePublic, MigrationCase, Property, PropertyPublic, StageRecord, StageRecordPublic, StayStatus, TrialStay, TrialStayPublic


def property_public(found: Property) -> PropertyPublic:
    return PropertyPublic.model_validate(found, update={"status": PropertyStatus(found.status)})


def stay_public(stay: TrialStay) -> TrialStayPublic:
    return TrialStayPublic.model_validate(stay, update={"status": StayStatus(stay.status), "nights": (stay.check_out - stay.check_in).days})


def case_public(session: Session, case: MigrationCase) -> CasePublic:
    records = session.exec(select(StageRecord).where(StageRecord.case_id == case.id).order_by(col(StageRecord.recorded_at), col(StageRecord.id))).all()
    history = [
        StageRecordPublic(
            previous_stage=MigrationStage(r.previous_stage) if r.previous_stage else None,
            stage=MigrationStage(r.stage),
            occurred_on=r.occurred_on,
            recorded_by=r.recorded_by,
            property_ids=load_list(r.property_ids),
            note=r.note,
        )
        for r in records
    ]
    return CasePublic.model_validate(case, update={"stage": MigrationStage(case.stage), "history": history})
