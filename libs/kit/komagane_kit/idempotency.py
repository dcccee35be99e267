"""`Idempotency-Key` for POST requests, stored in the service's own database.

The first response (2xx or 4xx) to a key is stored with a hash of the request in the same
transaction as the route's own work: the route's `DbSession` is a `DeferredCommitSession` whose commit
waits for this middleware, which adds the stored response and commits both at once (one
transaction, one connection per request), and only then lets the response go out. So a write,
its outbox events and its stored answer exist together or not at all.

The same key with the same request replays the answer (with `Idempotent-Replayed: true`), the
same key with a different request is 422. A second request with a key whose first request is
still running waits for it (the database holds the key's row until the first one commits), then
replays its answer. A 4xx keeps none of the route's changes. A 5xx, an exception or a crash
rolls everything back and frees the key, so the client may retry. The key is claimed when the
answer is stored: a replayed request does its work again and then drops it (rare: the gateway
answers most replays from its own store), which saves every first request a round trip.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Column, Integer, LargeBinary, String, Text, insert
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, Session, SQLModel
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from komagane_kit.db import UNIT_OF_WORK, DeferredCommitSession, close_session
from komagane_kit.errors import problem_response

HEADER = b"idempotency-key"
MAX_KEY_LENGTH = 200


class IdempotencyRecord(SQLModel, table=True):
    __tablename__ = "idempotency_key"

    key: str = Field(sa_column=Column(String(300), primary_key=True))
    request_hash: str = Field(max_length=64)
    status: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))
    headers: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    body: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    created_at: datetime = Field(default_factory=lambda: datetime.now(UTC))


class IdempotencyMiddleware:
    def __init__(self, app: ASGIApp, engine_of: object) -> None:
        self.app = app
        # Resolved per request: the engine is created in the app's lifespan, after this.
        self._engine_of = engine_of
        self._slots: asyncio.Semaphore | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = dict(scope.get("headers") or [])
        key_raw = headers.get(HEADER)
        if scope["type"] != "http" or scope["method"] != "POST" or key_raw is None:
            await self.app(scope, receive, send)
            return
        key = valid_key(key_raw)
        if key is None:
            await problem_response(400, "invalid-idempotency-key", f"Idempotency-Key must be 1–{MAX_KEY_LENGTH} characters.")(scope, receive, send)
            return
        body = await read_body(receive)
        scoped_key, digest = stored_key(scope, key, body)
        engine: Engine = self._engine_of()  # type: ignore[operator]
        answer = _HeldAnswer()

        async def replay_receive() -> Message:
            return {"type": "http.request", "body": body, "more_body": False}

        if self._slots is None:
            self._slots = asyncio.Semaphore(_pool_size(engine))
        # A unit of work keeps its connection from the route's first statement until it is
        # stored, and in between FastAPI may need a worker thread (to check the response).
        # Were more of them under way than the pool has connections, every worker thread could
        # end up waiting for a connection held by a request that waits for a thread. So the
        # surplus waits here, on the event loop, holding neither.
        async with self._slots:
            session = KeyedDeferredCommitSession(engine, scoped_key, digest)  # no connection until the route's first statement
            scope.setdefault("state", {})[UNIT_OF_WORK] = session
            try:
                await self.app(scope, replay_receive, answer.capture)
                if session.settled:
                    pass  # the route stored its answer itself (commit_with_answer)
                elif answer.status >= 500:
                    await close_session(session)  # rolls the work back, and the key stays free
                else:
                    await asyncio.to_thread(session.settle, answer.status, answer.headers(), answer.body())
            except BaseException:
                await close_session(session)
                raise
        if session.existing is not None:
            await answer_existing(session.existing, digest, scope, receive, send)
        else:
            await answer.replay(send)


def commit_with_answer(session: Session, response: Response) -> Response:
    """Commit the route's work and answer `response`. With an Idempotency-Key the answer is
    stored and committed beside the work right here, in the route's worker thread, which spares
    the middleware a thread hop after the route (for the busiest routes; any route may)."""
    session.commit()
    if isinstance(session, KeyedDeferredCommitSession):
        session.settle(response.status_code, response.raw_headers, bytes(response.body))
    return response


def _pool_size(engine: Engine) -> int:
    """Connections the engine keeps (QueuePool); overflow connections are left to other work."""
    size = getattr(engine.pool, "size", None)
    return max(1, size()) if callable(size) else 5


class _HeldAnswer:
    """The app's response messages, held back until the transaction they report on is committed."""

    def __init__(self) -> None:
        self.status = 500
        self.messages: list[Message] = []

    async def capture(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = int(message["status"])
        self.messages.append(message)

    def headers(self) -> list[tuple[bytes, bytes]]:
        start = next((m for m in self.messages if m["type"] == "http.response.start"), {})
        return list(start.get("headers", []))

    def body(self) -> bytes:
        return b"".join(m.get("body", b"") for m in self.messages if m["type"] == "http.response.body")

    async def replay(self, send: Send) -> None:
        for message in self.messages:
            await send(message)


def valid_key(raw: bytes) -> str | None:
    """The key of an `Idempotency-Key` header, or None when it is empty or too long (400)."""
    key = raw.decode("latin-1").strip()
    return key if key and len(key) <= MAX_KEY_LENGTH else None


def stored_key(scope: Scope, key: str, body: bytes) -> tuple[str, str]:
    """The row's key (a client's key is its own on each path) and the hash of the request."""
    digest = hashlib.sha256(scope["method"].encode() + b" " + scope["path"].encode() + b"\n" + body).hexdigest()
    return f"{scope['path']}|{key}", digest


async def read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


# A plain statement, not the ORM: every POST with a key stores one row. (One statement object
# with values given at execution, so its compiled form is found by a key computed once.)
STORE = insert(IdempotencyRecord.__table__)  # type: ignore[attr-defined]


def stored_answer(key: str, digest: str, status: int, headers: Iterable[tuple[bytes, bytes]], body: bytes) -> dict[str, Any]:
    """The values of `STORE` for an answer: the headers a replay needs, and the body."""
    kept = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in headers if k.lower() in (b"content-type", b"location")]
    return {"key": key, "request_hash": digest, "status": status, "headers": json.dumps(kept), "body": body, "created_at": datetime.now(UTC)}


class KeyedDeferredCommitSession(DeferredCommitSession):
    """The unit of work of a request with an Idempotency-Key: storing its answer completes it."""

    def __init__(self, engine: Engine, key: str, digest: str) -> None:
        super().__init__(engine)
        self.key = key
        self.digest = digest
        self.settled = False
        # The answer another request stored for this key first, to be given instead.
        self.existing: IdempotencyRecord | None = None

    def settle(self, status: int, headers: Iterable[tuple[bytes, bytes]], body: bytes) -> None:
        """Store the answer beside the route's work and commit both. If another request stored
        an answer for this key first, roll back instead and keep that one in `existing`."""
        self.settled = True
        try:
            if status < 400:
                self.discard_uncommitted()
            else:
                self.rollback()  # a refused request changes nothing, whatever the route flushed
            self.execute(STORE, stored_answer(self.key, self.digest, status, headers, body))
            self.commit_deferred()
        except IntegrityError:  # the key's row: on PostgreSQL, after waiting for the other to commit
            self.rollback()
            # (Gone again: nothing deletes these rows today, but then "retry" is the honest answer.)
            self.existing = self.get(IdempotencyRecord, self.key) or IdempotencyRecord(key=self.key, request_hash=self.digest)
        finally:
            self.close()


async def answer_existing(record: IdempotencyRecord, digest: str, scope: Scope, receive: Receive, send: Send) -> None:
    if record.request_hash != digest:
        response = problem_response(422, "idempotency-key-reused", "This Idempotency-Key was used with a different request.")
    elif record.status is None:  # no answer stored under the key (its row was gone when read again): retry
        response = problem_response(409, "request-in-progress", "A request with this Idempotency-Key is still being processed.", headers={"Retry-After": "1"})
    else:
        await send(
            {
                "type": "http.response.start",
                "status": record.status,
                "headers": [(k.encode(), v.encode()) for k, v in json.loads(record.headers or "[]")] + [(b"idempotent-replayed", b"true")],
            }
        )
        await send({"type": "http.response.body", "body": record.body or b""})
        return
    await response(scope, receive, send)
