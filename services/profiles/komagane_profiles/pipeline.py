"""The processor's folding steps without faust, Kafka or Redis: what one message does to the
state and what it asks to be written. The faust app (app.py) runs these with tables and
topics; `Replay` runs them over plain sequences of messages, for replay tests and benchmarks,
so both paths share one implementation.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from komagane_contracts.envelope import CloudEvent, InvalidEvent
from komagane_contracts.events.exchange import ParticipantAttended
from komagane_contracts.events.profiles import CityKpisUpdated, HubMixUpdated, PersonProfileUpdated
from komagane_kit.clock import tokyo_date
from komagane_profiles import kpis
from komagane_profiles.fold import State, apply, is_profile_withdrawal, new_state, person_of, profile_of
from komagane_profiles.hubmix import add_attendance, new_hub, summary

CITY_KEY = "city"  # the one key of the KPI contributions topic and the totals table


@dataclass
class PersonStep:
    """The outcome of folding one message into one person's state (the state is changed in place)."""

    applied: bool
    profile: PersonProfileUpdated | None = None
    erase: bool = False
    hub_records: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # (hub id, record)
    kpi: dict[str, Any] | None = None  # {"pseudonym", "summary"}: to the KPI contributions topic


def fold_person(state: State, event: CloudEvent) -> PersonStep:
    """Fold `event` (about the state's person) and say which outputs to (re)write.

    Outputs are asked for even for a redelivered event: a crash may have cut them short.
    """
    body = event.body()
    kpi_rev = state.get("kpi_rev", 0)
    step = PersonStep(applied=apply(state, event))
    step.profile = profile_of(state)
    if step.profile is not None:
        state["profile_published"] = True
    elif state.get("profile_published") or (not step.applied and is_profile_withdrawal(event)):
        step.erase = True
        state["profile_published"] = False
    if isinstance(body, ParticipantAttended):
        month = tokyo_date(body.attended_at).strftime("%Y-%m")
        pending = [r for r in state.get("pending_mix", []) if r["attendance_id"] != body.attendance_id]
        pending.append({"attendance_id": body.attendance_id, "session_id": body.session_id, "hub_id": body.hub_id, "month": month})
        state["pending_mix"] = pending
    band = state.get("registration", {}).get("age_band")
    # Only the age band travels on: the hub side never learns who attended. Topics are not
    # ordered among each other, so attendance seen before the registration waits in the state.
    for record in state.pop("pending_mix", []) if band is not None else []:
        hub_id = record.pop("hub_id")
        step.hub_records.append((hub_id, {**record, "age_band": band}))
    if "kpi" in state and (state.get("kpi_rev", 0) != kpi_rev or not step.applied):
        step.kpi = {"pseudonym": kpis.pseudonym(state["person_id"]), "summary": state["kpi"]}
    return step


def fold_hub(state: dict[str, Any], record: Mapping[str, Any]) -> HubMixUpdated:
    add_attendance(state, attendance_id=record["attendance_id"], session_id=record["session_id"], month=record["month"], age_band=record["age_band"])
    return HubMixUpdated.model_validate(summary(state))


def fold_kpi(totals: dict[str, kpis.Totals], previous: kpis.Contribution, person_summary: Mapping[str, Any]) -> tuple[kpis.Contribution, set[str]]:
    """One person's latest KPI summary into the city totals (in place): their new contribution,
    and the months whose KPIs changed."""
    contribution = kpis.contribution(person_summary)
    return contribution, kpis.apply_contribution(totals, previous, contribution)


def profile_json(profile: PersonProfileUpdated) -> str:
    """The read model's value of a profile (what the gateway serves)."""
    return json.dumps(profile.model_dump(mode="json"), ensure_ascii=False)


class Replay:
    """Every step of the processor over a sequence of (value, headers) messages, in memory."""

    def __init__(self) -> None:
        self.people: dict[str, State] = {}
        self.hubs: dict[str, dict[str, Any]] = {}
        self.contributions: dict[str, kpis.Contribution] = {}
        self.totals: dict[str, kpis.Totals] = {}
        self.folded = 0
        self.invalid = 0

    def feed_all(self, messages: Iterable[tuple[bytes | None, Iterable[tuple[str, bytes]] | None]]) -> None:
        for value, headers in messages:
            self.feed(value, headers)

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
        state = self.people.get(person_id) or new_state(person_id)
        step = fold_person(state, event)
        self.people[person_id] = state
        self.folded += 1
        for hub_id, record in step.hub_records:
            fold_hub(self.hubs.setdefault(hub_id, new_hub(hub_id)), record)
        if step.kpi is not None:
            name = step.kpi["pseudonym"]
            self.contributions[name], _ = fold_kpi(self.totals, self.contributions.get(name, {}), step.kpi["summary"])

    def profiles(self) -> dict[str, PersonProfileUpdated]:
        out = {}
        for person_id, state in self.people.items():
            profile = profile_of(state)
            if profile is not None:
                out[person_id] = profile
        return out

    def hub_mixes(self) -> dict[str, HubMixUpdated]:
        return {hub_id: HubMixUpdated.model_validate(summary(state)) for hub_id, state in self.hubs.items()}

    def city_kpis(self, months: Iterable[str] = ()) -> dict[str, CityKpisUpdated]:
        """KPIs of every month with totals, and of `months` too (all suppressed when empty)."""
        return {month: kpis.city_kpis(month, self.totals) for month in sorted(set(self.totals) | set(months))}
