"""The router's side of a subgraph subscription: graphql-transport-ws over aiohttp.

One WebSocket per upstream subscription (the hub shares it among identical client
subscriptions), opened with the internal headers on the upgrade request so the subgraph
knows the caller. `subscribe` is an async generator of the subgraph's `next` payloads;
closing it early sends `complete` and closes the socket."""
from __future__ import annotations

import asyncio
import contextlib
from typing import Any, AsyncGenerator, Callable, Protocol

import aiohttp
import orjson

from router.subgraph_client import SubgraphUnavailable

PROTOCOL = "graphql-transport-ws"


class UpstreamError(Exception):
    """The subgraph refused or ended the subscription with GraphQL errors (`error`)."""

    def __init__(self, errors: Any):
        super().__init__("the subgraph sent an error message")
        self.errors = errors


class SubgraphSubscriber(Protocol):
    def subscribe(self, url: str, body: dict[str, Any], headers: dict[str, str]) -> AsyncGenerator[dict[str, Any], None]:
        """The subgraph's execution results for one subscription, until it completes.
        Raises UpstreamError for an `error` message, SubgraphUnavailable for anything else
        that ends it (refused, dropped, not speaking the protocol)."""
        ...


class WebSocketSubscriber:
    """SubgraphSubscriber over aiohttp's WebSocket client, on the router's pooled session
    when given one (`session`), else on a session of its own."""

    def __init__(
        self, session: Callable[[], aiohttp.ClientSession] | None = None, *, ack_timeout: float = 10.0, heartbeat: float = 20.0
    ):
        self._session_provider = session
        self._own: aiohttp.ClientSession | None = None
        self.ack_timeout = ack_timeout
        self.heartbeat = heartbeat

    def _session(self) -> aiohttp.ClientSession:
        if self._session_provider is not None:
            return self._session_provider()
        if self._own is None or self._own.closed:
            self._own = aiohttp.ClientSession()
        return self._own

    async def close(self) -> None:
        if self._own is not None and not self._own.closed:
            await self._own.close()

    async def subscribe(self, url: str, body: dict[str, Any], headers: dict[str, str]) -> AsyncGenerator[dict[str, Any], None]:
        try:
            ws = await self._session().ws_connect(
                url,
                protocols=(PROTOCOL,),
                headers=headers,
                heartbeat=self.heartbeat,  # aiohttp pings the subgraph: a dead peer is noticed
                timeout=aiohttp.ClientWSTimeout(ws_receive=None, ws_close=2.0),
            )
        except (TimeoutError, aiohttp.ClientError, OSError) as error:
            raise SubgraphUnavailable(f"WebSocket refused: {type(error).__name__}") from None
        completed = False
        try:
            await ws.send_str('{"type":"connection_init"}')
            await self._acknowledged(ws)
            await ws.send_str(orjson.dumps({"id": "1", "type": "subscribe", "payload": body}).decode())
            while True:
                message = await _receive(ws)
                kind = message.get("type")
                if kind == "next" and message.get("id") == "1":
                    payload = message.get("payload")
                    yield payload if isinstance(payload, dict) else {"data": None}
                elif kind == "error" and message.get("id") == "1":
                    completed = True
                    raise UpstreamError(message.get("payload"))
                elif kind == "complete" and message.get("id") == "1":
                    completed = True
                    return
                elif kind == "ping":
                    await ws.send_str('{"type":"pong"}')
        except (TimeoutError, aiohttp.ClientError, ConnectionError) as error:
            raise SubgraphUnavailable(f"the WebSocket failed: {type(error).__name__}") from None
        finally:
            if not ws.closed:
                if not completed:
                    with contextlib.suppress(Exception):
                        await ws.send_str('{"id":"1","type":"complete"}')
                with contextlib.suppress(Exception):
                    await ws.close()

    async def _acknowledged(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        async with asyncio.timeout(self.ack_timeout):
            while True:
                message = await _receive(ws)
                if message.get("type") == "connection_ack":
                    return
                if message.get("type") == "ping":
                    await ws.send_str('{"type":"pong"}')


async def _receive(ws: aiohttp.ClientWebSocketResponse) -> dict[str, Any]:
    """The next protocol message; SubgraphUnavailable when the socket closes or talks nonsense."""
    try:
        message = await ws.receive()
    except TimeoutError:
        raise SubgraphUnavailable("no answer on the WebSocket") from None
    if message.type == aiohttp.WSMsgType.TEXT:
        try:
            decoded = orjson.loads(message.data)
        except orjson.JSONDecodeError:
            raise SubgraphUnavailable("a message that is not JSON") from None
        if isinstance(decoded, dict):
            return decoded
        raise SubgraphUnavailable("a message that is not a JSON object")
    if message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSING, aiohttp.WSMsgType.CLOSED):
        raise SubgraphUnavailable(f"the WebSocket closed (code {ws.close_code})")
    if message.type == aiohttp.WSMsgType.ERROR:
        raise SubgraphUnavailable(f"the WebSocket failed: {ws.exception()!r}")
    raise SubgraphUnavailable(f"an unexpected {message.type.name} frame")
