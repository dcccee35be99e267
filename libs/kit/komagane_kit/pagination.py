"""Opaque cursor pagination: the cursor encodes the sort key of the last item returned."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from datetime import date, datetime
from typing import Any, Generic, TypeVar

from pydantic import BaseModel
from sqlalchemy import Integer

from komagane_kit.errors import Problem
from komagane_kit.inputs import FILTER_EARLIEST, FILTER_LATEST

T = TypeVar("T")
DEFAULT_LIMIT = 50
MAX_LIMIT = 200


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = None


Key = type[str] | type[int] | type[date] | type[datetime]
# Integers in a cursor are ids and offsets: never negative, and within a 64-bit column.
_MAX_INT = 2**63 - 1
_MAX_STR = 200


def encode_cursor(*key: str | int | date | datetime) -> str:
    """A cursor for the sort key `key` (dates and times as ISO 8601)."""
    raw = json.dumps([part.isoformat() if isinstance(part, date) else part for part in key], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def invalid_cursor() -> Problem:
    return Problem(400, "invalid-cursor", "The cursor is not one this API returned.", errors=[{"field": "cursor", "message": "invalid"}])


def decode_cursor(cursor: str | None, shape: tuple[Key, ...]) -> tuple[Any, ...] | None:
    """The sort key encoded in `cursor`, one element of each type of `shape` (e.g. `(datetime,
    str)`), or None without a cursor. Anything this API did not make is a 400 problem."""
    if not cursor:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        key = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, UnicodeDecodeError) as exc:
        raise invalid_cursor() from exc
    if not isinstance(key, list) or len(key) != len(shape):
        raise invalid_cursor()
    return tuple(_part(value, kind) for value, kind in zip(key, shape, strict=True))


def _part(value: Any, kind: Key) -> Any:
    if kind is int:
        if type(value) is not int or not 0 <= value <= _MAX_INT:
            raise invalid_cursor()
        return value
    if type(value) is not str or (kind is str and (len(value) > _MAX_STR or "\x00" in value)):
        raise invalid_cursor()
    if kind is str:
        return value
    try:
        parsed = datetime.fromisoformat(value) if kind is datetime else date.fromisoformat(value)
    except ValueError as exc:
        raise invalid_cursor() from exc
    if not FILTER_EARLIEST <= (parsed.date() if isinstance(parsed, datetime) else parsed) <= FILTER_LATEST:
        raise invalid_cursor()  # never compared with a stored time: converting it could overflow
    return parsed


M = TypeVar("M")
P = TypeVar("P")


def page_by_id(session: Any, query: Any, model: type[M], cursor: str | None, limit: int, to_public: Callable[[M], P]) -> Page[P]:
    """One page of `query` (already filtered and ordered by `model.id`, a string or an integer), after the cursor's id."""
    id_type: Key = int if isinstance(model.id.type, Integer) else str  # type: ignore[attr-defined]
    after = decode_cursor(cursor, (id_type,))
    if after is not None:
        query = query.where(model.id > after[0])  # type: ignore[attr-defined]
    found: list[M] = list(session.exec(query.limit(limit + 1)).all())
    page = found[:limit]
    return Page(items=[to_public(row) for row in page], next_cursor=encode_cursor(page[-1].id) if len(found) > limit else None)  # type: ignore[attr-defined]
