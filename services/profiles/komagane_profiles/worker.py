"""The faust application class of the processor: its own Kafka transport, and a stop that ends.

With the broker away, a stop could not finish: the last batches' outputs cannot be written,
so their messages are never acknowledged or committed, and faust waited for them (and for its
producer's buffer, and its clients' close) without end, until the worker was killed. The steps
that need the broker are each given up after `stop_wait_seconds` (transport.py), and whatever
still waits on the broker when `stop_deadline_seconds` have passed since the stop began is
abandoned by ending the process. By then the tables are closed (their stores written), and
nothing that was not committed is lost: the next run reads it again from the committed
offsets, and folding is idempotent.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from typing import Any

import faust
from faust.types.transports import TransportT

from komagane_profiles.memory import WorkerMemory
from komagane_profiles.transport import Transport

log = logging.getLogger(__name__)


class ProfilesApp(faust.App):  # type: ignore[misc]  # faust.App is untyped to mypy here
    """faust.App on the consumer whose deliveries are fenced off around rebalances (transport.py)."""

    def __init__(self, *args: Any, fetch_max_wait_ms: int, stop_wait_seconds: float, stop_deadline_seconds: float, **kwargs: Any) -> None:
        self.fetch_max_wait_ms = fetch_max_wait_ms  # read by the consumer (transport.ConsumerThread)
        self.stop_wait_seconds = stop_wait_seconds  # and these when the worker stops
        self.stop_deadline_seconds = stop_deadline_seconds
        self.memory = WorkerMemory()  # what the agents, timers and views share besides the tables
        super().__init__(*args, **kwargs)

    def _new_transport(self) -> TransportT:
        return Transport(self.conf.broker_consumer, self)

    def _new_producer_transport(self) -> TransportT:
        return Transport(self.conf.broker_producer, self)

    async def on_stop(self) -> None:
        end_after(self.stop_deadline_seconds)
        await super().on_stop()


def end_after(seconds: float) -> threading.Timer:
    """End the process if it is still stopping after `seconds` (a thread: the event loop may be
    the one stuck)."""

    def give_up() -> None:
        log.warning("the stop did not finish within %.0f s (is Kafka away?): ending; what was not committed is read again", seconds)
        for handler in logging.getLogger().handlers:
            handler.flush()
        sys.stdout.flush()
        os._exit(0)

    timer = threading.Timer(seconds, give_up)
    timer.daemon = True
    timer.start()
    return timer
