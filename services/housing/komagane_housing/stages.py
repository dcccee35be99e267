"""The one place a migration case changes stage: by staff, or following its stays and moves.

Staff record a stage by hand (`POST /v1/migration-cases/{id}/stage`) under the rules of
komagane_housing.lifecycle. The case also follows what happens to the person, as facts:

- a trial stay linked to the case is checked in: the case is at least TRIAL (a booking alone
  does not move it: it may still be cancelled, and a case never moves back);
- the stay is completed: still TRIAL at least (completing a trial is not deciding to move);
- a move linked to the case is recorded: MOVED (the move shows the decision was taken);
- that move's settlement is confirmed: SETTLED.

Such a fact may pass over stages staff did not record (it shows the case got there), and a
case already at or past the stage it implies is left as it is. Either way the change is one
MigrationStageChanged event and one row of the case's history, recorded by
`system:<what>/<id>` when a fact moved it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from sqlalchemy import update
from sqlmodel import Session, col

from komagane_contracts.events.housing import MigrationStage, MigrationStageChanged
from komagane_housing.lifecycle import STAGES, stage_transition_error
from komagane_housing.lookups import dump_list, publish
from komagane_housing.models import MigrationCase, StageRecord
from komagane_kit.errors import Problem


def require_transition(previous: MigrationStage, target: MigrationStage) -> None:
    """A stage staff may set by hand, or 409 naming the rule."""
    reason = stage_transition_error(previous, target)
    if reason:
        raise Problem(
            409,
            "invalid-stage-transition",
            f"Cannot move the case from {previous.value} to {target.value}: {reason}.",
            errors=[{"field": "stage", "message": reason}],
        )


def change_stage(
    session: Session,
    case: MigrationCase,
    target: MigrationStage,
    *,
    occurred_on: date,
    recorded_by: str,
    property_ids: Sequence[str] = (),
    note: str | None = None,
    follow: bool = False,
) -> bool:
    """Move the case to `target` in the session's transaction; False when a fact (`follow`)
    finds the case already there or beyond. Staff changes break the rules only with a 409."""
    previous = MigrationStage(case.stage)
    if follow:
        if STAGES.index(target) <= STAGES.index(previous):
            return False
    else:
        require_transition(previous, target)
    # Conditional on the stage read above: of two concurrent changes only one applies.
    still = (col(MigrationCase.id) == case.id) & (col(MigrationCase.stage) == previous.value)
    moved = session.execute(update(MigrationCase).where(still).values(stage=target.value))
    if moved.rowcount != 1:  # type: ignore[attr-defined]
        session.rollback()
        raise Problem(409, "concurrent-change", "The case changed meanwhile; read it again and retry.")
    case.stage = target.value
    session.add(
        StageRecord(
            case_id=case.id,
            previous_stage=previous.value,
            stage=target.value,
            occurred_on=occurred_on,
            recorded_by=recorded_by,
            property_ids=dump_list(list(property_ids)),
            note=note,
        )
    )
    publish(
        session,
        MigrationStageChanged(
            person_id=case.person_id,
            case_id=case.id,
            previous_stage=previous,
            stage=target,
            occurred_on=occurred_on,
            recorded_by=recorded_by,
            property_ids=list(property_ids),
        ),
    )
    return True


def follow(session: Session, case_id: str | None, target: MigrationStage, *, on: date, cause: str, note: str) -> None:
    """A stay or move linked to a case happened: bring the case forward to `target` if it is behind.

    `cause` names what happened (`trial-stay/<id>`, `move/<id>`)."""
    if case_id is None:
        return
    case = session.get(MigrationCase, case_id)
    if case is None:  # (linked cases are checked when the stay or move is recorded)
        return
    change_stage(session, case, target, occurred_on=max(on, case.opened_on), recorded_by=f"system:{cause}", note=note, follow=True)
