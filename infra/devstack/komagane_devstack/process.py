"""A child process with its own log file, stopped with SIGTERM and, if it lingers, SIGKILL.

Its log starts afresh each run (the previous run's is kept as `<name>.log.1`), so a failure
message shows this run's lines; a restart within the run appends to it under a marker line.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(predicate: Callable[[], bool], *, timeout: float, interval: float = 0.1, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}")


class ManagedProcess:
    def __init__(self, name: str, argv: Sequence[str], *, log_dir: Path, env: dict[str, str] | None = None, cwd: Path | None = None) -> None:
        self.name = name
        self.argv = list(argv)
        self.env = {**os.environ, **(env or {})}
        self.cwd = cwd
        self.log_path = log_dir / f"{name}.log"
        self.proc: subprocess.Popen[bytes] | None = None
        # Set by stop(): an exit the supervisor must not undo. Cleared by start().
        self.stopped_on_purpose = False
        self.started_at = 0.0  # monotonic time of the last start
        self.starts = 0
        # start() and stop() may come from the supervisor's thread and from a test at once.
        self._lock = threading.RLock()

    def start(self) -> None:
        """Start the process, unless it is running already (then this does nothing)."""
        with self._lock:
            if self.running():
                return
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            if self.starts == 0 and self.log_path.exists():
                self.log_path.replace(self.log_path.with_name(self.log_path.name + ".1"))
            with self.log_path.open("ab") as log:
                if self.starts:
                    log.write(f"\n--- started again at {time.strftime('%H:%M:%S')} (start {self.starts + 1} of this run) ---\n".encode())
                    log.flush()
                # A new session, so Ctrl-C in the terminal reaches only the orchestrator, which
                # then stops children in order instead of all at once.
                self.proc = subprocess.Popen(self.argv, env=self.env, cwd=self.cwd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
            self.stopped_on_purpose = False
            self.started_at = time.monotonic()
            self.starts += 1

    def exit_code(self) -> int | None:
        """The exit status once it has exited (negative: the signal that ended it), else None."""
        return self.proc.poll() if self.proc is not None else None

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def check_alive(self) -> None:
        if self.proc is not None and self.proc.poll() is not None:
            raise RuntimeError(f"{self.name} exited with {self.proc.returncode}; log tail:\n{self.log_tail()}")

    def stop(self, grace: float = 15.0) -> None:
        with self._lock:
            self.stopped_on_purpose = True
            if self.proc is None or self.proc.poll() is not None:
                return
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                return
            try:
                self.proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)

    def kill(self, *, stay_down: bool = False) -> None:
        """SIGKILL, as a crash would: a supervisor watching this process restarts it, unless
        `stay_down` (a test that wants it away until it calls start() itself)."""
        self.signal(signal.SIGKILL, stay_down=stay_down)
        if self.proc is not None:
            self.proc.wait(timeout=10)

    def signal(self, signum: int, *, stay_down: bool = False) -> None:
        """Send a signal to the process and its children (SIGSTOP/SIGCONT: a hung process).
        `stay_down`: should it end, the supervisor leaves it stopped until start()."""
        if stay_down:
            self.stopped_on_purpose = True
        if self.proc is not None and self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signum)

    def cpu_seconds(self) -> float:
        """User + system CPU time of the process and its children so far (Linux /proc), those
        that have exited included: PostgreSQL runs a process per connection, and a pool that
        closes one would otherwise take its time out of the sum."""
        if self.proc is None:
            return 0.0
        ticks = 0
        for pid in process_tree(self.proc.pid):
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except (FileNotFoundError, ProcessLookupError):
                continue
            # utime, stime, and cutime, cstime: the time of its children it has waited for.
            ticks += int(fields[11]) + int(fields[12]) + int(fields[13]) + int(fields[14])
        return ticks / os.sysconf("SC_CLK_TCK")

    def rss_kib(self) -> int:
        """Resident memory of the process and its children, in KiB (Linux /proc)."""
        if self.proc is None:
            return 0
        total = 0
        for pid in process_tree(self.proc.pid):
            try:
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
            except (FileNotFoundError, ProcessLookupError):
                continue
        return total

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return ""


def process_tree(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError, IndexError):
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(children.get(pid, []))
    return out
