"""Service-to-service HTTP (internal APIs such as wallet reservations), with the internal token."""
from __future__ import annotations

import asyncio
import logging
from typing import Any, Callable

import aiohttp
import orjson

from mybroker.auth import internal_headers
from mybroker.errors import DomainError, ErrorCode

log = logging.getLogger("mybroker.internal_http")


# Idle pooled connections are closed after this long, sooner than our servers close them
# (launch.platform.SERVER_IDLE_SECONDS, 60 s), so a call is not written on a connection
# the server is closing at that moment.
INTERNAL_IDLE_SECONDS = 30.0


class InternalClient:
    """JSON over pooled HTTP to a sibling service. A 4xx answer carrying
    {"code", "message"} is raised as that DomainError, so callers see the contract's codes.

    Every internal API is idempotent by its key (a reservation by order id, a settlement or
    a fill by execution id, a release, a status read): a call whose connection died before
    an answer (the server restarted, or closed the pooled connection as it was reused) is
    sent once more on a fresh connection."""

    def __init__(self, base_url: str, secret: str, timeout: float = 10.0, *, local_app: Callable[[], Any] | None = None):
        """`local_app`: the sibling's ASGI app when it runs in this process (the embedded
        platform), else None; asked per call, since the app is served after the clients
        are made. Then the request goes straight to the app (`call_app`)."""
        self.base_url = base_url.rstrip("/")
        self.secret = secret
        self.timeout = aiohttp.ClientTimeout(total=timeout)
        self._local_app = local_app or (lambda: None)
        self._session: aiohttp.ClientSession | None = None

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                timeout=self.timeout,
                connector=aiohttp.TCPConnector(keepalive_timeout=INTERNAL_IDLE_SECONDS),
                json_serialize=lambda o: orjson.dumps(o).decode(),
            )
        return self._session

    async def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        app = self._local_app()
        if app is not None:
            status, raw = await call_app(app, method, path, body, internal_headers(self.secret), self.timeout.total)
            return self._answer(method, path, status, raw)
        try:
            return await self._call(method, path, body)
        except (aiohttp.ServerDisconnectedError, aiohttp.ClientOSError) as error:
            if isinstance(error, aiohttp.ClientConnectorError):  # refused: nothing was sent
                raise
            return await self._call(method, path, body)

    async def _call(self, method: str, path: str, body: dict[str, Any] | None) -> Any:
        async with self._http().request(
            method, self.base_url + path, json=body, headers=internal_headers(self.secret)
        ) as response:
            return self._answer(method, path, response.status, await response.read())

    @staticmethod
    def _answer(method: str, path: str, status: int, raw: bytes) -> Any:
        try:
            payload = orjson.loads(raw or b"null")
        except orjson.JSONDecodeError:  # e.g. a server's plain "Internal Server Error"
            if status < 400:
                raise
            payload = raw.decode("utf-8", "replace")
        if status < 400:
            return payload
        if isinstance(payload, dict) and payload.get("code") in ErrorCode.__members__:
            raise DomainError(ErrorCode(payload["code"]), payload.get("message", ""))
        raise RuntimeError(f"{method} {path} answered HTTP {status}: {payload!r}")

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()


async def call_app(
    app: Any, method: str, path: str, body: dict[str, Any] | None, headers: dict[str, str], timeout: float | None
) -> tuple[int, bytes]:
    """One HTTP request handed to an ASGI app in this process: the same app, middleware,
    status and body as over a socket, without the socket, HTTP parsing on both ends and
    the client's connection pool (orders asks the wallet to reserve before each order and
    to settle each of B3's reports): about 8% more orders per second at 50 traders on the
    embedded platform (BENCHMARKS.md).

    As with a real server, the request runs in a task of its own: a caller that times out
    or is cancelled stops waiting, and the handler finishes or fails on its own (every
    internal API is idempotent, so the caller's retry is safe either way). An exception
    the app lets out is logged and answered 500, as the server would."""
    target, _, query = path.partition("?")
    raw = orjson.dumps(body) if body is not None else b""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method.upper(),
        "scheme": "http",
        "path": target,
        "raw_path": target.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(raw)).encode()),
            *((name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in headers.items()),
        ],
        "client": ("127.0.0.1", 0),
        "server": ("127.0.0.1", 0),
    }
    answered = asyncio.Event()
    status = 500
    chunks: list[bytes] = []
    delivered = False

    async def receive() -> dict[str, Any]:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": raw, "more_body": False}
        await answered.wait()  # the client goes away only once it has its answer
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                answered.set()

    async def handle() -> None:
        nonlocal status
        try:
            await app(scope, receive, send)
        except Exception:  # noqa: BLE001 - the server's 500, logged as uvicorn logs it
            log.exception("Exception in ASGI application (in-process %s %s)", method, path)
            if not answered.is_set():
                status = 500
                chunks.clear()
        finally:
            answered.set()

    handling = asyncio.ensure_future(handle())
    try:
        await asyncio.wait_for(asyncio.shield(handling), timeout)
    except TimeoutError:
        raise TimeoutError(f"{method} {path} did not answer in {timeout} s") from None
    return status, b"".join(chunks)
