"""Grouped writes: a busy POST route's common case served without the framework, and the
requests that arrive together committed in one transaction.

A hub visit is a few INSERTs; through FastAPI and a transaction of its own it spends most of
its CPU on routing, dependency injection, a worker-thread hop, a pooled connection's checkout
and ping, and a COMMIT. A route declared with `@fast_path(GroupedWrite(...))` has its requests
handed here by `FastPaths` (komagane_kit.fastpath; in a service just inside the internal-token
check), which takes them when they are the common case: a JSON body the route's model accepts,
path parameters the route's own declared types accept and, if there is one, a well-formed
`Idempotency-Key`. Anything else goes on to the full application, which answers it with its own
validation and errors.

A taken request queues its write (komagane_kit.groupcommit). One worker thread runs the queued
writes of the route in one transaction, each under its own request's trace context, stores each
answer under its Idempotency-Key beside the work (as komagane_kit.idempotency does), and commits
once. Only then do the answers go out. If any write of a group is refused or fails, or a key
turns out to be taken, the group is rolled back and each write is done again on its own, with
exactly the full path's rules: the refusal or failure is answered to its request alone, a 4xx is
stored and replayed, a 5xx keeps nothing and frees the key, a key answered before is replayed or
refused. A request alone in its group goes straight to that path. So a write, its outbox events
and its stored answer still exist together or not at all, and no request pays for another's error.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute
from opentelemetry import context as otel_context
from opentelemetry import trace
from pydantic import BaseModel, ValidationError
from sqlalchemy.engine import Engine
from sqlmodel import Session
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from komagane_kit.db import gather_inserts, insert_row, send_gathered
from komagane_kit.errors import Problem, unexpected_error_response
from komagane_kit.fastpath.declare import Serve
from komagane_kit.groupcommit import GroupCommit
from komagane_kit.idempotency import (
    HEADER,
    STORE,
    IdempotencyRecord,
    KeyedDeferredCommitSession,
    answer_existing,
    commit_with_answer,
    read_body,
    stored_answer,
    stored_key,
    valid_key,
)

_tracer = trace.get_tracer(__name__)

Write = Callable[[Session, Mapping[str, str], Any], Response]


@dataclass(frozen=True)
class GroupedWrite:
    """The fast path of one POST route (`@fast_path(GroupedWrite(...))` on it).

    `body`: the model of its JSON body; `write`: its work, given a session, the path parameters
    and the parsed body, returning the answer without committing (the route commits the same
    work itself). In a group, the rows it inserts with `komagane_kit.db.insert_row` (the outbox
    does) are sent together with the group's other rows just before the commit, so a write
    must not read rows that writes of its route insert. The path parameters must pass the route's
    own declared types, else the full path answers with its validation problem; `accepts`: any
    further check of them the route makes.
    """

    body: type[BaseModel]
    write: Write
    accepts: Callable[[Mapping[str, str]], bool] = lambda params: True

    def bind(self, app: FastAPI, route: APIRoute) -> Serve:
        # The engine is created in the app's lifespan: resolved per group.
        return _GroupedRoute(self, route, engine_of=lambda: app.state.engine, max_body_bytes=app.state.settings.max_body_bytes)


@dataclass
class _Pending:
    """A taken request, waiting for its group."""

    write: Write
    params: Mapping[str, str]
    body: BaseModel
    path: str
    key: str | None  # the stored key (komagane_kit.idempotency), when the request has one
    digest: str
    context: otel_context.Context


@dataclass
class _Outcome:
    response: Response | None = None
    existing: IdempotencyRecord | None = None  # the answer stored first under the request's key


class _GroupedRoute:
    """Serves one route's requests (see the module docstring)."""

    def __init__(self, grouped: GroupedWrite, route: APIRoute, *, engine_of: Callable[[], Engine], max_body_bytes: int) -> None:
        self.grouped = grouped
        self.route = route
        self._path_fields = list(route.dependant.path_params)
        self._engine_of = engine_of
        self._max_body_bytes = max_body_bytes
        self._groups: GroupCommit[_Pending, _Outcome] = GroupCommit(self._commit_group)

    async def __call__(self, scope: Scope, receive: Receive, send: Send, params: dict[str, str], full: ASGIApp) -> None:
        taken, key = self._take(scope, params)
        if not taken:
            await full(scope, receive, send)
            return
        body = await read_body(receive)
        try:
            parsed = self.grouped.body.model_validate_json(body)
        except ValidationError:  # the full path answers with its own validation error
            await full(scope, _replaying(body), send)
            return
        scoped_key, digest = stored_key(scope, key, body) if key is not None else (None, "")
        pending = _Pending(self.grouped.write, params, parsed, scope["path"], scoped_key, digest, otel_context.get_current())
        outcome = await self._groups.submit(pending)
        if outcome.existing is not None:
            await answer_existing(outcome.existing, digest, scope, receive, send)
        elif outcome.response is not None:
            await outcome.response(scope, receive, send)

    def _take(self, scope: Scope, params: Mapping[str, str]) -> tuple[bool, str | None]:
        """Whether the request is the route's common case, and its key if it has one."""
        if not self._accepts(params) or not self.grouped.accepts(params):
            return False, None
        headers = dict(scope["headers"])
        length = headers.get(b"content-length")
        if length is None or not length.isdigit() or int(length) > self._max_body_bytes:
            return False, None  # chunked or too large: the full path counts and refuses
        if headers.get(b"content-type", b"").split(b";")[0].strip().lower() != b"application/json":
            return False, None
        raw_key = headers.get(HEADER)
        key = valid_key(raw_key) if raw_key is not None else None
        if raw_key is not None and key is None:
            return False, None  # the full path refuses it (400)
        # As the router would: the server span and metrics name the route (http_telemetry).
        scope["route"] = self.route
        return True, key

    def _accepts(self, params: Mapping[str, str]) -> bool:
        """Whether the route's own path parameter types (lengths, patterns, SafeStr…) take `params`."""
        for field in self._path_fields:
            _, errors = field.validate(params.get(field.alias), {}, loc=("path", field.alias))
            if errors:
                return False
        return True

    async def _commit_group(self, group: list[_Pending]) -> list[_Outcome]:
        return await asyncio.to_thread(self._commit_in_thread, group)

    def _commit_in_thread(self, group: list[_Pending]) -> list[_Outcome]:
        engine = self._engine_of()
        if len(group) > 1:
            together = _together(engine, group)
            if together is not None:
                return together
        return [_alone(engine, pending) for pending in group]


def _together(engine: Engine, group: list[_Pending]) -> list[_Outcome] | None:
    """Every write of `group` in one transaction; None (nothing kept) if any was refused or
    failed, or a key was taken."""
    links = [trace.Link(span.get_span_context()) for pending in group if (span := trace.get_current_span(pending.context)).is_recording()]
    with _tracer.start_as_current_span("grouped writes", links=links) as span, Session(engine, expire_on_commit=False) as session:
        span.set_attribute("komagane.group.size", len(group))
        gather_inserts(session)  # one INSERT per table for the whole group
        try:
            responses = []
            for pending in group:
                with _attached(pending.context):
                    response = pending.write(session, pending.params, pending.body)
                    if response.status_code >= 400:
                        return None
                    if pending.key is not None:
                        answer = stored_answer(pending.key, pending.digest, response.status_code, response.raw_headers, bytes(response.body))
                        insert_row(session, STORE, answer)
                responses.append(response)
            send_gathered(session)
            session.commit()
        except Exception as exc:  # each again on its own: each is answered as the full path would
            span.set_attribute("komagane.group.split", type(exc).__name__)
            return None
    return [_Outcome(response=response) for response in responses]


def _alone(engine: Engine, pending: _Pending) -> _Outcome:
    """One write in its own transaction, as the full path and its idempotency middleware do it."""
    session = KeyedDeferredCommitSession(engine, pending.key, pending.digest) if pending.key is not None else Session(engine, expire_on_commit=False)
    with _attached(pending.context), session:
        try:
            response = pending.write(session, pending.params, pending.body)
        except Problem as problem:
            response = problem.response(instance=pending.path)
        except Exception as exc:
            return _Outcome(response=unexpected_error_response(exc, "POST", pending.path))  # closing rolls back: nothing kept
        if response.status_code >= 500:
            return _Outcome(response=response)
        try:
            if response.status_code < 400:
                commit_with_answer(session, response)
            elif isinstance(session, KeyedDeferredCommitSession):  # a refusal is stored and replayed; its work is rolled back
                session.settle(response.status_code, response.raw_headers, bytes(response.body))
        except Exception as exc:
            return _Outcome(response=unexpected_error_response(exc, "POST", pending.path))
        existing = session.existing if isinstance(session, KeyedDeferredCommitSession) else None
        return _Outcome(response=response, existing=existing)


@contextmanager
def _attached(context: otel_context.Context) -> Iterator[None]:
    token = otel_context.attach(context)
    try:
        yield
    finally:
        otel_context.detach(token)


def _replaying(body: bytes) -> Receive:
    async def receive() -> Message:
        return {"type": "http.request", "body": body, "more_body": False}

    return receive
