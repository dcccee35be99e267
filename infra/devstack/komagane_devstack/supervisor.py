"""Restart a child that exits unexpectedly, as compose's `restart: unless-stopped` does.

One thread watches every child of the stack. A child that exits without being stopped on purpose
is started again after a back-off (1 s doubling to 30 s, back to 1 s once it has run for a healthy
minute), with one line per event ("exchange exited with -9, restart 1 in 1 s"). A child that
keeps dying (5 exits within 2 minutes) is left stopped with a clear message; the gateway's
`/readyz` then names the service that is missing. Kafka, Redis and PostgreSQL restart on the
same data directory and port, so their clients reconnect by themselves.

Why not supervisord or circus: both are daemons of their own with config files and an RPC
interface, and neither offers this back-off (supervisord retries a fixed number of times with a
linear back-off, then gives up for good). The stack already owns its children and their
readiness probes; a loop of a page over them is the smaller thing to keep.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from komagane_devstack.process import ManagedProcess

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RestartPolicy:
    first_backoff: float = 1.0
    max_backoff: float = 30.0
    healthy_after: float = 60.0  # running this long resets the back-off
    give_up_exits: int = 5  # this many exits …
    give_up_window: float = 120.0  # … within this many seconds leave the child stopped


@dataclass
class ChildState:
    process: ManagedProcess
    restarts: int = 0
    backoff: float = 0.0
    restart_at: float | None = None  # monotonic time of the pending restart
    exits: deque[float] = field(default_factory=deque)
    last_exit: int | None = None
    given_up: bool = False

    @property
    def state(self) -> str:
        if self.given_up:
            return "given up"
        if self.restart_at is not None:
            return "restarting"
        return "running" if self.process.running() else "stopped"


class Supervisor:
    def __init__(self, policy: RestartPolicy | None = None, *, report: Callable[[str], None] | None = None, interval: float = 0.2) -> None:
        self.policy = policy or RestartPolicy()
        self.report = report or log.warning
        self.interval = interval
        self.children: dict[str, ChildState] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def watch(self, process: ManagedProcess) -> None:
        self.children[process.name] = ChildState(process, backoff=self.policy.first_backoff)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="supervisor", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop watching (before the stack stops its children, so none is restarted meanwhile)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def status(self) -> dict[str, dict[str, object]]:
        return {name: {"state": c.state, "restarts": c.restarts, "last_exit": c.last_exit} for name, c in self.children.items()}

    def given_up(self) -> list[str]:
        return [name for name, child in self.children.items() if child.given_up]

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            for name, child in self.children.items():
                try:
                    self.check(name, child, time.monotonic())
                except Exception:  # one child's trouble must not end the watch over the others
                    log.exception("supervising %s failed", name)

    def check(self, name: str, child: ChildState, now: float) -> None:
        process, policy = child.process, self.policy
        if child.given_up or process.stopped_on_purpose:
            child.restart_at = None
            return
        if child.restart_at is not None:
            if now >= child.restart_at:
                child.restart_at = None
                process.start()  # does nothing if someone else started it meanwhile
            return
        code = process.exit_code()
        if code is None:
            if process.running() and now - process.started_at >= policy.healthy_after:
                child.backoff = policy.first_backoff
            return
        child.last_exit = code
        child.exits.append(now)
        while child.exits and now - child.exits[0] > policy.give_up_window:
            child.exits.popleft()
        if len(child.exits) >= policy.give_up_exits:
            child.given_up = True
            self.report(f"{name} exited with {code} {len(child.exits)} times within {policy.give_up_window:.0f} s; left stopped. Its log: {process.log_path}")
            return
        child.restarts += 1
        wait = child.backoff
        child.backoff = min(child.backoff * 2, policy.max_backoff)
        child.restart_at = now + wait
        self.report(f"{name} exited with {code}, restart {child.restarts} in {wait:g} s")
