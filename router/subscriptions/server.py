"""Wires the subscription transports to the router: one engine and hub per router app."""
from __future__ import annotations

import contextlib
import logging
import uuid
from dataclasses import dataclass
from typing import Any, AsyncIterator, Awaitable, Callable, Mapping

import aiohttp
from starlette.responses import Response
from starlette.websockets import WebSocket

from router.auth import ANONYMOUS, Authenticator, Caller
from router.errors import RouterErrorCode
from router.identity_headers import client_address, internal_headers
from router.pipeline import RouterPipeline
from router.rate_limit import RateLimited
from router.subscriptions.engine import LiveOperation, SubscriptionEngine, SubscriptionError
from router.subscriptions.graphql_ws import GraphQLTransportWS
from router.subscriptions.hub import SubscriptionHub
from router.subscriptions.streaming import MULTIPART, SSE, Failed, streaming_response, streaming_transport
from router.subscriptions.upstream import SubgraphSubscriber, WebSocketSubscriber

log = logging.getLogger("router.subscriptions")

__all__ = ["SubscriptionServer", "SubscriptionSettings", "streaming_transport", "SSE", "MULTIPART"]


@dataclass(frozen=True)
class SubscriptionSettings:
    # graphql-transport-ws: seconds to wait for connection_init, and between server pings.
    init_timeout: float = 10.0
    ws_keepalive: float = 12.0
    # Operations one WebSocket may run at once (an operation limit for subscriptions).
    max_operations_per_connection: int = 100
    # Seconds of quiet before an SSE comment line, and between multipart `{}` heartbeats.
    sse_keepalive: float = 12.0
    multipart_heartbeat: float = 5.0
    # Messages a slow client may fall behind (per WebSocket, per stream) before it loses the oldest.
    buffer: int = 256


class SubscriptionServer:
    def __init__(
        self,
        pipeline: RouterPipeline,
        *,
        internal_secret: str,
        authenticator: Authenticator | None,
        settings: SubscriptionSettings | None = None,
        session: Callable[[], aiohttp.ClientSession] | None = None,
        subscriber: SubgraphSubscriber | None = None,
        rate_limit: Callable[[Caller, str | None], Awaitable[RateLimited | None]] | None = None,
        trusted_proxies: frozenset[str] = frozenset(),
    ):
        self.settings = settings or SubscriptionSettings()
        # The router's rate limits (caller, client address -> a refusal or None), per subscribe.
        self.rate_limit = rate_limit
        self.trusted_proxies = trusted_proxies
        self.internal_secret = internal_secret
        self.authenticator = authenticator
        self.subscriber = subscriber or WebSocketSubscriber(session)
        self.hub = SubscriptionHub(self.subscriber, capacity=self.settings.buffer)
        self.engine = SubscriptionEngine(pipeline, self.hub)

    async def authenticate(self, headers: Mapping[str, str]) -> Caller:
        """The connection's caller (router.auth); raises AuthenticationError."""
        if self.authenticator is None:
            return ANONYMOUS
        return await self.authenticator.authenticate(headers)

    def headers_for(self, caller: Caller) -> dict[str, str]:
        return internal_headers(self.internal_secret, caller.user_id)

    async def websocket(self, websocket: WebSocket) -> None:
        """The WebSocket endpoint at /graphql."""
        admit: Callable[[Caller], Awaitable[RateLimited | None]] | None = None
        if self.rate_limit is not None:
            rate_limit = self.rate_limit
            # The same address as HTTP requests get (X-Forwarded-For only from trusted proxies).
            address = client_address(
                websocket.client.host if websocket.client else None, websocket.headers.get("x-forwarded-for"), self.trusted_proxies
            )

            async def admit_caller(caller: Caller) -> RateLimited | None:
                return await rate_limit(caller, address)

            admit = admit_caller

        await GraphQLTransportWS(
            websocket,
            self.engine,
            self.authenticate,
            self.headers_for,
            init_timeout=self.settings.init_timeout,
            keepalive=self.settings.ws_keepalive,
            max_operations=self.settings.max_operations_per_connection,
            buffer=self.settings.buffer,
            admit=admit,
        ).run()

    def stream(self, transport: str, live: LiveOperation, caller: Caller) -> Response:
        """The SSE or multipart response for an operation the engine prepared (request
        errors were answered as plain JSON before this)."""
        interval = self.settings.sse_keepalive if transport == SSE else self.settings.multipart_heartbeat
        return streaming_response(transport, self._results(live, self.headers_for(caller)), interval)

    async def _results(self, live: LiveOperation, headers: Mapping[str, str]) -> AsyncIterator[Any]:
        try:
            async with contextlib.aclosing(self.engine.stream(live, headers)) as results:
                async for result in results:
                    yield result
        except SubscriptionError as error:
            yield Failed(error.errors)
        except Exception:  # a router bug: logged with an id, never a trace to the client
            request_id = uuid.uuid4().hex[:12]
            log.exception("streamed operation failed (request id %s)", request_id)
            yield Failed([{
                "message": f"Internal server error (request id {request_id}).",
                "extensions": {"code": RouterErrorCode.INTERNAL_SERVER_ERROR.value, "requestId": request_id},
            }])

    async def close(self) -> None:
        await self.hub.close()
        close = getattr(self.subscriber, "close", None)
        if close is not None:
            await close()


def pooled_session(client: Any) -> Callable[[], aiohttp.ClientSession] | None:
    """The aiohttp session of the router's HttpSubgraphClient (through wrappers such as
    ObservedSubgraphClient), so upstream WebSockets share its connection pool; None for
    other clients (tests), and the subscriber then keeps a session of its own."""
    while client is not None:
        provider = getattr(client, "_session_for_loop", None)
        if provider is not None:
            return provider
        client = getattr(client, "inner", None)
    return None
