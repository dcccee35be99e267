"""CPU per write of the platform's client in its lean mode against the bare lean transport.

`python -m bench.client_cost`: both post to a trivial HTTP server in the same process, so the
figures include that server; what matters is the difference, the retry loop's cost per write
(the benchmarks' writers use the client, and must not measure it instead of the platform).
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Awaitable, Callable

import uvloop

from komagane_client import LeanTransport, PlatformClient

ANSWER = b'HTTP/1.1 201 Created\r\ncontent-type: application/json\r\ncontent-length: 11\r\n\r\n{"id":"v1"}'
WRITES, CONCURRENCY = 20_000, 16


async def _answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")), 0)
            await reader.readexactly(length)
            writer.write(ANSWER)
    except (asyncio.IncompleteReadError, ConnectionResetError):
        writer.close()


async def _cpu_per_write(post: Callable[[bytes], Awaitable[object]]) -> float:
    gate = asyncio.Semaphore(CONCURRENCY)
    body = json.dumps({"person_id": "p"}).encode()

    async def one() -> None:
        async with gate:
            await post(body)

    began = time.process_time()
    await asyncio.gather(*(one() for _ in range(WRITES)))
    return (time.process_time() - began) / WRITES * 1e6


async def main() -> None:
    server = await asyncio.start_server(_answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    bare = LeanTransport("127.0.0.1", port, {"Authorization": "Bearer t"}, connections=CONCURRENCY)
    client = PlatformClient(f"http://127.0.0.1:{port}", token="t", lean=True, concurrency=CONCURRENCY)

    async def bare_post(body: bytes) -> object:
        return await bare.post("/v1/hubs/h/visits", body, {"Idempotency-Key": uuid.uuid4().hex})

    async def client_post(body: bytes) -> object:
        return await client.post("/v1/hubs/h/visits", body=body, key=uuid.uuid4().hex)

    try:
        for _ in range(3):  # alternating, so a busy moment of the machine does not favour one
            for label, post in (("lean transport", bare_post), ("client, lean mode", client_post)):
                print(f"{label:18s} {await _cpu_per_write(post):6.1f} µs CPU per write (with the server's)")
    finally:
        await bare.close()
        await client.aclose()
        server.close()


if __name__ == "__main__":
    uvloop.run(main())
