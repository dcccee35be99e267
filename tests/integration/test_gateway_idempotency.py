"""The gateway's idempotency store on a real Redis, with many requests at once: their Redis calls
go together in pipelines (komagane_kit.groupcommit), and each key is still answered exactly once."""

from __future__ import annotations

import asyncio
from collections import Counter

import redis.asyncio as aioredis
from fastapi import Request, Response

from komagane_gateway.idempotency import IdempotencyStore


def request(key: str) -> Request:
    headers = [(b"idempotency-key", key.encode())]
    return Request({"type": "http", "method": "POST", "path": "/v1/hubs/h-1/visits", "query_string": b"", "headers": headers, "server": ("gw", 80)})


async def test_concurrent_requests_share_pipelines_and_each_key_runs_once(redis_client: aioredis.Redis) -> None:
    store = IdempotencyStore(redis_client, wait_seconds=5)
    pipelines = 0
    send = store._pipeline

    async def counted(commands: list) -> list:  # type: ignore[type-arg]
        nonlocal pipelines
        pipelines += 1
        return await send(commands)

    store._commands._send = counted  # type: ignore[assignment]
    runs: Counter[str] = Counter()

    async def call(scoped: str) -> Response:
        runs[scoped] += 1
        await asyncio.sleep(0)  # let the others pile up behind the lock
        return Response(f'{{"n": {runs[scoped]}}}'.encode(), status_code=201, headers={"Location": "/v1/x"})

    # Twenty keys, each sent three times at once.
    answers = await asyncio.gather(*(store.run(request(f"k-{i % 20}"), "admin-1", b"{}", call) for i in range(60)))
    assert sorted(runs.values()) == [1] * 20  # each key reached the service once
    assert all(answer.status_code == 201 and answer.body == b'{"n": 1}' for answer in answers)
    assert sum(answer.headers.get("idempotent-replayed") == "true" for answer in answers) == 40
    assert pipelines < 60  # (sixty requests made at least 120 calls)


async def test_a_redis_error_fails_only_its_own_command(redis_client: aioredis.Redis) -> None:
    store = IdempotencyStore(redis_client)
    await redis_client.rpush("not-a-string", "x")
    wrong: object
    right: object
    wrong, right = await asyncio.gather(
        store._commands.submit(lambda pipe: pipe.get("not-a-string")), store._commands.submit(lambda pipe: pipe.set("k", "v")), return_exceptions=True
    )
    assert isinstance(wrong, aioredis.ResponseError) and right is True
