"""When to ask again, and how long to wait first.

Retried: no connection, a connection that broke, and the answers that mean "not now" — 429
(rate limit), 502/503/504 (a service or the gateway restarting or overloaded) and a 409 saying
the same write (same key) is still in progress, as after a first attempt that timed out. A write is
only ever retried with the same Idempotency-Key, so the platform applies it once however many
times it arrives. The wait is the server's `Retry-After` when it gives one (it knows when to
come back: the gateway says 1 s while it watches a restarting service), else an exponential
backoff; both with jitter, so callers refused together do not return together, and capped.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

RETRY_STATUSES = frozenset({429, 502, 503, 504})
# A 409 of these kinds says the first attempt under the same Idempotency-Key is still being
# processed (the gateway's store, or the service's): asked again, it gets that attempt's answer.
IN_PROGRESS_KINDS = ("idempotency-key-in-progress", "request-in-progress")


def still_in_progress(status: int, body: bytes) -> bool:
    """A 409 problem that means "the same request is still running", not a real conflict."""
    return status == 409 and any(f"/{kind}".encode() in body for kind in IN_PROGRESS_KINDS)


@dataclass(frozen=True)
class RetryPolicy:
    """`deadline`: seconds from the first attempt after which a write is reported pending."""

    first_backoff: float = 0.1
    max_backoff: float = 5.0
    max_retry_after: float = 30.0
    deadline: float = 120.0
    jitter: float = 0.2  # waits are stretched by up to this fraction, at random

    def wait(self, retry: int, retry_after: str | None, rng: random.Random) -> float:
        """The wait before retry number `retry` (1, 2, …)."""
        told = parse_retry_after(retry_after)
        base = min(told, self.max_retry_after) if told is not None else min(self.max_backoff, self.first_backoff * 2 ** (retry - 1))
        return base * (1 + self.jitter * rng.random())


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header: delay-seconds (fractions accepted) or an HTTP date."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())
