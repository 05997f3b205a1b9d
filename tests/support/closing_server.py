"""An HTTP/1.1 server that closes a kept-alive connection as the next request arrives,
without answering it: what a server does when its idle timeout fires just as a client
reuses the pooled connection, made deterministic."""
from __future__ import annotations

import asyncio

import orjson


class ClosingServer:
    """Answers the first request of every connection with `answer` (JSON, keep-alive) and
    drops the connection at its second request. `bodies` records every request answered."""

    def __init__(self, answer: object):
        self.answer = orjson.dumps(answer)
        self.bodies: list[bytes] = []
        self.dropped = 0
        self._server: asyncio.AbstractServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.sockets[0].getsockname()[:2]
        return f"http://{host}:{port}/graphql"

    async def __aenter__(self) -> "ClosingServer":
        self._server = await asyncio.start_server(self._connection, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *exc) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            body = await _read_request(reader)
            if body is None:
                return
            self.bodies.append(body)
            writer.write(
                b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nconnection: keep-alive\r\n"
                + f"content-length: {len(self.answer)}\r\n\r\n".encode() + self.answer
            )
            await writer.drain()
            if await _read_request(reader) is not None:
                self.dropped += 1
        finally:
            writer.close()


async def _read_request(reader: asyncio.StreamReader) -> bytes | None:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, ConnectionError):
        return None
    length = 0
    for line in head.split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    return await reader.readexactly(length) if length else b""
