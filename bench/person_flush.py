"""What one person's turn in a processor batch costs, by the length of their history.

Each event folded for a person who already has a history costs a load of their state (decode),
the fold, the profile and KPI flags derived from the whole history, the profile's event, and
the state written back (encode). Under a steady write load every event is such a turn, and the
history only grows, so this is the processor's cost per event that grows with time. Pure
Python, no Kafka: the same functions the faust worker runs (komagane_profiles.pipeline).

    python -m bench.person_flush [--records 10,60,150] [--repeat 2000]

Prints microseconds per step and per whole turn for each history length.
"""

from __future__ import annotations

import argparse
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from komagane_contracts.envelope import CloudEvent
from komagane_contracts.events.exchange import HubVisited
from komagane_contracts.events.people import ConsentGranted, PersonRegistered
from komagane_contracts.vocabulary import AgeBand, ResidencyStatus
from komagane_profiles.fold import apply, profile_of
from komagane_profiles.pipeline import PersonBatch
from komagane_profiles.state import State, decode_state, encode_state, new_state

START = datetime(2026, 11, 2, 1, tzinfo=UTC)


def person_with_history(records: int) -> State:
    """A person with PROFILE consent and `records` hub visits over the last weeks."""
    person = str(uuid.uuid4())
    state = new_state(person)
    registered = PersonRegistered(
        person_id=person,
        age_band=AgeBand.SENIOR_65_74,
        residency_status=ResidencyStatus.RESIDENT,
        preferred_language="ja",
        lives_alone=False,
        registered_at=START,
    )
    apply(state, CloudEvent.of(registered, time=START))
    apply(state, CloudEvent.of(ConsentGranted(person_id=person, purpose="PROFILE", granted_at=START), time=START))
    for n in range(records):
        at = START + timedelta(hours=9 * n)
        apply(state, CloudEvent.of(HubVisited(person_id=person, visit_id=str(uuid.uuid4()), hub_id=f"hub-{n % 3}", visited_at=at), time=at))
    return state


def per_call_us(step: Callable[[], object], repeat: int) -> float:
    began = time.perf_counter()
    for _ in range(repeat):
        step()
    return (time.perf_counter() - began) / repeat * 1e6


def measure(records: int, repeat: int) -> list[float]:
    """µs per decode, profile, encode, and per whole turn, for a history of `records`."""
    state = person_with_history(records)
    stored = encode_state(state)
    at = START + timedelta(days=records)
    visit = CloudEvent.of(HubVisited(person_id=state["person_id"], visit_id=str(uuid.uuid4()), hub_id="hub-0", visited_at=at), time=at)
    value, headers = visit.value(), visit.headers()

    def turn() -> None:
        """Load, fold one new event, derive the outputs, serialise the profile, store the state."""
        batch = PersonBatch()
        batch.fold(state["person_id"], CloudEvent.from_kafka(value, headers), lambda _: decode_state(stored))
        for _, folded, out in batch.outputs():
            if out.profile is not None:
                CloudEvent.of(out.profile, time=out.profile.updated_at).value()
            encode_state(folded)

    return [
        per_call_us(lambda: decode_state(stored), repeat),
        per_call_us(lambda: profile_of(state), repeat),
        per_call_us(lambda: encode_state(state), repeat),
        per_call_us(turn, repeat),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", default="10,60,150", help="history lengths (participation records)")
    parser.add_argument("--repeat", type=int, default=2000)
    args = parser.parse_args()
    print(f"{'records':>8} {'decode':>8} {'profile':>8} {'encode':>8} {'turn':>8}   (µs)")
    for records in (int(r) for r in args.records.split(",")):
        print(f"{records:>8} " + " ".join(f"{f:8.1f}" for f in measure(records, args.repeat)))


if __name__ == "__main__":
    main()
