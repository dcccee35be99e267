"""The lean transport of the platform's client (komagane_client.lean, the benchmarks' load client) against a real socket server on 127.0.0.1:
what it sends, that it reuses connections, and that answers it cannot read are errors."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import pytest

from komagane_client import ExchangeFailed, LeanTransport, ProtocolError

Answer = Callable[[bytes], bytes]


@pytest.fixture
async def server() -> AsyncIterator[tuple[int, list[bytes], list[int], list[Answer]]]:
    """A server that reads whole requests and answers each with the next of `answers` (or 201).
    Yields its port, the requests it read, and one entry per connection it accepted."""
    requests: list[bytes] = []
    accepted: list[int] = []
    answers: list[Answer] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.append(1)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")), 0)
                request = head + await reader.readexactly(length)
                requests.append(request)
                answer = answers.pop(0) if answers else (lambda _: b'HTTP/1.1 201 Created\r\ncontent-length: 11\r\n\r\n{"id":"v1"}')
                writer.write(answer(request))
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionResetError):
            pass
        finally:
            writer.close()

    listener = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = listener.sockets[0].getsockname()[1]
    yield port, requests, accepted, answers
    listener.close()


async def test_posts_json_with_its_headers_and_reuses_one_connection(server: tuple[int, list[bytes], list[int], list[Answer]]) -> None:
    port, requests, accepted, _ = server
    client = LeanTransport("127.0.0.1", port, {"Authorization": "Bearer t"}, connections=4)
    for n in range(3):
        assert await client.post("/v1/hubs/h/visits", b'{"person_id":"p"}', {"Idempotency-Key": f"k{n}"}) == (201, b'{"id":"v1"}')
    await client.close()
    assert len(accepted) == 1, "one kept-alive connection for requests one after another"
    head, _, body = requests[0].partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    assert lines[0] == b"POST /v1/hubs/h/visits HTTP/1.1" and body == b'{"person_id":"p"}'
    host = f"Host: 127.0.0.1:{port}".encode()
    expected = {b"Authorization: Bearer t", b"Idempotency-Key: k0", b"Content-Length: 17", b"Content-Type: application/json", host}
    assert expected <= set(lines)


async def test_gets_with_the_common_headers_and_no_body_on_the_same_connection(server: tuple[int, list[bytes], list[int], list[Answer]]) -> None:
    port, requests, accepted, answers = server
    answers.append(lambda _: b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}")
    client = LeanTransport("127.0.0.1", port, {"Authorization": "Bearer t"}, connections=4)
    assert await client.get("/v1/profiles/p1") == (200, b"{}")
    assert await client.post("/x", b"{}") == (201, b'{"id":"v1"}')
    await client.close()
    assert len(accepted) == 1
    assert requests[0] == f"GET /v1/profiles/p1 HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Bearer t\r\n\r\n".encode()


async def test_a_connection_the_server_closes_is_not_reused(server: tuple[int, list[bytes], list[int], list[Answer]]) -> None:
    port, _, accepted, answers = server
    answers.append(lambda _: b"HTTP/1.1 409 Conflict\r\nconnection: close\r\ncontent-length: 2\r\n\r\n{}")
    client = LeanTransport("127.0.0.1", port, {}, connections=1)
    assert await client.post("/x", b"{}") == (409, b"{}")
    assert await client.post("/x", b"{}") == (201, b'{"id":"v1"}')
    await client.close()
    assert len(accepted) == 2


@pytest.mark.parametrize(
    "answer",
    [
        b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n",  # not read by this client
        b"HTTP/1.1 200 OK\r\n\r\n",  # no length
    ],
)
async def test_answers_it_cannot_read_are_errors_and_the_connection_goes(server: tuple[int, list[bytes], list[int], list[Answer]], answer: bytes) -> None:
    port, _, accepted, answers = server
    answers.append(lambda _: answer)
    client = LeanTransport("127.0.0.1", port, {}, connections=1)
    with pytest.raises(ProtocolError):
        await client.post("/x", b"{}")
    assert await client.post("/x", b"{}") == (201, b'{"id":"v1"}')
    await client.close()
    assert len(accepted) == 2, "the connection with the unread answer was closed, a new one opened"


async def test_a_server_that_hangs_up_mid_answer_is_an_error(server: tuple[int, list[bytes], list[int], list[Answer]]) -> None:
    port, _, _, answers = server

    def hang_up(_: bytes) -> bytes:
        raise ConnectionResetError  # the handler closes the connection without answering

    answers.append(hang_up)
    client = LeanTransport("127.0.0.1", port, {}, connections=1)
    with pytest.raises(ExchangeFailed, match="closed before the response"):
        await client.post("/x", b"{}")
    await client.close()
