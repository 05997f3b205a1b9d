"""Service-to-service HTTP (internal APIs such as wallet reservations), with the internal token."""
from __future__ import annotations

from typing import Any

import aiohttp
import orjson

from mybroker.auth import internal_headers
from mybroker.errors import DomainError, ErrorCode


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

    def __init__(self, base_url: str, secret: str, timeout: float = 10.0):
        self.base_url = base_url.rstrip("/")
        self.secret = secret
        self.timeout = aiohttp.ClientTimeout(total=timeout)
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
            payload = orjson.loads(await response.read() or b"null")
            if response.status < 400:
                return payload
            if isinstance(payload, dict) and payload.get("code") in ErrorCode.__members__:
                raise DomainError(ErrorCode(payload["code"]), payload.get("message", ""))
            raise RuntimeError(f"{method} {path} answered HTTP {response.status}: {payload!r}")

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
