"""What a transport gives back, and how it fails: the client's retry rules are written on these."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Reply:
    """A complete answer: status, body, and the two headers a caller acts on."""

    status: int
    body: bytes
    retry_after: str | None = None
    content_type: str | None = None

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


class ClientError(Exception):
    """The request got no answer this client could read."""


class ConnectFailed(ClientError):
    """No connection could be opened: nothing was sent, so any request may be sent again."""


class ExchangeFailed(ClientError):
    """The connection broke or timed out after the request went out: it may have been applied."""


class ProtocolError(ClientError):
    """An answer in a form this client does not read (never retried: asking again changes nothing)."""
