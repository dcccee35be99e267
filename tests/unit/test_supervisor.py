"""The devstack's supervisor on real (tiny) child processes: restart, back-off, giving up."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from komagane_devstack.process import ManagedProcess, wait_until
from komagane_devstack.supervisor import RestartPolicy, Supervisor


def child(tmp_path: Path, name: str, code: str) -> ManagedProcess:
    return ManagedProcess(name, [sys.executable, "-c", code], log_dir=tmp_path)


@pytest.fixture
def sleeper(tmp_path: Path) -> Iterator[ManagedProcess]:
    process = child(tmp_path, "sleeper", "import signal; print('up', flush=True); signal.pause()")
    process.start()
    yield process
    process.stop(grace=2)


def test_a_killed_child_is_restarted_and_the_restart_logged_in_one_line(sleeper: ManagedProcess) -> None:
    lines: list[str] = []
    supervisor = Supervisor(RestartPolicy(first_backoff=0.05), report=lines.append, interval=0.02)
    supervisor.watch(sleeper)
    supervisor.start()
    try:
        first = sleeper.pid
        sleeper.kill()
        wait_until(lambda: sleeper.running() and sleeper.pid != first, timeout=10, what="the restart")
        assert lines == ["sleeper exited with -9, restart 1 in 0.05 s"]
        assert supervisor.status()["sleeper"] == {"state": "running", "restarts": 1, "last_exit": -9}
        # A stop on purpose is not undone.
        sleeper.stop(grace=2)
        supervisor.stop()
        assert not sleeper.running() and len(lines) == 1
    finally:
        supervisor.stop()


def test_back_off_doubles_to_its_cap_and_a_child_that_keeps_dying_is_left_stopped(tmp_path: Path) -> None:
    crasher = child(tmp_path, "crasher", "raise SystemExit(3)")
    lines: list[str] = []
    policy = RestartPolicy(first_backoff=1, max_backoff=4, give_up_exits=5, give_up_window=120)
    supervisor = Supervisor(policy, report=lines.append)
    supervisor.watch(crasher)
    state = supervisor.children["crasher"]
    now = 1000.0
    crasher.start()
    for _ in range(4):
        assert crasher.proc is not None
        crasher.proc.wait(timeout=10)
        supervisor.check("crasher", state, now)
        wait = state.restart_at - now if state.restart_at is not None else None
        supervisor.check("crasher", state, now + 0.5)  # not yet: still waiting
        assert not crasher.running() and crasher.starts == state.restarts
        assert wait is not None
        now += wait
        supervisor.check("crasher", state, now)  # now it starts again
        assert crasher.starts == state.restarts + 1
    assert crasher.proc is not None
    crasher.proc.wait(timeout=10)
    supervisor.check("crasher", state, now)
    assert lines == [
        "crasher exited with 3, restart 1 in 1 s",
        "crasher exited with 3, restart 2 in 2 s",
        "crasher exited with 3, restart 3 in 4 s",
        "crasher exited with 3, restart 4 in 4 s",
        f"crasher exited with 3 5 times within 120 s; left stopped. Its log: {crasher.log_path}",
    ]
    assert supervisor.given_up() == ["crasher"] and supervisor.status()["crasher"]["state"] == "given up"
    supervisor.check("crasher", state, now + 3600)
    assert crasher.starts == 5, "a child given up on stays stopped"


def test_a_healthy_minute_resets_the_back_off(sleeper: ManagedProcess) -> None:
    lines: list[str] = []
    supervisor = Supervisor(RestartPolicy(first_backoff=1, healthy_after=60), report=lines.append)
    supervisor.watch(sleeper)
    state = supervisor.children["sleeper"]
    state.backoff = 16.0  # as after several quick crashes
    supervisor.check("sleeper", state, sleeper.started_at + 30)
    assert state.backoff == 16.0
    supervisor.check("sleeper", state, sleeper.started_at + 61)
    assert state.backoff == 1.0


def test_each_run_starts_a_fresh_log_and_a_restart_appends_under_a_marker(tmp_path: Path) -> None:
    (tmp_path / "talker.log").write_text("an earlier run\n")
    talker = child(tmp_path, "talker", "print('this run', flush=True)")
    talker.start()
    assert talker.proc is not None
    talker.proc.wait(timeout=10)
    talker.start()
    talker.proc.wait(timeout=10)
    log = talker.log_path.read_text()
    assert "an earlier run" not in log and log.splitlines().count("this run") == 2 and "started again" in log
    assert (tmp_path / "talker.log.1").read_text() == "an earlier run\n"
