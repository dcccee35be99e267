"""`make up` itself (python -m komagane_devstack up): a killed service comes back by itself, the
rest keep serving, and Ctrl-C then stops every process it started — nothing is left running."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from komagane_devstack.process import free_port, process_tree, wait_until
from komagane_devstack.stack import PILLARS


class Output:
    """The lines `make up` prints, read as they come."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.lines: list[str] = []
        assert proc.stdout is not None
        self._thread = threading.Thread(target=self._read, args=(proc.stdout,), daemon=True)
        self._thread.start()

    def _read(self, stream: object) -> None:
        for line in stream:  # type: ignore[attr-defined]
            self.lines.append(line.rstrip("\n"))

    def has(self, text: str) -> bool:
        return any(text in line for line in self.lines)


@pytest.mark.timeout(600)
def test_make_up_heals_a_killed_service_and_ctrl_c_leaves_nothing_running(tmp_path: Path) -> None:
    ports = {f"KOMAGANE_{name.upper()}_PORT": str(free_port()) for name in ["kafka", "redis", "gateway", "profiles", *(n for n, _ in PILLARS)]}
    env = {**os.environ, **ports, "KOMAGANE_DATA_DIR": str(tmp_path), "KOMAGANE_TOWN_PEOPLE": "500", "KOMAGANE_TOWN_DAYS": "14", "KOMAGANE_TOWN_RATE": "2"}
    proc = subprocess.Popen([sys.executable, "-m", "komagane_devstack", "up"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    output = Output(proc)
    try:
        wait_until(lambda: output.has("Press Ctrl-C to stop everything."), timeout=420, interval=0.5, what="make up to be up")
        children = set(process_tree(proc.pid)) - {proc.pid}
        jobs = f"http://127.0.0.1:{ports['KOMAGANE_JOBS_PORT']}"
        gateway = f"http://127.0.0.1:{ports['KOMAGANE_GATEWAY_PORT']}"
        os.killpg(_pid_listening(int(ports["KOMAGANE_JOBS_PORT"])), signal.SIGKILL)  # a service's group is its own
        wait_until(lambda: output.has("jobs exited with -9, restart 1 in 1 s"), timeout=30, what="the restart line")
        wait_until(lambda: _ok(f"{jobs}/readyz"), timeout=90, interval=0.2, what="jobs ready again")
        wait_until(lambda: _ok(f"{gateway}/readyz"), timeout=60, interval=0.2, what="the gateway ready again")
        assert proc.poll() is None, "make up kept running"
        began = time.monotonic()
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=120) == 0
        print(f"\nCtrl-C stopped make up in {time.monotonic() - began:.1f} s")
        assert output.has("stopped; nothing left running.")
        alive = [pid for pid in children | set(process_tree(proc.pid)) if Path(f"/proc/{pid}").exists() and not _zombie(pid)]
        assert alive == [], f"left running: {alive}"
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            proc.wait(timeout=120)


def _ok(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2.0).status_code == 200
    except httpx.HTTPError:
        return False


def _pid_listening(port: int) -> int:
    """The process listening on 127.0.0.1:port (from /proc/net/tcp and the fds of processes)."""
    inode = next(
        line.split()[9]
        for line in Path("/proc/net/tcp").read_text().splitlines()[1:]
        if line.split()[1].endswith(f":{port:04X}") and line.split()[3] == "0A"  # LISTEN
    )
    for fd_dir in Path("/proc").glob("[0-9]*/fd"):
        try:
            if any(os.readlink(fd) == f"socket:[{inode}]" for fd in fd_dir.iterdir()):
                return int(fd_dir.parent.name)
        except (FileNotFoundError, PermissionError, ProcessLookupError):
            continue
    raise LookupError(f"nobody listens on {port}")


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True
