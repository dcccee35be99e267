"""CloudEvents 1.0 envelope in Kafka binary mode.

Attributes travel as `ce_*` headers, the JSON body is the event data, the Kafka key is the
subject (the person id for person-centred events). `traceparent` carries the W3C trace context;
`ce_sensitivity` and `ce_controller` are the platform's extension attributes.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import orjson
from pydantic import ValidationError

from komagane_contracts.events.base import EventModel
from komagane_contracts.registry import event_class
from komagane_contracts.vocabulary import Controller, Sensitivity

SPECVERSION = "1.0"
CONTENT_TYPE = "application/json"
REQUIRED_HEADERS = ("ce_specversion", "ce_id", "ce_source", "ce_type", "ce_time")

Headers = list[tuple[str, bytes]]


class InvalidEvent(ValueError):
    """A message that is not a valid platform CloudEvent (bad headers, JSON or body)."""


@dataclass(frozen=True)
class CloudEvent:
    id: str
    type: str
    source: str
    time: datetime
    data: dict[str, Any]
    sensitivity: Sensitivity
    controller: Controller
    subject: str | None = None
    traceparent: str | None = None
    tracestate: str | None = None
    extra_headers: tuple[tuple[str, bytes], ...] = field(default=())

    @classmethod
    def of(cls, body: EventModel, *, time: datetime | None = None, event_id: str | None = None, sensitivity: Sensitivity | None = None) -> CloudEvent:
        """Wrap an event body; `time` is the event time (when it happened), now by default.

        `sensitivity` raises the class's default for one event (e.g. attendance at a
        support-specific activity is S2), only as the type declares
        (`EventModel.raised_sensitivity`): where the body decides (a welfare arrangement), the
        caller cannot change it.
        """
        level = body.published_sensitivity(sensitivity)
        return cls(
            id=event_id or str(uuid.uuid4()),
            type=body.event_type,
            source=body.source,
            time=time or datetime.now(UTC),
            data=body.model_dump(mode="json"),
            sensitivity=level,
            controller=body.controller,
            subject=body.subject(),
        )

    def with_trace(self, traceparent: str | None, tracestate: str | None = None) -> CloudEvent:
        return replace(self, traceparent=traceparent, tracestate=tracestate)

    @property
    def key(self) -> bytes | None:
        return self.subject.encode() if self.subject else None

    def body(self) -> EventModel:
        """The validated event body; raises InvalidEvent for unknown types or invalid data.

        Validated once per event (consumers ask for it at several steps); `data` is not to be
        changed after that.
        """
        cached: EventModel | None = self.__dict__.get("_body")
        if cached is not None:
            return cached
        cls = event_class(self.type)
        if cls is None:
            raise InvalidEvent(f"unknown event type {self.type!r}")
        try:
            body = cls.model_validate(self.data)
        except ValidationError as exc:
            raise InvalidEvent(f"invalid {self.type} body: {exc}") from exc
        object.__setattr__(self, "_body", body)  # frozen: set past the dataclass guard
        return body

    def value(self) -> bytes:
        return json.dumps(self.data, ensure_ascii=False, separators=(",", ":")).encode()

    def headers(self) -> Headers:
        headers: Headers = [
            ("ce_specversion", SPECVERSION.encode()),
            ("ce_id", self.id.encode()),
            ("ce_source", self.source.encode()),
            ("ce_type", self.type.encode()),
            ("ce_time", _format_time(self.time).encode()),
            ("content-type", CONTENT_TYPE.encode()),
            ("ce_sensitivity", self.sensitivity.value.encode()),
            ("ce_controller", self.controller.value.encode()),
        ]
        if self.subject:
            headers.append(("ce_subject", self.subject.encode()))
        if self.traceparent:
            headers.append(("traceparent", self.traceparent.encode()))
        if self.tracestate:
            headers.append(("tracestate", self.tracestate.encode()))
        headers.extend(self.extra_headers)
        return headers

    @classmethod
    def from_kafka(cls, value: bytes | None, headers: Iterable[tuple[str, bytes]] | None) -> CloudEvent:
        """Parse a binary-mode message; raises InvalidEvent naming what is wrong."""
        h = _header_dict(headers or ())
        missing = [name for name in REQUIRED_HEADERS if name not in h]
        if missing:
            raise InvalidEvent(f"missing CloudEvents headers: {', '.join(missing)}")
        if h["ce_specversion"] != SPECVERSION:
            raise InvalidEvent(f"unsupported ce_specversion {h['ce_specversion']!r}")
        if value is None:
            raise InvalidEvent("empty message value")
        try:
            data = orjson.loads(value)  # (a few times faster than json: every consumer parses every event)
        except orjson.JSONDecodeError as exc:  # (invalid UTF-8 included)
            raise InvalidEvent(f"body is not JSON: {exc}") from exc
        if not isinstance(data, dict):
            raise InvalidEvent("body is not a JSON object")
        try:
            sensitivity = Sensitivity(h.get("ce_sensitivity", "S1"))
            controller = Controller(h.get("ce_controller", "city"))
            time = datetime.fromisoformat(h["ce_time"].replace("Z", "+00:00"))
        except ValueError as exc:
            raise InvalidEvent(f"invalid CloudEvents attribute: {exc}") from exc
        return cls(
            id=h["ce_id"],
            type=h["ce_type"],
            source=h["ce_source"],
            time=time,
            data=data,
            sensitivity=sensitivity,
            controller=controller,
            subject=h.get("ce_subject"),
            traceparent=h.get("traceparent"),
            tracestate=h.get("tracestate"),
        )


def _format_time(time: datetime) -> str:
    if time.tzinfo is None:
        time = time.replace(tzinfo=UTC)
    return time.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _header_dict(headers: Iterable[tuple[str, bytes]] | Sequence[tuple[str, bytes]]) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, raw in headers:
        try:
            out[name] = raw.decode() if isinstance(raw, bytes | bytearray) else str(raw)
        except UnicodeDecodeError as exc:
            raise InvalidEvent(f"header {name} is not UTF-8") from exc
    return out
