"""Slow-loris at the HTTP edge, on real sockets: a server with small injected deadlines
closes connections that trickle headers or never send the promised body, and still serves
requests that arrive in time (mybroker/edge_timeouts.py)."""
from __future__ import annotations

import asyncio

import pytest
import uvicorn

from mybroker.edge_timeouts import EdgeTimeoutProtocol, _seconds, edge_protocol

DEADLINE = 0.2  # seconds: the injected header and body timeouts
SAFETY = 10.0  # only so a broken server fails the test instead of hanging it


async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    body = b""
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    # Slower than the deadlines: a request read in time is not cut while the app works.
    await asyncio.sleep(DEADLINE * 2)
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", str(len(body) + 2).encode())]})
    await send({"type": "http.response.body", "body": b"ok" + body})


@pytest.fixture
async def port():
    config = uvicorn.Config(app, host="127.0.0.1", port=0, lifespan="off", log_level="warning",
                            http=edge_protocol(header_timeout=DEADLINE, body_timeout=DEADLINE), timeout_keep_alive=60)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        assert not task.done(), "the server did not start"
        await asyncio.sleep(0.01)
    yield server.servers[0].sockets[0].getsockname()[1]
    server.should_exit = True
    await task


async def closed_by_server(reader: asyncio.StreamReader) -> bool:
    """True once the server closes the connection (EOF), having sent nothing."""
    data = await asyncio.wait_for(reader.read(), SAFETY)
    return data == b""


async def test_a_connection_that_sends_nothing_is_closed(port):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    assert await closed_by_server(reader)
    writer.close()


async def test_trickled_headers_are_cut_at_the_header_deadline(port):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"GET / HTTP/1.1\r\nHo")  # and never the rest
    await writer.drain()
    assert await closed_by_server(reader)
    writer.close()


async def test_many_slow_loris_connections_are_all_dropped(port):
    connections = [await asyncio.open_connection("127.0.0.1", port) for _ in range(100)]
    for _reader, writer in connections:
        writer.write(b"GET / HTTP/1.1\r\nX-")
    results = await asyncio.gather(*(closed_by_server(reader) for reader, _writer in connections))
    assert all(results)
    for _reader, writer in connections:
        writer.close()


async def test_a_promised_body_never_sent_is_cut_at_the_body_deadline(port):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n0123456789")
    await writer.drain()
    assert await closed_by_server(reader)
    writer.close()


async def test_requests_in_time_are_served_and_keep_alive_is_left_to_uvicorn(port):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    for _ in range(2):  # the second request reuses the kept-alive connection
        writer.write(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc")
        await writer.drain()
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), SAFETY)
        assert head.startswith(b"HTTP/1.1 200")
        assert await asyncio.wait_for(reader.readexactly(5), SAFETY) == b"okabc"
    writer.close()


def test_the_deadlines_come_from_the_environment_with_sane_defaults(monkeypatch):
    monkeypatch.delenv("MYBROKER_HEADER_TIMEOUT_SECONDS", raising=False)
    assert _seconds("MYBROKER_HEADER_TIMEOUT_SECONDS", 10.0) == 10.0
    monkeypatch.setenv("MYBROKER_HEADER_TIMEOUT_SECONDS", "3")
    assert edge_protocol().header_timeout == 3.0
    monkeypatch.setenv("MYBROKER_HEADER_TIMEOUT_SECONDS", "0")
    with pytest.raises(ValueError, match="MYBROKER_HEADER_TIMEOUT_SECONDS"):
        edge_protocol()
    assert issubclass(edge_protocol(1, 1), EdgeTimeoutProtocol)


# ------------------------------------------------------------------ a response's writes


class RecordingTransport:
    def __init__(self):
        self.sent: list[list[bytes]] = []
        self.closed = False

    def writelines(self, data):
        self.sent.append(list(data))

    def is_closing(self):
        return self.closed

    def close(self):
        self.closed = True

    def get_extra_info(self, name, default=None):
        return ("127.0.0.1", 1) if name == "peername" else default


async def test_a_turns_writes_leave_together_and_a_close_sends_what_is_held_first():
    from mybroker.edge_timeouts import _TurnWrites

    transport = RecordingTransport()
    writes = _TurnWrites(transport, asyncio.get_running_loop())
    writes.write(b"HTTP/1.1 200 OK\r\n\r\n")
    writes.write(b"body")
    assert transport.sent == [], "held until the end of the turn"
    await asyncio.sleep(0)
    assert transport.sent == [[b"HTTP/1.1 200 OK\r\n\r\n", b"body"]], "headers and body in one send"
    writes.write(b"next chunk")  # a streamed response's later chunk leaves at its own turn
    await asyncio.sleep(0)
    assert transport.sent[-1] == [b"next chunk"]
    writes.write(b"last")
    writes.close()
    assert transport.sent[-1] == [b"last"] and transport.closed
    assert writes.get_extra_info("peername") == ("127.0.0.1", 1), "the rest is the transport's"


async def test_pipelined_requests_are_answered_in_order_on_one_connection(port):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"".join(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\n" + bytes([48 + n]) for n in range(3)))
    answers = []
    for _ in range(3):
        await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), SAFETY)
        answers.append(await asyncio.wait_for(reader.readexactly(3), SAFETY))
    writer.close()
    assert answers == [b"ok0", b"ok1", b"ok2"]
