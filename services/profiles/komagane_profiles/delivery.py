"""One message through a handler: under its span, retried a bounded number of times, then
dead-lettered to its topic's DLQ — never dropped. Used by every agent of the processor."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from faust.types import EventT
from opentelemetry import trace

from komagane_contracts.envelope import CloudEvent, InvalidEvent
from komagane_contracts.topics import dlq_name
from komagane_kit.dlq import dead_letter_headers
from komagane_kit.telemetry import context_from_headers
from komagane_profiles.app import app, settings

log = logging.getLogger(__name__)
tracer = trace.get_tracer("komagane.profiles")

Handler = Callable[[EventT, CloudEvent], Awaitable[None]]


async def process(event: EventT, handler: Handler, *, traced: bool = True) -> None:
    """Handle one message: retries with backoff, then the topic's DLQ. Returns only when done.

    `traced`: under a span of its own continuing the message's trace. A worker catching up
    (batching.py) folds old messages nobody is waiting for: they are covered by the batch's
    span instead, rather than adding a span to each of a million finished traces.
    """
    message = event.message
    headers = _headers(message.headers)
    scope = (
        tracer.start_as_current_span(f"profiles fold {message.topic}", context=context_from_headers(headers), kind=trace.SpanKind.CONSUMER)
        if traced
        else contextlib.nullcontext(trace.INVALID_SPAN)
    )
    with scope as span:
        if traced:
            span.set_attribute("messaging.destination.name", message.topic)
            span.set_attribute("messaging.kafka.offset", message.offset)
        attempt = 0
        while True:
            attempt += 1
            try:
                cloud_event = CloudEvent.from_kafka(message.value, headers)
                if traced:
                    span.set_attribute("messaging.message.id", cloud_event.id)
                await handler(event, cloud_event)
                return
            except InvalidEvent as exc:  # deterministic: retrying cannot help
                span.record_exception(exc)
                await dead_letter(event, headers, exc, attempt)
                return
            except Exception as exc:
                if attempt >= settings.profiles_max_attempts:
                    span.record_exception(exc)
                    await dead_letter(event, headers, exc, attempt)
                    return
                log.warning("processing %s@%s failed (attempt %d): %s", message.topic, message.offset, attempt, exc)
                await asyncio.sleep(settings.profiles_retry_backoff_seconds * 2 ** (attempt - 1))


async def dead_letter(event: EventT, headers: list[tuple[str, bytes]], error: BaseException, attempts: int) -> None:
    message = event.message
    dl_headers = dead_letter_headers(
        headers,
        error,
        topic=message.topic,
        partition=message.partition,
        offset=message.offset,
        attempts=attempts,
        consumer_group=app.conf.id,
    )
    await app.producer.send_and_wait(topic=dlq_name(message.topic), key=message.key, value=message.value, partition=None, timestamp=None, headers=dl_headers)
    log.error("dead-lettered %s[%d]@%d: %s", message.topic, message.partition, message.offset, error)


def _headers(raw: Any) -> list[tuple[str, bytes]]:
    if raw is None:
        return []
    items = raw.items() if isinstance(raw, dict) else raw
    return [(str(k), v if isinstance(v, bytes) else str(v).encode()) for k, v in items]
