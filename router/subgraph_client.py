"""How the executor talks to subgraphs: one small interface, one production implementation.

Tests plug in their own `SubgraphClient` (e.g. one that executes Strawberry schemas in
process); production uses `HttpSubgraphClient`, one pooled aiohttp session with keep-alive
and orjson on both ways."""
from __future__ import annotations

import asyncio
from typing import Any, Protocol

import aiohttp
import orjson


class SubgraphUnavailable(Exception):
    """The subgraph did not answer with a GraphQL response (refused, timed out, not JSON)."""


class SubgraphClient(Protocol):
    async def fetch(self, url: str, body: dict[str, Any], headers: dict[str, str]) -> dict[str, Any]:
        """POSTs a GraphQL request; returns the decoded GraphQL response or raises
        SubgraphUnavailable."""
        ...


class HttpSubgraphClient:
    def __init__(self, *, timeout: float = 30.0, connections: int = 256):
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._connections = connections
        self._session: aiohttp.ClientSession | None = None

    def _session_for_loop(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(limit=self._connections, limit_per_host=self._connections, ttl_dns_cache=300)
            self._session = aiohttp.ClientSession(
                connector=connector,
                timeout=self._timeout,
                json_serialize=lambda value: orjson.dumps(value).decode(),
            )
        return self._session

    async def fetch(self, url: str, body: dict[str, Any], headers: dict[str, str]) -> dict[str, Any]:
        session = self._session_for_loop()
        request_headers = {"content-type": "application/json", "accept": "application/json", **headers}
        try:
            async with session.post(url, data=orjson.dumps(body), headers=request_headers) as response:
                raw = await response.read()
                status = response.status
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as error:
            raise SubgraphUnavailable(type(error).__name__) from None
        try:
            decoded = orjson.loads(raw)
        except orjson.JSONDecodeError:
            raise SubgraphUnavailable(f"HTTP {status} without a JSON body") from None
        if not isinstance(decoded, dict) or ("data" not in decoded and "errors" not in decoded):
            raise SubgraphUnavailable(f"HTTP {status} without a GraphQL response")
        return decoded

    async def close(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None
