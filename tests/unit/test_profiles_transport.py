"""The profile processor's Kafka consumer is built with the app's fetch wait, not faust's fixed
1.5 s (komagane_profiles.transport.ConsumerThread says why that wait was a latency floor)."""

from __future__ import annotations

import faust
from faust.types.transports import TransportT

from komagane_profiles.transport import ConsumerThread, Transport


class App(faust.App):  # type: ignore[misc]  # faust is untyped here
    fetch_max_wait_ms = 123

    def _new_transport(self) -> TransportT:
        return Transport(self.conf.broker_consumer, self)


async def test_the_worker_consumer_waits_for_a_fetch_at_most_the_apps_fetch_wait() -> None:
    app = App("fetch-wait-test", broker="kafka://127.0.0.1:9")
    thread = app.consumer._thread
    assert isinstance(thread, ConsumerThread)
    consumer = thread._create_worker_consumer(app.transport)  # built, not started: no broker needed
    try:
        assert consumer._fetch_max_wait_ms == 123
    finally:
        await consumer._client.close()
