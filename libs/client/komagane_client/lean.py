"""A lean HTTP/1.1 transport for load generation: keep-alive connections and ready-made requests.

The benchmarks run the load generator on the same two cores as everything they measure, so
whatever the client spends per request is taken from the platform. aiohttp spent about 0.45 ms
of CPU per write (a tenth of the whole machine at 500 writes/s); tools such as wrk keep this
small by doing little more than writing bytes and reading a status line and a body. So does
this transport: one request per connection at a time (no pipelining), responses with a
Content-Length (what uvicorn sends for every JSON answer). Anything else is a ProtocolError
the caller counts, never a silent success. `PlatformClient(lean=True)` retries over it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping

from komagane_client.replies import ConnectFailed, ExchangeFailed, ProtocolError, Reply


class _Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.used = time.monotonic()

    def close(self) -> None:
        self.writer.close()


class LeanTransport:
    """At most `connections` requests in flight to one host, each on a kept-alive connection.

    Idle connections older than `idle_seconds` are closed before use: the server (uvicorn,
    5 s) may be closing them at the very moment they would be reused.
    """

    def __init__(self, host: str, port: int, headers: Mapping[str, str], *, connections: int, timeout: float = 30.0, idle_seconds: float = 3.0) -> None:
        self.host = host
        self.port = port
        self.timeout = timeout
        self.idle_seconds = idle_seconds
        self._common = "".join(f"{name}: {value}\r\n" for name, value in {"Host": f"{host}:{port}", **headers}.items()).encode()
        self._free: list[_Connection] = []
        self._slots = asyncio.Semaphore(connections)

    async def post(self, path: str, body: bytes, headers: Mapping[str, str] | None = None) -> tuple[int, bytes]:
        """POST `body` (JSON) to `path`: the status code and the response body."""
        reply = await self.send("POST", path, body, headers)
        return reply.status, reply.body

    async def get(self, path: str) -> tuple[int, bytes]:
        """GET `path`: the status code and the response body."""
        reply = await self.send("GET", path, None, None)
        return reply.status, reply.body

    async def send(self, method: str, path: str, body: bytes | None, headers: Mapping[str, str] | None) -> Reply:
        extra = "".join(f"{name}: {value}\r\n" for name, value in (headers or {}).items())
        if body is None:
            request = f"{method} {path} HTTP/1.1\r\n{extra}".encode() + self._common + b"\r\n"
        else:
            head = f"{method} {path} HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n{extra}".encode()
            request = head + self._common + b"\r\n" + body
        return await self._send(request)

    async def _send(self, request: bytes) -> Reply:
        async with self._slots:
            connection = await self._connection()
            try:
                async with asyncio.timeout(self.timeout):
                    reply, keep = await self._exchange(connection, request)
            except BaseException:
                connection.close()
                raise
            if keep:
                connection.used = time.monotonic()
                self._free.append(connection)
            else:
                connection.close()
            return reply

    async def _connection(self) -> _Connection:
        now = time.monotonic()
        while self._free:
            connection = self._free.pop()
            if now - connection.used < self.idle_seconds and not connection.reader.at_eof():
                return connection
            connection.close()
        try:
            reader, writer = await asyncio.open_connection(self.host, self.port)
        except OSError as exc:
            raise ConnectFailed(f"{self.host}:{self.port}: {exc}") from exc
        return _Connection(reader, writer)

    @staticmethod
    async def _exchange(connection: _Connection, request: bytes) -> tuple[Reply, bool]:
        try:
            connection.writer.write(request)
            head = await connection.reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError as exc:
            raise ExchangeFailed("connection closed before the response") from exc
        except OSError as exc:
            raise ExchangeFailed(str(exc) or type(exc).__name__) from exc
        lines = head.split(b"\r\n")
        status = int(lines[0].split(b" ", 2)[1])
        length: int | None = None
        keep = True
        retry_after = content_type = None
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"connection" and value.strip().lower() == b"close":
                keep = False
            elif name == b"retry-after":
                retry_after = value.strip().decode()
            elif name == b"content-type":
                content_type = value.strip().decode()
            elif name == b"transfer-encoding":
                raise ProtocolError(f"transfer-encoding {value.strip().decode()} is not read here")
        if length is None:
            raise ProtocolError("response without Content-Length")
        try:
            body = await connection.reader.readexactly(length)
        except (asyncio.IncompleteReadError, OSError) as exc:
            raise ExchangeFailed("connection closed within the response") from exc
        return Reply(status, body, retry_after, content_type), keep

    async def close(self) -> None:
        for connection in self._free:
            connection.close()
        self._free.clear()
