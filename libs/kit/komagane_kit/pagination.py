"""Opaque cursor pagination: the cursor encodes the sort key of the last item returned."""

from __future__ import annotations

import base64
import json
from typing import Any, Generic, TypeVar

from pydantic import BaseModel

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
