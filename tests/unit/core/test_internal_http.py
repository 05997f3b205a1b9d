"""Internal calls are idempotent by key, so one whose pooled connection died without an
answer is sent once more; a refused connection is not retried."""
from __future__ import annotations

import aiohttp
import pytest

from mybroker.internal_http import InternalClient
from tests.support.closing_server import ClosingServer

@pytest.mark.asyncio
async def test_a_post_on_a_connection_the_server_closed_is_sent_again():
    async with ClosingServer({"reserved": True}) as server:
        client = InternalClient(server.url.removesuffix("/graphql"), "secret")
        try:
            body = {"orderId": "o-1", "quantity": 100}
            assert await client.call("POST", "/internal/reservations", body) == {"reserved": True}
            assert await client.call("POST", "/internal/reservations", body) == {"reserved": True}
        finally:
            await client.close()
    assert server.dropped == 1
    assert len(server.bodies) == 2


@pytest.mark.asyncio
async def test_a_refused_connection_is_raised():
    async with ClosingServer({}) as server:
        base = server.url.removesuffix("/graphql")
    client = InternalClient(base, "secret")
    try:
        with pytest.raises(aiohttp.ClientConnectorError):
            await client.call("GET", "/internal/assets/PETR4")
    finally:
        await client.close()


def test_clients_drop_idle_connections_before_the_servers_do():
    from mybroker.internal_http import INTERNAL_IDLE_SECONDS
    from launch.platform import SERVER_IDLE_SECONDS
    from router.subgraph_client import SUBGRAPH_IDLE_SECONDS

    assert INTERNAL_IDLE_SECONDS < SERVER_IDLE_SECONDS
    assert SUBGRAPH_IDLE_SECONDS < SERVER_IDLE_SECONDS
