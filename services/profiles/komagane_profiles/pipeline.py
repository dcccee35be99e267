"""The processor's folding steps without faust, Kafka or Redis: what one message does to the
state and what it asks to be written. The faust app (app.py) runs these with tables and
topics; `Replay` runs them over plain sequences of messages, for replay tests and benchmarks,
so both paths share one implementation.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from komagane_contracts.envelope import CloudEvent, InvalidEvent
from komagane_contracts.events.exchange import ParticipantAttended
from komagane_contracts.events.people import PersonErased
from komagane_contracts.events.profiles import CityKpisUpdated, HubMixUpdated, PersonProfileUpdated
from komagane_kit.clock import tokyo_date
from komagane_profiles import citykpis, kpis
from komagane_profiles.fold import apply, is_profile_withdrawal, person_of, profile_of
from komagane_profiles.hubmix import add_attendance, new_hub, summary
from komagane_profiles.state import State, erased_state, erasure_key, is_erased_state, new_state

CITY_KEY = "city"  # the one key of the KPI contributions topic and the totals table
# A KPI contributions record that moves an erased person's contribution to a random key: the
# city totals keep the counts they held, and no key left derives from the person id.
ANONYMISE = "anonymise_to"


def anonymised_contribution(person_id: str) -> dict[str, Any]:
    return {"pseudonym": kpis.pseudonym(person_id), ANONYMISE: f"anonymous:{uuid.uuid4()}"}


@dataclass
class PersonStep:
    """The outcome of folding one message into one person's state (the state is changed in place)."""

    applied: bool
    erase_requested: bool = False  # a redelivered PROFILE withdrawal: erase again (a crash may have cut it short)
    kpi_changed: bool = False  # the KPI summary changed, or a redelivery asks to send it again
    hub_records: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # (hub id, record)


def fold_person(state: State, event: CloudEvent, flags_due: kpis.FlagsDue | None = None) -> PersonStep:
    """Fold `event` (about the state's person): what changed, and the hub records to send.

    Outputs are asked for even for a redelivered event: a crash may have cut them short.
    The profile and KPI summary themselves are derived later, once per flush (`person_outputs`).
    """
    body = event.body()
    kpi_rev = state.get("kpi_rev", 0)
    step = PersonStep(applied=apply(state, event, flags_due))
    step.erase_requested = not step.applied and is_profile_withdrawal(event)
    if isinstance(body, ParticipantAttended):
        month = kpis.month_of(tokyo_date(body.attended_at))
        pending = [r for r in state.get("pending_mix", []) if r["attendance_id"] != body.attendance_id]
        pending.append({"attendance_id": body.attendance_id, "session_id": body.session_id, "hub_id": body.hub_id, "month": month})
        state["pending_mix"] = pending
    band = state.get("registration", {}).get("age_band")
    # Only the age band travels on: the hub side never learns who attended. Topics are not
    # ordered among each other, so attendance seen before the registration waits in the state.
    for record in state.pop("pending_mix", []) if band is not None else []:
        hub_id = record.pop("hub_id")
        step.hub_records.append((hub_id, {**record, "age_band": band}))
    step.kpi_changed = "kpi" in state and (state.get("kpi_rev", 0) != kpi_rev or not step.applied)
    return step


@dataclass
class PersonOutputs:
    """What to (re)write for one person at a flush (an erased person: `erase` only)."""

    profile: PersonProfileUpdated | None = None
    erase: bool = False
    kpi: dict[str, Any] | None = None  # {"pseudonym", "summary"}: to the KPI contributions topic


def person_outputs(state: State, *, erase_requested: bool = False, kpi_changed: bool = False) -> PersonOutputs:
    """The outputs of a person whose state changed since the last flush; records in the state
    whether a profile is out there (so a later withdrawal knows to erase it)."""
    if is_erased_state(state):
        return PersonOutputs(erase=True)  # again on every redelivery: a crash may have cut it short
    out = PersonOutputs(profile=profile_of(state))
    if out.profile is not None:
        state["profile_published"] = True
    elif state.get("profile_published") or erase_requested:
        out.erase = True
        state["profile_published"] = False
    if kpi_changed and "kpi" in state:
        out.kpi = {"pseudonym": kpis.pseudonym(state["person_id"]), "summary": state["kpi"]}
    return out


@dataclass
class Dirty:
    """A person folded since the last flush."""

    state: State
    erase_requested: bool = False
    kpi_changed: bool = False
    flags_due: kpis.FlagsDue = field(default_factory=kpis.FlagsDue)


class PersonBatch:
    """People folded since the last flush, and the hub records their events produced.

    States are folded in memory (parsed) and written once per flush, however many of the
    person's events the batch held; a state not in the batch is loaded with `load`.
    """

    def __init__(self) -> None:
        self.people: dict[str, Dirty] = {}
        self.hub_records: list[tuple[str, dict[str, Any]]] = []

    def fold(self, person_id: str, event: CloudEvent, load: Callable[[str], State | None]) -> PersonStep:
        """`load` finds a state by key: the person id, or the erasure key of an erased person
        (whose later events, a replay's included, are ignored: they never come back). An erased
        person has no state under their id, so only a person without one costs a second look."""
        dirty = self.people.get(person_id)
        if dirty is None:
            state = load(person_id) or load(erasure_key(person_id)) or new_state(person_id)
            dirty = self.people[person_id] = Dirty(state)
        if is_erased_state(dirty.state):
            return PersonStep(applied=False)
        if isinstance(event.body(), PersonErased):
            # Everything folded goes; anonymous KPI contributions and hub counts already sent stay.
            dirty.state, dirty.erase_requested, dirty.kpi_changed = erased_state(), True, False
            return PersonStep(applied=True)
        step = fold_person(dirty.state, event, dirty.flags_due)
        dirty.erase_requested |= step.erase_requested
        dirty.kpi_changed |= step.kpi_changed
        self.hub_records += step.hub_records
        return step

    def outputs(self) -> list[tuple[str, State, PersonOutputs]]:
        """Each person's outputs (sets the states' published flags: write the states after this)."""
        for dirty in self.people.values():
            if not is_erased_state(dirty.state) and dirty.flags_due.refresh(dirty.state):
                dirty.state["kpi_rev"] = dirty.state.get("kpi_rev", 0) + 1
                dirty.kpi_changed = True
        return [(p, d.state, person_outputs(d.state, erase_requested=d.erase_requested, kpi_changed=d.kpi_changed)) for p, d in self.people.items()]

    def clear(self) -> None:
        self.people.clear()
        self.hub_records.clear()


# Internal records (hub attendance, KPI contributions) travel as JSON arrays, one message per
# key and flush, so the aggregate agents take one message for many records. A message stays
# well under the broker's 1 MiB limit.
GROUP_MAX_BYTES = 256 * 1024


def grouped_records(records: Iterable[Mapping[str, Any]]) -> Iterator[bytes]:
    """`records` as JSON arrays of at most GROUP_MAX_BYTES each (in order)."""
    parts: list[bytes] = []
    size = 0
    for record in records:
        part = orjson.dumps(record)  # compact JSON, like records_of reads it
        if parts and size + len(part) > GROUP_MAX_BYTES:
            yield b"[" + b",".join(parts) + b"]"
            parts, size = [], 0
        parts.append(part)
        size += len(part) + 1
    if parts:
        yield b"[" + b",".join(parts) + b"]"


def records_of(value: bytes) -> list[dict[str, Any]]:
    """The records of an internal message: a JSON array of them."""
    records: list[dict[str, Any]] = orjson.loads(value)
    return records


def fold_hub(state: dict[str, Any], record: Mapping[str, Any]) -> bool:
    """One attendance into its hub's state; False when it was counted before."""
    return add_attendance(state, attendance_id=record["attendance_id"], session_id=record["session_id"], month=record["month"], age_band=record["age_band"])


def hub_mix_of(state: dict[str, Any]) -> HubMixUpdated:
    return HubMixUpdated.model_validate(summary(state))


def fold_kpi(totals: dict[str, citykpis.Totals], previous: citykpis.Contribution, person_summary: Mapping[str, Any]) -> tuple[citykpis.Contribution, set[str]]:
    """One person's latest KPI summary into the city totals (in place): their new contribution,
    and the months whose KPIs changed."""
    contribution = citykpis.contribution(person_summary)
    return contribution, citykpis.apply_contribution(totals, previous, contribution)


def city_totals(contributions: Iterable[citykpis.Contribution]) -> dict[str, citykpis.Totals]:
    """The city totals per month: the sum of every person's contribution."""
    totals: dict[str, citykpis.Totals] = {}
    for contribution in contributions:
        citykpis.apply_contribution(totals, {}, contribution)
    return totals


def profile_json(profile: PersonProfileUpdated) -> bytes:
    """The read model's value of a profile (what the gateway serves): the data of its
    PersonProfileUpdated event, byte for byte (so a flush serialises a profile once for both)."""
    return CloudEvent.of(profile, time=profile.updated_at).value()


class Replay:
    """Every step of the processor over a sequence of (value, headers) messages, in memory.

    Folds like the worker: person events in batches of `batch_size`, outputs derived per
    flush. The results do not depend on where the batches end.
    """

    def __init__(self, batch_size: int = 1000) -> None:
        self.people: dict[str, State] = {}
        self.hubs: dict[str, dict[str, Any]] = {}
        self.contributions: dict[str, citykpis.Contribution] = {}
        self.totals: dict[str, citykpis.Totals] = {}
        self.folded = 0
        self.invalid = 0
        self.batch_size = batch_size
        self._batch = PersonBatch()
        self._in_batch = 0

    def feed_all(self, messages: Iterable[tuple[bytes | None, Iterable[tuple[str, bytes]] | None]]) -> None:
        for value, headers in messages:
            self.feed(value, headers)
        self.flush()

    def feed(self, value: bytes | None, headers: Iterable[tuple[str, bytes]] | None) -> None:
        try:
            event = CloudEvent.from_kafka(value, headers)
            person_id = person_of(event.body())
        except InvalidEvent:
            self.invalid += 1  # the processor dead-letters these
            return
        if person_id is None:
            return
        self.feed_event(person_id, event)

    def feed_event(self, person_id: str, event: CloudEvent) -> None:
        self._batch.fold(person_id, event, self.people.get)
        self.folded += 1
        self._in_batch += 1
        if self._in_batch >= self.batch_size:
            self.flush()

    def flush(self) -> None:
        for person_id, state, out in self._batch.outputs():
            if is_erased_state(state):
                self.people.pop(person_id, None)
                self.people[erasure_key(person_id)] = state
                moved = anonymised_contribution(person_id)
                if (held := self.contributions.pop(moved["pseudonym"], None)) is not None:
                    self.contributions[moved[ANONYMISE]] = held
                continue
            self.people[person_id] = state
            if out.kpi is not None:
                name = out.kpi["pseudonym"]
                self.contributions[name], _ = fold_kpi(self.totals, self.contributions.get(name, {}), out.kpi["summary"])
        for hub_id, record in self._batch.hub_records:
            fold_hub(self.hubs.setdefault(hub_id, new_hub(hub_id)), record)
        self._batch.clear()
        self._in_batch = 0

    def profiles(self) -> dict[str, PersonProfileUpdated]:
        self.flush()
        out = {}
        for person_id, state in self.people.items():
            profile = profile_of(state)
            if profile is not None:
                out[person_id] = profile
        return out

    def hub_mixes(self) -> dict[str, HubMixUpdated]:
        self.flush()
        return {hub_id: hub_mix_of(state) for hub_id, state in self.hubs.items()}

    def city_kpis(self, months: Iterable[str] = ()) -> dict[str, CityKpisUpdated]:
        """KPIs of every month with totals, and of `months` too (all suppressed when empty)."""
        self.flush()
        return {month: citykpis.city_kpis(month, self.totals) for month in sorted(set(self.totals) | set(months))}
