"""Opaque cursor pagination: the cursor encodes the sort key of the last item returned."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from pydantic import BaseModel
from sqlalchemy import Integer

from komagane_kit.errors import Problem

T = TypeVar("T")
DEFAULT_LIMIT = 50
MAX_LIMIT = 200


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = None


def encode_cursor(*key: Any) -> str:
    raw = json.dumps(list(key), default=str, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> list[Any] | None:
    """The sort key encoded in `cursor`; a cursor that was not made here is a 400 problem."""
    if not cursor:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        key = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, UnicodeDecodeError) as exc:
        raise Problem(400, "invalid-cursor", "The cursor is not one this API returned.", errors=[{"field": "cursor", "message": "invalid"}]) from exc
    if not isinstance(key, list):
        raise Problem(400, "invalid-cursor", "The cursor is not one this API returned.", errors=[{"field": "cursor", "message": "invalid"}])
    return key


M = TypeVar("M")
P = TypeVar("P")


def page_by_id(session: Any, query: Any, model: type[M], cursor: str | None, limit: int, to_public: Callable[[M], P]) -> Page[P]:
    """One page of `query` (already filtered and ordered by `model.id`, a string or an integer), after the cursor's id."""
    after = decode_cursor(cursor)
    if after:
        id_type = int if isinstance(model.id.type, Integer) else str  # type: ignore[attr-defined]
        if type(after[0]) is not id_type:
            raise Problem(400, "invalid-cursor", "The cursor is not one this API returned.", errors=[{"field": "cursor", "message": "invalid"}])
        query = query.where(model.id > after[0])  # type: ignore[attr-defined]
    found: list[M] = list(session.exec(query.limit(limit + 1)).all())
    page = found[:limit]
    return Page(items=[to_public(row) for row in page], next_cursor=encode_cursor(page[-1].id) if len(found) > limit else None)  # type: ignore[attr-defined]
