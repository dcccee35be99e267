"""Keeping the gateway answering when a service does not: timeouts, retries, circuit breakers.

- Per-route timeouts (`timeout_for`): most calls are short reads; batch ingest and matching
  get longer. A call that runs out of time is 504, never a hang.
- Retries only for safe methods (GET, HEAD): a connection that could not be opened, or a
  502/503/504 from the service, is retried twice with a short backoff. A POST is never retried
  by the gateway — not even with an `Idempotency-Key`, since the gateway cannot know the
  service finished storing the first attempt's answer.
- A circuit breaker per service (`CircuitBreaker`): after `failure_threshold` consecutive
  failures (connection refused, timeout, 5xx) it opens and the gateway answers 503 with
  `Retry-After` at once for `open_seconds`; then one trial request goes through (half-open),
  and its outcome closes or reopens the circuit.
- While it is open the gateway follows the service's readiness (upstream.py: a `GET /readyz`
  every `READINESS_PROBE_SECONDS`, only then): the first 200 closes it on probation
  (`ready_again`), so a restarted service is answering again within a probe interval of
  being ready, not after whatever is left of `open_seconds`. Nothing is added per request.
  Should the first call after that fail too, readiness evidently does not speak for the routes
  (a service failing with its database up): then the circuit waits out `open_seconds` as before.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field

SAFE_METHODS = frozenset({"GET", "HEAD"})
RETRY_BACKOFF_SECONDS = (0.05, 0.2)
RETRYABLE_STATUS = frozenset({502, 503, 504})
# While a circuit is open: how often the service's readiness is asked, and the Retry-After
# given meanwhile (the circuit may close any moment, so callers are told to come back soon).
READINESS_PROBE_SECONDS = 0.2
READINESS_RETRY_AFTER_SECONDS = 1.0

# (methods, path pattern, seconds): the first match wins; anything else gets the default.
ROUTE_TIMEOUTS: tuple[tuple[frozenset[str], re.Pattern[str], float], ...] = (
    # Health station batches (thousands of rows) and bulk ingest.
    (frozenset({"POST", "PUT"}), re.compile(r"/v1/health/.*"), 60.0),
    # Matching ranks every open opportunity.
    (SAFE_METHODS, re.compile(r"/v1/people/[^/]+/matches"), 15.0),
)


def timeout_for(method: str, path: str, *, read: float, write: float) -> float:
    """The time a call may take: a listed route's own, else the read or write default."""
    for methods, pattern, seconds in ROUTE_TIMEOUTS:
        if method in methods and pattern.fullmatch(path):
            return seconds
    return read if method in SAFE_METHODS else write


class CircuitOpen(Exception):
    def __init__(self, retry_after: float) -> None:
        super().__init__(f"circuit open for {retry_after:.1f}s more")
        self.retry_after = retry_after

    @property
    def retry_after_header(self) -> str:
        return str(max(1, math.ceil(self.retry_after)))


@dataclass
class CircuitBreaker:
    """Closed → (threshold consecutive failures) → open → (open_seconds) → half-open → closed/open."""

    failure_threshold: int = 5
    open_seconds: float = 10.0
    clock: Callable[[], float] = time.monotonic
    failures: int = 0
    opened_at: float | None = None
    trial_in_flight: bool = field(default=False)
    trial_started: float = 0.0
    # Called when the circuit opens (not on every request): the upstream starts following the
    # service's readiness then.
    on_open: Callable[[], None] | None = None
    on_probation: bool = False  # closed by readiness; not yet confirmed by a successful call

    @property
    def state(self) -> str:
        if self.opened_at is None:
            return "closed"
        return "half-open" if self.clock() - self.opened_at >= self.open_seconds else "open"

    def before_call(self) -> None:
        """Raises CircuitOpen unless a call may go out now."""
        state = self.state
        if state == "closed":
            return
        # A trial that never reported back (its task was cancelled) does not block for ever.
        trial_busy = self.trial_in_flight and self.clock() - self.trial_started < self.open_seconds
        if state == "open" or trial_busy:
            assert self.opened_at is not None
            raise CircuitOpen(max(self.open_seconds - (self.clock() - self.opened_at), 0.5))
        self.trial_in_flight = True  # half-open: exactly one trial request
        self.trial_started = self.clock()

    def succeeded(self) -> None:
        self.failures = 0
        self.opened_at = None
        self.trial_in_flight = False
        self.on_probation = False

    def failed(self) -> None:
        self.failures += 1
        if self.trial_in_flight or self.failures >= self.failure_threshold:
            self.opened_at = self.clock()
            if self.on_open is not None and not self.on_probation:
                self.on_open()
            self.on_probation = False
        self.trial_in_flight = False

    def ready_again(self) -> None:
        """The service says it is ready: closed again, on probation (one more failure reopens it,
        as a failed half-open trial would, yet calls meanwhile are not held back)."""
        if self.opened_at is None:
            return
        self.opened_at = None
        self.trial_in_flight = False
        self.failures = max(self.failure_threshold - 1, 0)
        self.on_probation = True
