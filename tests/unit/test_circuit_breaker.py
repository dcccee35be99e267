"""The per-service circuit breaker's states, on a clock the test moves."""

from __future__ import annotations

import pytest

from komagane_gateway.resilience import CircuitBreaker, CircuitOpen, timeout_for


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_opens_after_consecutive_failures_and_recovers_through_one_trial() -> None:
    clock = Clock()
    breaker = CircuitBreaker(failure_threshold=3, open_seconds=10, clock=clock)
    for _ in range(2):
        breaker.before_call()
        breaker.failed()
    breaker.before_call()
    breaker.succeeded()  # a success resets the count
    for _ in range(3):
        breaker.before_call()
        breaker.failed()
    assert breaker.state == "open"
    with pytest.raises(CircuitOpen) as refused:
        breaker.before_call()
    assert refused.value.retry_after_header == "10"
    clock.now += 10
    breaker.before_call()  # the one trial of the half-open state
    with pytest.raises(CircuitOpen):
        breaker.before_call()  # while it runs, nobody else
    breaker.failed()
    assert breaker.state == "open"  # the trial failed: open again for a full period
    clock.now += 10
    breaker.before_call()
    breaker.succeeded()
    assert breaker.state == "closed"
    breaker.before_call()


def test_readiness_closes_an_open_circuit_on_probation() -> None:
    clock = Clock()
    opened: list[float] = []
    breaker = CircuitBreaker(failure_threshold=3, open_seconds=10, clock=clock, on_open=lambda: opened.append(clock.now))
    for _ in range(3):
        breaker.before_call()
        breaker.failed()
    assert breaker.state == "open" and opened == [100.0]  # told once, when it opened
    clock.now += 1
    breaker.ready_again()  # long before open_seconds
    assert breaker.state == "closed"
    breaker.before_call()
    breaker.before_call()  # not a single trial: calls are not held back
    breaker.succeeded()
    breaker.before_call()
    breaker.failed()  # after a success the full threshold counts again
    assert breaker.state == "closed"
    breaker.ready_again()  # a closed circuit stays as it is
    assert breaker.failures == 1


def test_a_service_ready_yet_failing_is_given_the_full_open_period() -> None:
    clock = Clock()
    opened: list[float] = []
    breaker = CircuitBreaker(failure_threshold=3, open_seconds=10, clock=clock, on_open=lambda: opened.append(clock.now))
    for _ in range(3):
        breaker.before_call()
        breaker.failed()
    breaker.ready_again()
    breaker.before_call()
    breaker.failed()  # on probation: one failure reopens it
    assert breaker.state == "open"
    assert opened == [100.0], "its readiness does not speak for its routes: no second follow-up"
    clock.now += 10
    breaker.before_call()  # the half-open trial, as without readiness
    breaker.failed()
    assert breaker.state == "open" and opened == [100.0, 110.0]  # a fresh opening: followed again


def test_route_timeouts() -> None:
    assert timeout_for("POST", "/v1/health/daily-activity/batches", read=5, write=10) == 60
    assert timeout_for("GET", "/v1/people/p/matches", read=5, write=10) == 15
    assert timeout_for("GET", "/v1/hubs", read=5, write=10) == 5
    assert timeout_for("POST", "/v1/hubs", read=5, write=10) == 10
