"""Header and body deadlines at the HTTP edge, which uvicorn does not have.

uvicorn closes an idle keep-alive connection (timeout_keep_alive) but waits forever for a
request's headers and body: 500 connections trickling a header byte at a time held the
router 65 s and more (slow-loris, issue 13), and a body promised by Content-Length and never
sent held it 20 s. This protocol is uvicorn's httptools protocol with one timer:

- armed when a connection opens or a request's first byte arrives: the headers must be
  complete within `header_timeout` (MYBROKER_HEADER_TIMEOUT_SECONDS, default 10 s);
- re-armed when the headers are complete and a body follows: the whole body must arrive
  within `body_timeout` (MYBROKER_BODY_TIMEOUT_SECONDS, default 15 s);
- cancelled when the request has been read, and on a WebSocket upgrade (graphql-ws then
  gives the client 10 s for connection_init: router/subscriptions/graphql_ws.py).
When it fires the connection is closed; the application sees a disconnect.
docs/design.md, "Production mode and edge timeouts".

It also sends a response's writes of one turn of the loop together (`_TurnWrites`):
uvicorn writes the headers and the body apart, two sends on the socket and two segments
for the client to read, for every answer of every subgraph and of the router."""
from __future__ import annotations

import asyncio
import os

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

HEADER_TIMEOUT_SECONDS = 10.0
BODY_TIMEOUT_SECONDS = 15.0


def _seconds(variable: str, default: float) -> float:
    raw = os.environ.get(variable, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{variable} must be a number of seconds, not {raw!r}") from None
    if value <= 0:
        raise ValueError(f"{variable} must be more than 0, not {raw!r}")
    return value


class _TurnWrites:
    """The transport a request's cycle writes through: what it writes in one turn of the
    loop leaves in one `writelines` at the end of that turn, the headers with the body
    they precede. A streamed response (a subscription over SSE, say) still leaves at each
    turn, so nothing waits longer than the turn it was written in. Everything else is the
    transport's own; a close sends what is held first."""

    __slots__ = ("_transport", "_loop", "_held")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop):
        self._transport = transport
        self._loop = loop
        self._held: list[bytes] = []

    def write(self, data: bytes) -> None:
        if not self._held:
            self._loop.call_soon(self.flush)
        self._held.append(data)

    def flush(self) -> None:
        if self._held:
            held, self._held = self._held, []
            if not self._transport.is_closing():
                self._transport.writelines(held)

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def __getattr__(self, name: str):
        return getattr(self._transport, name)


class EdgeTimeoutProtocol(HttpToolsProtocol):
    """uvicorn.Config(http="mybroker.edge_timeouts:EdgeTimeoutProtocol") takes the deadlines
    from the environment (what router worker processes inherit); edge_protocol() injects them."""

    header_timeout = _seconds("MYBROKER_HEADER_TIMEOUT_SECONDS", HEADER_TIMEOUT_SECONDS)
    body_timeout = _seconds("MYBROKER_BODY_TIMEOUT_SECONDS", BODY_TIMEOUT_SECONDS)

    _deadline: asyncio.TimerHandle | None = None

    def _arm(self, seconds: float) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(seconds, self._expired)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _expired(self) -> None:
        self._deadline = None
        if not self.transport.is_closing():
            self.transport.close()

    def connection_made(self, transport) -> None:
        super().connection_made(transport)
        self._arm(self.header_timeout)  # a connection that never sends a request

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self._deadline is None:  # the next request on a kept-alive connection
            self._arm(self.header_timeout)

    def on_headers_complete(self) -> None:
        self._disarm()
        cycle = self.cycle
        super().on_headers_complete()
        if self.cycle is not cycle:  # a request's cycle, not an upgrade to a WebSocket
            self.cycle.transport = _TurnWrites(self.transport, self.loop)  # type: ignore[assignment]
        if not (self.parser.should_upgrade() and self._should_upgrade()):
            self._arm(self.body_timeout)  # cancelled at once by on_message_complete when there is no body

    def on_message_complete(self) -> None:
        self._disarm()
        super().on_message_complete()


def edge_protocol(header_timeout: float | None = None, body_timeout: float | None = None) -> type[EdgeTimeoutProtocol]:
    """The protocol class for uvicorn.Config(http=...), with these deadlines (default: the
    MYBROKER_HEADER_TIMEOUT_SECONDS and MYBROKER_BODY_TIMEOUT_SECONDS variables, else 10 s
    and 15 s)."""
    header = header_timeout if header_timeout is not None else _seconds("MYBROKER_HEADER_TIMEOUT_SECONDS", HEADER_TIMEOUT_SECONDS)
    body = body_timeout if body_timeout is not None else _seconds("MYBROKER_BODY_TIMEOUT_SECONDS", BODY_TIMEOUT_SECONDS)
    return type("EdgeTimeoutProtocol", (EdgeTimeoutProtocol,), {"header_timeout": header, "body_timeout": body})
