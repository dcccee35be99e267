"""Grouped writes (komagane_kit.fastpath.grouped_writes) on SQLite and PostgreSQL, with the exchange's visit
write: visits that arrive together are committed once, a refused or repeated one in a group is
answered as the full path would answer it alone, and whatever is not the common case is passed
on untouched to the full application.

The exchange's routes are served through the kit's `FastPaths`, driven directly as ASGI: requests
started in one turn of the event loop are one group, so what a group does is tested
deterministically.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import event, func
from sqlalchemy.engine import Engine
from sqlmodel import Session, select
from starlette.types import Message, Receive, Scope, Send

from komagane_exchange.api import ROUTERS
from komagane_exchange.main import MIGRATIONS
from komagane_exchange.models import Hub, HubVisit
from komagane_kit.db import make_engine, run_migrations
from komagane_kit.fastpath import FastPaths
from komagane_kit.idempotency import IdempotencyRecord
from komagane_kit.outbox import OutboxMessage
from komagane_kit.people_replica import KnownPerson

PEOPLE = [f"00000000-0000-4000-8000-00000000000{n}" for n in range(1, 4)]
STRANGER = "00000000-0000-4000-8000-000000000999"


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    engine = make_engine(db_url)
    run_migrations(engine, MIGRATIONS)
    with Session(engine) as session:
        session.add(Hub(id="hub-1", name_ja="ぱとな", kind="CIVIC_CENTRE", area="中央"))
        for person in PEOPLE:
            session.add(KnownPerson(person_id=person, age_band="65-74", residency_status="RESIDENT", registered_at=datetime.now(UTC)))
        session.commit()
    yield engine
    engine.dispose()


class FullPath:
    """Stands in for the application behind the middleware: records what it is handed."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.bodies.append((await receive())["body"])
        await send({"type": "http.response.start", "status": 299, "headers": []})
        await send({"type": "http.response.body", "body": b"full path"})


def grouped(engine: Engine) -> tuple[FastPaths, FullPath]:
    """The exchange's routes with their declared fast paths, in front of `FullPath`."""
    application = FastAPI()
    for router in ROUTERS:
        application.include_router(router)
    application.state.engine = engine
    application.state.settings = SimpleNamespace(max_body_bytes=10_000)
    full = FullPath()
    return FastPaths(full, application_of=lambda: application), full


async def post(
    app: FastPaths, body: object, *, key: str | None = None, hub: str = "hub-1", content_type: bytes = b"application/json"
) -> tuple[int, dict[str, str], bytes]:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = [(b"content-type", content_type), (b"content-length", str(len(raw)).encode())]
    if key is not None:
        headers.append((b"idempotency-key", key.encode()))
    scope: Scope = {"type": "http", "method": "POST", "path": f"/v1/hubs/{hub}/visits", "headers": headers, "query_string": b""}
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": raw, "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    await app(scope, receive, send)
    start = next(m for m in sent if m["type"] == "http.response.start")
    answer = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], {k.decode(): v.decode() for k, v in start["headers"]}, answer


def counted(engine: Engine) -> dict[str, int]:
    with Session(engine) as session:
        return {
            "visits": session.exec(select(func.count()).select_from(HubVisit)).one(),
            "outbox": session.exec(select(func.count()).select_from(OutboxMessage)).one(),
            "keys": session.exec(select(func.count()).select_from(IdempotencyRecord)).one(),
        }


def commits_of(engine: Engine) -> list[int]:
    commits = [0]

    def count(_connection: Any) -> None:
        commits[0] += 1

    event.listen(engine, "commit", count)
    return commits


def inserts_of(engine: Engine) -> list[str]:
    """The tables of the INSERT statements sent from now on, one entry per statement sent."""
    tables: list[str] = []

    def seen(_connection: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO"):
            tables.append(statement.split()[2].strip('"'))

    event.listen(engine, "before_cursor_execute", seen)
    return tables


async def test_visits_arriving_together_are_committed_in_one_transaction(engine: Engine) -> None:
    app, full = grouped(engine)
    commits, inserts = commits_of(engine), inserts_of(engine)
    answers = await asyncio.gather(*(post(app, {"person_id": PEOPLE[n % 3]}, key=f"k{n}") for n in range(5)), post(app, {"person_id": PEOPLE[0]}))
    assert [status for status, _, _ in answers] == [201] * 6
    assert len({json.loads(body)["id"] for _, _, body in answers}) == 6
    assert commits[0] == 1
    assert inserts == ["hub_visit", "outbox", "idempotency_key"]  # each table's rows in one statement
    assert counted(engine) == {"visits": 6, "outbox": 6, "keys": 5}
    assert full.bodies == []
    # Stored answers are the answers given: a retry is replayed byte for byte.
    status, headers, body = await post(app, {"person_id": PEOPLE[0]}, key="k0")
    assert (status, headers.get("idempotent-replayed"), body) == (201, "true", answers[0][2])
    assert counted(engine)["visits"] == 6


async def test_a_refusal_or_a_repeated_key_in_a_group_is_answered_alone(engine: Engine) -> None:
    app, _ = grouped(engine)
    future = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    (ok1, ok2, stranger, late, again, other_body, no_key) = await asyncio.gather(
        post(app, {"person_id": PEOPLE[0]}, key="a"),
        post(app, {"person_id": PEOPLE[1]}, key="b"),
        post(app, {"person_id": STRANGER}, key="c"),
        post(app, {"person_id": PEOPLE[2], "visited_at": future}, key="d"),
        post(app, {"person_id": PEOPLE[0]}, key="a"),
        post(app, {"person_id": PEOPLE[2]}, key="b"),
        post(app, {"person_id": PEOPLE[1]}),
    )
    assert (ok1[0], ok2[0], no_key[0]) == (201, 201, 201)
    assert (stranger[0], json.loads(stranger[2])["type"].rsplit("/", 1)[1]) == (422, "unknown-person")
    assert (late[0], json.loads(late[2])["detail"]) == (422, "visited_at is in the future")
    assert (again[0], again[1].get("idempotent-replayed"), again[2]) == (201, "true", ok1[2])
    assert (other_body[0], json.loads(other_body[2])["type"].rsplit("/", 1)[1]) == (422, "idempotency-key-reused")
    # Three visits; the two refusals stored (and replayed) under their keys, with nothing of their work.
    assert counted(engine) == {"visits": 3, "outbox": 3, "keys": 4}
    replayed = await post(app, {"person_id": STRANGER}, key="c")
    assert (replayed[0], replayed[1].get("idempotent-replayed"), replayed[2]) == (422, "true", stranger[2])


@pytest.mark.parametrize(
    ("body", "options"),
    [
        (b'{"person_id": ', {}),  # not JSON
        ({"person_id": "x" * 37}, {}),  # longer than the model allows
        ({"person_id": PEOPLE[0]}, {"hub": "h" * 37}),  # a hub id the route refuses
        ({"person_id": PEOPLE[0]}, {"hub": "h\x00"}),  # a NUL: the route's own path type refuses it
        ({"person_id": PEOPLE[0], "visited_at": "0001-01-01T00:00:00"}, {}),  # outside the window
        ({"person_id": "\ud800"}, {}),  # a lone surrogate
        ({"person_id": PEOPLE[0]}, {"key": " "}),  # an empty key
        ({"person_id": PEOPLE[0]}, {"content_type": b"text/plain"}),
    ],
)
async def test_what_is_not_the_common_case_goes_to_the_full_path_untouched(engine: Engine, body: object, options: dict[str, Any]) -> None:
    app, full = grouped(engine)
    status, _, answer = await post(app, body, **options)
    assert (status, answer) == (299, b"full path")
    assert full.bodies == [body if isinstance(body, bytes) else json.dumps(body).encode()]
    assert counted(engine) == {"visits": 0, "outbox": 0, "keys": 0}
