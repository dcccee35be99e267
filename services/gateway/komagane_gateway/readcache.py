"""Cache of rendered profile and KPI answers, kept valid by the read model itself.

A profile read is one Redis GET (it must be: read-your-writes and withdrawal erase it at once);
what costs is validating the stored JSON and rendering the answer. This cache keeps, per Redis
key, the validated answer with the version it was made from and the exact stored value. The
processor writes a new version on every change, so an entry is used only while Redis still
holds the very value (same bytes, hence same version) it was rendered from: a newer version, or
an erased profile, replaces or drops it on the next read — there is nothing to invalidate by
hand and nothing stale to serve. `benchmark: python -m bench.gateway_reads` measures it.

A rendering's version is its `ETag`: `Rendered.answer` is the one place the answer to a read of
it (200, or 304 for a matching `If-None-Match`) is built, for the profile route and its fast path.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ValidationError
from starlette.responses import Response

from komagane_kit.errors import Problem

RawHeaders = list[tuple[bytes, bytes]]


@dataclass(frozen=True)
class Rendered:
    raw: bytes
    version: int
    body: bytes

    etag: bytes = field(init=False, repr=False, compare=False)
    _ok_headers: tuple[tuple[bytes, bytes], ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Made once per rendering, not per read (frozen: set past the dataclass's guard).
        etag = f'"{self.version}"'.encode()
        object.__setattr__(self, "etag", etag)
        object.__setattr__(self, "_ok_headers", ((b"etag", etag), (b"content-type", b"application/json"), (b"content-length", str(len(self.body)).encode())))

    def answer(self, if_none_match: bytes | None) -> tuple[int, RawHeaders, bytes]:
        """Status, headers and body of the answer to a read of this rendering: 304 with the
        `ETag` when `If-None-Match` is that very tag, else 200 with the body."""
        if if_none_match == self.etag:
            return 304, [(b"etag", self.etag)], b""
        return 200, list(self._ok_headers), self.body

    def response(self, if_none_match: str | None) -> Response:
        """`answer` as a response, for a route."""
        status, headers, body = self.answer(if_none_match.encode("latin-1") if if_none_match is not None else None)
        response = Response(body, status_code=status)
        response.raw_headers = headers
        return response


class ReadCache:
    def __init__(self, max_entries: int = 10_000) -> None:
        self.max_entries = max_entries
        self._entries: OrderedDict[str, Rendered] = OrderedDict()
        self.hits = 0
        self.misses = 0

    def render(self, key: str, raw: bytes, model: type[BaseModel]) -> Rendered:
        """The answer for the value `raw` stored at `key`, validated as `model`."""
        entry = self._entries.get(key)
        if entry is not None and entry.raw == raw:
            self.hits += 1
            self._entries.move_to_end(key)
            return entry
        self.misses += 1
        try:
            value = model.model_validate_json(raw)
        except ValidationError as exc:
            raise Problem(500, "read-model-corrupt", "The stored read model could not be read.") from exc
        version: Any = getattr(value, "version", 0)
        entry = Rendered(raw=raw, version=int(version or 0), body=value.model_dump_json().encode())
        if self.max_entries > 0:
            self._entries[key] = entry
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)
        return entry

    def drop(self, key: str) -> None:
        self._entries.pop(key, None)
