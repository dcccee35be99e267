"""A person's stored state (komagane_profiles.state): typed rows in memory, JSON arrays in the
table, and every stored form a worker may find in its table or changelog loads through the one
converter (`decode_state`), so a restart or a replay over old state gives the same profiles."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import orjson

from komagane_contracts.envelope import CloudEvent
from komagane_contracts.events.exchange import HubVisited
from komagane_contracts.events.housing import HouseholdMovedIn, MoveChannel
from komagane_contracts.events.people import ConsentGranted, PersonRegistered
from komagane_contracts.vocabulary import AgeBand, ResidencyStatus
from komagane_profiles.fold import apply, profile_of
from komagane_profiles.metrics import Participation
from komagane_profiles.state import Held, Step, decode_state, encode_state, new_state

T0 = datetime(2026, 5, 1, 10, 0, tzinfo=UTC)

# A state as the release before typed rows stored it: a held visit (eight-element array), a
# journey step from before steps kept their event time (three elements) and one after (four).
HELD_VISIT = {"person_id": "p", "visit_id": "v-held", "hub_id": "h", "visited_at": "2026-05-01T10:30:00Z", "purpose": None}
OLD_FORM = orjson.dumps(
    {
        "person_id": "p",
        "version": 3,
        "consents": [],
        "seen": ["e1", "e2", "e3"],
        "updated_at": "2026-05-01T10:30:00+00:00",
        "registration": {"age_band": "65-74", "residency_status": "RESIDENT", "preferred_language": "ja"},
        "participation": [["2026-04-20", "hub:h", None, "ATTEND", 0.0, "e0"]],
        "journey": [["MOVED_IN", "2026-04-01", "zz-old"], ["SETTLED", "2026-04-01", "aa-new", "2026-04-01T03:00:00+00:00"]],
        "held": [["2026-05-01T10:30:00+00:00", "PROFILE", "e3", HubVisited.event_type, "/komagane/exchange", "S1", "joca", HELD_VISIT]],
    }
)


def registered() -> CloudEvent:
    body = PersonRegistered(
        person_id="p", age_band=AgeBand.SENIOR_65_74, residency_status=ResidencyStatus.RESIDENT, preferred_language="ja", lives_alone=False, registered_at=T0
    )
    return CloudEvent.of(body, time=T0)


def test_the_old_stored_form_loads_as_typed_rows() -> None:
    state = decode_state(OLD_FORM)
    assert state["participation"] == [Participation(date(2026, 4, 20), "hub:h", None, "ATTEND", 0.0, "e0")]
    assert state["journey"] == [
        Step("MOVED_IN", "2026-04-01", "zz-old", ""),  # no event time stored: first in its day
        Step("SETTLED", "2026-04-01", "aa-new", "2026-04-01T03:00:00+00:00"),
    ]
    assert [type(h) for h in state["held"]] == [Held] and state["held"][0].gate == "PROFILE" and state["held"][0].data == HELD_VISIT


def test_a_dict_from_before_states_were_bytes_loads_the_same() -> None:
    assert decode_state(orjson.loads(OLD_FORM)) == decode_state(OLD_FORM)


def test_the_stored_form_is_unchanged_arrays_and_round_trips_byte_for_byte() -> None:
    """The changelog keeps the form it had: a state written by this release reads back to the same bytes."""
    state = new_state("p")
    apply(state, registered())
    apply(state, CloudEvent.of(HubVisited(person_id="p", visit_id="v", hub_id="h", visited_at=T0), time=T0 + timedelta(minutes=1)))
    raw = encode_state(state)
    stored = orjson.loads(raw)
    assert len(stored["held"]) == 1 and isinstance(stored["held"][0], list) and len(stored["held"][0]) == 8
    assert encode_state(decode_state(raw)) == raw
    assert orjson.loads(encode_state(decode_state(OLD_FORM)))["journey"][0] == ["MOVED_IN", "2026-04-01", "zz-old", ""]


def test_old_state_folds_on_held_events_released_and_the_old_step_first_in_its_day() -> None:
    state = decode_state(OLD_FORM)
    consent = ConsentGranted(person_id="p", purpose="PROFILE", granted_at=T0)
    assert apply(state, CloudEvent.of(consent, time=T0))
    assert "held" not in state and [r.event_id for r in state["participation"]] == ["e0", "e3"]
    moved = HouseholdMovedIn(
        person_id="p", move_id="m", household_size=1, origin="13", channel=MoveChannel.TRIAL_STAY, area="central", moved_in_on=date(2026, 4, 1)
    )
    assert apply(state, CloudEvent.of(moved, time=T0 + timedelta(hours=1), event_id="00-newest"))
    profile = profile_of(state)
    assert profile is not None and profile.living is not None
    assert [s.event_id for s in profile.living.journey] == ["zz-old", "aa-new", "00-newest"]
