"""The two state machines of the housing service, as pure rules the routes consult.

Property status: DRAFT → LISTED → UNDER_INQUIRY → CONTRACTED / WITHDRAWN / CONVERTED_TO_HUB.
An inquiry that comes to nothing returns the property to LISTED, and a withdrawn property may
be listed again; CONTRACTED and CONVERTED_TO_HUB are final.

Migration stage: INQUIRY → CONSULTED → TOURED → TRIAL → DECIDED → MOVED → SETTLED, forward only.
Skipping is allowed only over the optional stages TOURED and TRIAL: a prospect may decide
without a tour or a trial stay, but every case is consulted by the migration council, decided,
and moved before it can be settled, so those stages are never skipped.
"""

from __future__ import annotations

from komagane_contracts.events.housing import MigrationStage, PropertyStatus

_S = PropertyStatus
PROPERTY_TRANSITIONS: dict[PropertyStatus, frozenset[PropertyStatus]] = {
    _S.DRAFT: frozenset({_S.LISTED, _S.WITHDRAWN}),
    _S.LISTED: frozenset({_S.UNDER_INQUIRY, _S.CONTRACTED, _S.WITHDRAWN, _S.CONVERTED_TO_HUB}),
    _S.UNDER_INQUIRY: frozenset({_S.LISTED, _S.CONTRACTED, _S.WITHDRAWN, _S.CONVERTED_TO_HUB}),
    _S.WITHDRAWN: frozenset({_S.LISTED}),
    _S.CONTRACTED: frozenset(),
    _S.CONVERTED_TO_HUB: frozenset(),
}

# Statuses in which a property is on offer: it takes inquiries and (trial residences) bookings.
OPEN_STATUSES = frozenset({_S.LISTED, _S.UNDER_INQUIRY})

STAGES: tuple[MigrationStage, ...] = tuple(MigrationStage)
OPTIONAL_STAGES = frozenset({MigrationStage.TOURED, MigrationStage.TRIAL})


def property_transition_allowed(current: PropertyStatus, target: PropertyStatus) -> bool:
    return target in PROPERTY_TRANSITIONS[current]


def stage_transition_error(current: MigrationStage, target: MigrationStage) -> str | None:
    """Why a case may not move from `current` to `target`, or None when it may."""
    here, there = STAGES.index(current), STAGES.index(target)
    if there <= here:
        return f"a case at {current.value} can only move forward (to a stage after {current.value})"
    skipped = [stage.value for stage in STAGES[here + 1 : there] if stage not in OPTIONAL_STAGES]
    if skipped:
        return f"{', '.join(skipped)} cannot be skipped (only TOURED and TRIAL are optional)"
    return None
