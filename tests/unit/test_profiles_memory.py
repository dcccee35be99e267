"""What a profiles worker keeps in memory besides its tables (komagane_profiles.memory) is
owned by its app: each app gets its own, created with it, and nothing is shared through class
attributes (a second app in one process, as tests and benchmarks make, starts empty)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from komagane_profiles.memory import WorkerMemory
from komagane_profiles.metrics import Participation
from komagane_profiles.state import new_state
from komagane_profiles.worker import ProfilesApp

T0 = datetime(2026, 5, 1, tzinfo=UTC)


def new_app(name: str) -> ProfilesApp:
    return ProfilesApp(name, broker="kafka://127.0.0.1:1", store="memory://", fetch_max_wait_ms=100, stop_wait_seconds=1.0, stop_deadline_seconds=1.0)


def test_each_app_owns_its_memory() -> None:
    first, second = new_app("memory-a"), new_app("memory-b")
    assert isinstance(first.memory, WorkerMemory) and first.memory is not second.memory
    first.memory.kpi_outputs.dirty.add("2026-05")
    first.memory.lapses.due["p"] = date(2026, 6, 1)
    first.memory.hubs.states["h"] = {"hub_id": "h"}
    first.memory.watermark.advance(T0)
    other = second.memory  # nothing leaked into the other app
    assert (other.kpi_outputs.dirty, other.lapses.due, other.hubs.states, other.watermark.latest) == (set(), {}, {}, None)


def test_the_watermark_only_moves_forward() -> None:
    memory = WorkerMemory()
    memory.watermark.advance(T0)
    memory.watermark.advance(T0 - timedelta(days=1))  # a late event from another partition
    assert memory.watermark.latest == T0


def test_the_lapse_watch_notes_when_a_person_lapses_and_forgets_who_cannot() -> None:
    memory = WorkerMemory()
    state = new_state("p") | {"consents": ["PROFILE"], "participation": [Participation(date(2026, 4, 1), "hub:h", None, "ATTEND", 0.0, "e")]}
    assert memory.lapses.note("p", state) == date(2026, 4, 30)  # 28 days without participation, the day after
    assert memory.lapses.due == {"p": date(2026, 4, 30)}
    assert memory.lapses.note("p", new_state("p")) is None and memory.lapses.due == {}
