"""graphql-transport-ws (the graphql-ws library's protocol) at WebSocket /graphql.

https://github.com/enisdenjo/graphql-ws/blob/master/PROTOCOL.md. The caller's token comes
in `connection_init`'s payload (`{"Authorization": "Bearer <token>"}`), else from the
upgrade request's Authorization header; no token is an anonymous caller. A token that
does not verify closes the socket with 4403 Forbidden, as the protocol says for a refused
`connection_init`: graphql-ws clients then reconnect (re-reading `connectionParams`, so a
refreshed token gets through) and finally report the close event. The server pings every
`keepalive` seconds; clients answer pong automatically. Errors before and after
execution carry `extensions.code`.

A subscription's messages (`next`, then its `error` or `complete`) go through the
connection's outbox: the shared subscription queues ready-made text without waiting, and
the connection's own writer task sends it. The outbox is bounded: a client that cannot
keep up loses its oldest `next` messages (counted in `dropped`), never an ending.

Each `subscribe` draws from the caller's rate-limit buckets (router/rate_limit.py); a
refused one gets an `error` message for its id with RATE_LIMITED and `retryAfter`, and the
connection stays open for the client to try again later."""
from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections import deque
from typing import Any, Awaitable, Callable, Mapping, NoReturn

import orjson
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from router.auth import AuthenticationError, Caller
from router.errors import RequestError, RouterErrorCode
from router.pipeline import GraphQLRequest
from router.subscriptions.engine import LiveOperation, SubscriptionEngine, SubscriptionError
from router.subscriptions.fanout import SharedResult

log = logging.getLogger("router.subscriptions")

PROTOCOL = "graphql-transport-ws"

# The protocol's close codes.
BAD_REQUEST = 4400
UNAUTHORIZED = 4401
FORBIDDEN = 4403
SUBPROTOCOL_NOT_ACCEPTABLE = 4406
INIT_TIMEOUT = 4408
SUBSCRIBER_EXISTS = 4409
TOO_MANY_INIT = 4429
INTERNAL_ERROR = 4500

# The connection's headers -> the caller; raises router.auth.AuthenticationError for bad credentials.
Authenticate = Callable[[Mapping[str, str]], Awaitable[Caller]]
# The caller -> headers for subgraph requests (internal token, user id).
HeadersFor = Callable[[Caller], Mapping[str, str]]
# The caller -> a rate-limit refusal (router.rate_limit.RateLimited) or None.
Admit = Callable[[Caller], Awaitable[Any]]


class _Closed(Exception):
    """The connection is closing: stop reading."""


class GraphQLTransportWS:
    def __init__(
        self,
        websocket: WebSocket,
        engine: SubscriptionEngine,
        authenticate: Authenticate,
        headers_for: HeadersFor,
        *,
        init_timeout: float = 10.0,
        keepalive: float = 12.0,
        max_operations: int = 100,
        buffer: int = 256,
        admit: Admit | None = None,
    ):
        self.ws = websocket
        self.admit = admit
        self.caller: Caller | None = None  # set once acknowledged
        self.engine = engine
        self.authenticate = authenticate
        self.headers_for = headers_for
        self.init_timeout = init_timeout
        self.keepalive = keepalive
        self.max_operations = max_operations
        self.headers: Mapping[str, str] | None = None  # set once acknowledged
        self.init_received = False
        self.operations: dict[str, asyncio.Task] = {}
        self._send_lock = asyncio.Lock()
        self._background: list[asyncio.Task] = []
        # (sink, text) in send order: a `next` message names its operation's sink (it may be
        # dropped, or skipped once the client completed the operation); endings name None.
        self._outbox: deque[tuple[_OperationSink | None, str]] = deque()
        self._outbox_ready = asyncio.Event()
        self.buffer = buffer
        self.dropped = 0

    async def run(self) -> None:
        if PROTOCOL not in self.ws.scope.get("subprotocols", ()):
            await self.ws.accept()
            with contextlib.suppress(_Closed):
                await self._close(SUBPROTOCOL_NOT_ACCEPTABLE, "Subprotocol not acceptable")
            return
        await self.ws.accept(subprotocol=PROTOCOL)
        self._background.append(asyncio.create_task(self._init_deadline()))
        self._background.append(asyncio.create_task(self._writer(), name="ws-writer"))
        try:
            while True:
                try:
                    raw = await self.ws.receive_text()
                except (WebSocketDisconnect, RuntimeError):
                    return  # the client went away
                except KeyError:  # a binary frame: the protocol speaks text only
                    await self._close(BAD_REQUEST, "Invalid message received")
                await self._handle(raw)
        except _Closed:
            return
        finally:
            await self._shutdown()

    # ------------------------------------------------------------ messages

    async def _handle(self, raw: str) -> None:
        try:
            message = orjson.loads(raw)
        except orjson.JSONDecodeError:
            await self._close(BAD_REQUEST, "Invalid message received")
        if not isinstance(message, dict) or not isinstance(message.get("type"), str):
            await self._close(BAD_REQUEST, "Invalid message received")
        kind = message["type"]
        if kind == "connection_init":
            await self._connection_init(message.get("payload"))
        elif kind == "ping":
            await self._send({"type": "pong"})
        elif kind == "pong":
            pass
        elif kind == "subscribe":
            await self._subscribe(message)
        elif kind == "complete":
            task = self.operations.pop(str(message.get("id")), None)
            if task is not None:
                task.cancel()
        else:
            await self._close(BAD_REQUEST, f"Unexpected message type {kind!r}")

    async def _connection_init(self, payload: Any) -> None:
        if self.init_received:
            await self._close(TOO_MANY_INIT, "Too many initialisation requests")
        self.init_received = True
        if payload is not None and not isinstance(payload, dict):
            await self._close(BAD_REQUEST, "The connection_init payload must be an object")
        # connection_init's Authorization wins over the upgrade request's (browsers cannot set
        # headers on a WebSocket); the authenticator sees both as request headers.
        authorization = _authorization(payload or {})
        headers = self.ws.headers if authorization is None else {**self.ws.headers, "authorization": authorization}
        try:
            caller = await self.authenticate(headers)
        except AuthenticationError:
            await self._close(FORBIDDEN, "Forbidden")
        self.caller = caller
        self.headers = self.headers_for(caller)
        await self._send({"type": "connection_ack"})
        if self.keepalive > 0:
            self._background.append(asyncio.create_task(self._pings()))

    async def _subscribe(self, message: dict) -> None:
        if self.headers is None:
            await self._close(UNAUTHORIZED, "Unauthorized")
        operation_id, payload = message.get("id"), message.get("payload")
        if not isinstance(operation_id, str) or not operation_id or not isinstance(payload, dict):
            await self._close(BAD_REQUEST, "Invalid message received")
        if operation_id in self.operations:
            await self._close(SUBSCRIBER_EXISTS, f"Subscriber for {operation_id} already exists")
        if len(self.operations) >= self.max_operations:
            error = {
                "message": f"At most {self.max_operations} operations may run on one connection.",
                "extensions": {"code": RouterErrorCode.OPERATION_TOO_COMPLEX.value},
            }
            await self._send({"id": operation_id, "type": "error", "payload": [error]})
            return
        if self.admit is not None and self.caller is not None:
            refusal = await self.admit(self.caller)
            if refusal is not None:
                await self._send({"id": operation_id, "type": "error", "payload": [refusal.error()]})
                return
        request = GraphQLRequest(payload.get("query"), payload.get("variables"), payload.get("operationName"))
        task = asyncio.create_task(self._operation(operation_id, request), name=f"ws-operation:{operation_id}")
        self.operations[operation_id] = task

    async def _operation(self, operation_id: str, request: GraphQLRequest) -> None:
        try:
            try:
                if request.operation_name is not None and not isinstance(request.operation_name, str):
                    raise RequestError(RouterErrorCode.BAD_USER_INPUT, "operationName must be a string.")
                live = self.engine.prepare(request, headers=self.headers)
            except RequestError as error:
                await self._send({"id": operation_id, "type": "error", "payload": error.to_errors()})
                return
            try:
                if live.is_subscription:
                    await self._subscription(operation_id, live)
                    return
                async with contextlib.aclosing(self.engine.results(live, self.headers or {})) as results:
                    async for result in results:
                        await self._send({"id": operation_id, "type": "next", "payload": result})
            except SubscriptionError as error:
                await self._send({"id": operation_id, "type": "error", "payload": error.errors})
                return
            await self._send({"id": operation_id, "type": "complete"})
        except _Closed:
            return  # the connection is going away: nobody to tell
        except Exception:  # a router bug: logged with an id, never a trace to the client
            request_id = uuid.uuid4().hex[:12]
            log.exception("subscription %s failed (request id %s)", operation_id, request_id)
            shaped = {
                "message": f"Internal server error (request id {request_id}).",
                "extensions": {"code": RouterErrorCode.INTERNAL_SERVER_ERROR.value, "requestId": request_id},
            }
            with contextlib.suppress(_Closed):
                await self._send({"id": operation_id, "type": "error", "payload": [shaped]})
        finally:
            if self.operations.get(operation_id) is asyncio.current_task():
                del self.operations[operation_id]

    async def _subscription(self, operation_id: str, live: LiveOperation) -> None:
        """Joins the shared subscription and waits for its end; the messages meanwhile go
        straight from the shared task to the outbox, without waking this task."""
        sink = _OperationSink(self, operation_id)
        leave = self.engine.open(live, self.headers or {}, sink)
        try:
            await sink.ended
        finally:
            leave()  # also when cancelled: the client's `complete`, or the socket closing
            # Cancelling this task cancels `ended` too: only a result means the upstream ended.
            if sink.ended.cancelled() or not sink.ended.done():
                sink.withdrawn = True  # what is still queued for it is not sent

    # ------------------------------------------------------------ the outbox

    def _enqueue(self, text: str, sink: _OperationSink | None) -> None:
        """Queues `text`: a `next` message of `sink`'s operation, or an ending (None)."""
        outbox = self._outbox
        if sink is not None and len(outbox) >= self.buffer:
            if outbox[0][0] is not None:  # the oldest message is a `next`: the usual case
                outbox.popleft()
                self.dropped += 1
            else:  # an ending of another operation first: the oldest `next` after it
                for index, (old_sink, _) in enumerate(outbox):
                    if old_sink is not None:
                        del outbox[index]
                        self.dropped += 1
                        break
        outbox.append((sink, text))
        self._outbox_ready.set()

    async def _writer(self) -> None:
        """Sends the outbox in order; waits only on this client's socket. No lock: each
        send writes one whole frame, so control messages sent meanwhile (pong, ping) can
        only fall between two messages, never inside one."""
        outbox, ready, ws = self._outbox, self._outbox_ready, self.ws
        try:
            while True:
                await ready.wait()
                ready.clear()
                while outbox:
                    sink, text = outbox.popleft()
                    if sink is not None and sink.withdrawn:
                        continue
                    if ws.application_state != WebSocketState.CONNECTED:
                        return
                    # Returns without suspending unless the socket's write buffer is full.
                    await ws.send({"type": "websocket.send", "text": text})
        except (WebSocketDisconnect, RuntimeError, OSError):
            return  # the client went away: the reading side ends the connection

    # ------------------------------------------------------------ timers

    async def _init_deadline(self) -> None:
        await asyncio.sleep(self.init_timeout)
        if not self.init_received:
            with contextlib.suppress(_Closed):
                await self._close(INIT_TIMEOUT, "Connection initialisation timeout")

    async def _pings(self) -> None:
        with contextlib.suppress(_Closed):
            while True:
                await asyncio.sleep(self.keepalive)
                await self._send({"type": "ping"})

    # ------------------------------------------------------------ the socket

    async def _send(self, message: dict) -> None:
        async with self._send_lock:
            if self.ws.application_state != WebSocketState.CONNECTED:
                raise _Closed()
            try:
                await self.ws.send_text(orjson.dumps(message).decode())
            except (WebSocketDisconnect, RuntimeError, OSError):
                raise _Closed() from None

    async def _close(self, code: int, reason: str) -> NoReturn:
        """Closes the socket and stops whoever called (raises _Closed)."""
        async with self._send_lock:
            if self.ws.application_state == WebSocketState.CONNECTED:
                with contextlib.suppress(Exception):
                    await self.ws.close(code, reason)
        raise _Closed()

    async def _shutdown(self) -> None:
        tasks = [*self.operations.values(), *self._background]
        self.operations.clear()
        for task in tasks:
            if task is not asyncio.current_task():
                task.cancel()
        others = [task for task in tasks if task is not asyncio.current_task()]
        if others:
            await asyncio.gather(*others, return_exceptions=True)
        if self.ws.application_state == WebSocketState.CONNECTED:
            with contextlib.suppress(Exception):
                await self.ws.close(1000)


def _authorization(payload: Mapping[str, Any]) -> str | None:
    for key in ("Authorization", "authorization"):
        value = payload.get(key)
        if isinstance(value, str):
            return value
    return None


class _OperationSink:
    """One client subscription as a member of its shared subscription (fanout.Sink)."""

    __slots__ = ("connection", "quoted_id", "ended", "withdrawn")

    def __init__(self, connection: GraphQLTransportWS, operation_id: str):
        self.connection = connection
        self.quoted_id = orjson.dumps(operation_id).decode()  # spliced into every `next`
        self.ended: asyncio.Future = asyncio.get_running_loop().create_future()
        self.withdrawn = False  # the client completed it: its queued `next` messages are skipped

    def next(self, shared: SharedResult) -> None:
        self.connection._enqueue(shared.ws_next(self.quoted_id), self)

    def error(self, errors: list[dict[str, Any]]) -> None:
        self._end('{"id":' + self.quoted_id + ',"type":"error","payload":' + orjson.dumps(errors).decode() + "}")

    def complete(self) -> None:
        self._end('{"id":' + self.quoted_id + ',"type":"complete"}')

    def _end(self, text: str) -> None:
        self.connection._enqueue(text, None)
        if not self.ended.done():
            self.ended.set_result(None)
