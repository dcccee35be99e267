"""`Idempotency-Key` for POST requests, stored in the service's own database.

The first response (2xx or 4xx) to a key is stored with a hash of the request; the same key
with the same request replays it (with `Idempotent-Replayed: true`), the same key with a
different request is 422, and a key whose first request is still running is 409. A 5xx or a
crash frees the key, so the client may retry.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from datetime import UTC, datetime

from sqlalchemy import Column, Integer, LargeBinary, String, Text, delete, insert, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, Session, SQLModel
from starlette.types import ASGIApp, Message, Receive, Scope, Send

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

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = dict(scope.get("headers") or [])
        key_raw = headers.get(HEADER)
        if scope["type"] != "http" or scope["method"] != "POST" or key_raw is None:
            await self.app(scope, receive, send)
            return
        key = key_raw.decode("latin-1").strip()
        if not key or len(key) > MAX_KEY_LENGTH:
            await problem_response(400, "invalid-idempotency-key", f"Idempotency-Key must be 1–{MAX_KEY_LENGTH} characters.")(scope, receive, send)
            return
        body = await _read_body(receive)
        digest = hashlib.sha256(scope["method"].encode() + b" " + scope["path"].encode() + b"\n" + body).hexdigest()
        scoped_key = f"{scope['path']}|{key}"
        engine: Engine = self._engine_of()  # type: ignore[operator]

        claimed = await asyncio.to_thread(_claim, engine, scoped_key, digest)
        if isinstance(claimed, IdempotencyRecord):
            await _answer_existing(claimed, digest, scope, receive, send)
            return

        captured: dict[str, object] = {"status": 500, "headers": [], "body": b""}

        async def replay_receive() -> Message:
            return {"type": "http.request", "body": body, "more_body": False}

        async def capture_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                captured["status"] = message["status"]
                captured["headers"] = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in message.get("headers", [])]
            elif message["type"] == "http.response.body":
                captured["body"] = captured["body"] + message.get("body", b"")  # type: ignore[operator]
            await send(message)

        try:
            await self.app(scope, replay_receive, capture_send)
        except BaseException:
            await asyncio.to_thread(_release, engine, scoped_key)
            raise
        status = int(captured["status"])  # type: ignore[call-overload]
        if status >= 500:
            await asyncio.to_thread(_release, engine, scoped_key)
        else:
            await asyncio.to_thread(_store, engine, scoped_key, status, captured["headers"], captured["body"])  # type: ignore[arg-type]


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


# Plain statements, not the ORM: every POST with a key claims and stores once, and these two
# small writes cost about as much as the request's own work when they go through sessions.
_TABLE = IdempotencyRecord.__table__  # type: ignore[attr-defined]


def _claim(engine: Engine, key: str, digest: str) -> IdempotencyRecord | None:
    """Insert a pending record; if the key exists, return the existing record instead."""
    try:
        with engine.begin() as connection:
            connection.execute(insert(_TABLE).values(key=key, request_hash=digest, created_at=datetime.now(UTC)))
        return None
    except IntegrityError:
        with Session(engine) as session:
            existing = session.get(IdempotencyRecord, key)
        if existing is None:  # released meanwhile: try once more
            return _claim(engine, key, digest)
        return existing


def _store(engine: Engine, key: str, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
    kept = [(k, v) for k, v in headers if k.lower() in ("content-type", "location")]
    with engine.begin() as connection:
        connection.execute(update(_TABLE).where(_TABLE.c.key == key).values(status=status, headers=json.dumps(kept), body=body))


def _release(engine: Engine, key: str) -> None:
    with engine.begin() as connection:
        connection.execute(delete(_TABLE).where(_TABLE.c.key == key))


async def _answer_existing(record: IdempotencyRecord, digest: str, scope: Scope, receive: Receive, send: Send) -> None:
    if record.request_hash != digest:
        response = problem_response(422, "idempotency-key-reused", "This Idempotency-Key was used with a different request.")
    elif record.status is None:
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
