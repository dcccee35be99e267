"""The housing state machines as pure rules (no database): what may follow what."""

from __future__ import annotations

from itertools import product

from komagane_contracts.events.housing import MigrationStage as M
from komagane_contracts.events.housing import PropertyStatus as P
from komagane_housing.lifecycle import property_transition_allowed, stage_transition_error

ALLOWED_STAGE_MOVES = {
    (M.INQUIRY, M.CONSULTED),
    (M.CONSULTED, M.TOURED), (M.CONSULTED, M.TRIAL), (M.CONSULTED, M.DECIDED),  # tour and trial are optional
    (M.TOURED, M.TRIAL), (M.TOURED, M.DECIDED),
    (M.TRIAL, M.DECIDED),
    (M.DECIDED, M.MOVED),
    (M.MOVED, M.SETTLED),
}  # fmt: skip


def test_stages_move_forward_skipping_only_tour_and_trial() -> None:
    allowed = {(a, b) for a, b in product(M, M) if stage_transition_error(a, b) is None}
    assert allowed == ALLOWED_STAGE_MOVES
    assert "cannot be skipped" in str(stage_transition_error(M.DECIDED, M.SETTLED))
    assert "only move forward" in str(stage_transition_error(M.TOURED, M.CONSULTED))


def test_property_status_final_states_and_relisting() -> None:
    assert property_transition_allowed(P.DRAFT, P.LISTED) and not property_transition_allowed(P.DRAFT, P.CONTRACTED)
    assert property_transition_allowed(P.UNDER_INQUIRY, P.LISTED)  # an inquiry that came to nothing
    assert property_transition_allowed(P.WITHDRAWN, P.LISTED)
    assert not any(property_transition_allowed(final, other) for final in (P.CONTRACTED, P.CONVERTED_TO_HUB) for other in P)
    assert not any(property_transition_allowed(s, s) for s in P)
