"""The wiring: the service serves GraphQL behind the internal token, and the HTTP clients speak the internal APIs
(docs/internals.md) to stand-ins for assets and wallet on a free local port."""
from __future__ import annotations

import socket
from decimal import Decimal

import aiohttp
import pytest
from fastapi import Request

from mybroker.auth import internal_headers
from mybroker.bus.memory import MemoryBus
from mybroker.cache import MemoryCache
from mybroker.errors import DomainError, ErrorCode
from mybroker.events import EXECUTIONS
from mybroker.internal_http import InternalClient
from launch.platform import serve_app
from mybroker.service import Infrastructure, internal_api, service_app
from mybroker.settings import Settings
from subgraphs.orders.app import create_service
from subgraphs.orders.clients import AssetsClient, Reservation, WalletClient

SECRET = "internal-secret"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def test_the_service_wires_graphql_and_the_executions_consumer(tmp_path, harness):
    bus = MemoryBus()
    settings = Settings(data_dir=tmp_path, internal_secret=SECRET)
    service = create_service(Infrastructure(settings, bus, MemoryCache()), assets=harness.assets, wallet=harness.wallet)
    assert service.name == "orders"
    assert "orders" in bus._groups[EXECUTIONS]
    await service.start()
    port = free_port()
    server, task = await serve_app(service.app, "127.0.0.1", port)
    try:
        assert (tmp_path / "orders.db").exists()
        query = {"query": "{ orders { id } }"}
        async with aiohttp.ClientSession() as http:
            url = f"http://127.0.0.1:{port}/graphql"
            async with http.post(url, json=query, headers=internal_headers(SECRET, "alice")) as response:
                assert await response.json() == {"data": {"orders": []}}
            # Without the internal token the user header counts for nothing.
            async with http.post(url, json=query, headers={"x-mybroker-user": "alice"}) as response:
                assert (await response.json())["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    finally:
        server.should_exit = True
        await task
        await service.stop()


@pytest.fixture
async def siblings():
    """Stand-ins for assets' and wallet's internal endpoints, recording what they receive."""
    seen: list[tuple[str, str, object]] = []
    app = service_app("siblings")
    api = internal_api(SECRET)

    @api.get("/assets/{ticker}")
    async def asset(ticker: str):
        seen.append(("GET", ticker, None))
        if ticker != "PETR4":
            raise DomainError(ErrorCode.UNKNOWN_ASSET, "unknown")
        return {"ticker": "PETR4", "name": "Petrobras PN", "type": "STOCK", "lotSize": 100, "active": True, "lastPrice": "31.40"}

    @api.post("/reservations")
    async def reserve(request: Request):
        body = await request.json()
        seen.append(("POST", body["orderId"], body))
        if body["quantity"] > 1000:
            raise DomainError(ErrorCode.INSUFFICIENT_FUNDS, "not enough cash")
        return {"orderId": body["orderId"], "amount": "1.00"}

    @api.delete("/reservations/{order_id}")
    async def release(order_id: str):
        seen.append(("DELETE", order_id, None))
        return {"orderId": order_id}

    app.include_router(api)
    port = free_port()
    server, task = await serve_app(app, "127.0.0.1", port)
    yield f"http://127.0.0.1:{port}", seen
    server.should_exit = True
    await task


async def test_the_http_clients_speak_the_internal_apis(siblings):
    url, seen = siblings
    assets, wallet = AssetsClient(InternalClient(url, SECRET)), WalletClient(InternalClient(url, SECRET))
    try:
        info = await assets.asset("PETR4")
        assert (info.ticker, info.lot_size, info.active, info.last_price) == ("PETR4", 100, True, Decimal("31.40"))
        with pytest.raises(DomainError) as unknown:
            await assets.asset("XXXX3")
        assert unknown.value.code is ErrorCode.UNKNOWN_ASSET

        await wallet.reserve(Reservation("o-1", "alice", "BUY", "PETR4", 100, Decimal("32.97")))
        with pytest.raises(DomainError) as poor:
            await wallet.reserve(Reservation("o-2", "alice", "BUY", "PETR4", 5000, Decimal("32.97")))
        assert poor.value.code is ErrorCode.INSUFFICIENT_FUNDS
        await wallet.release("o-2")
        assert seen[2] == (
            "POST",
            "o-1",
            {"orderId": "o-1", "userId": "alice", "side": "BUY", "ticker": "PETR4", "quantity": 100, "pricePerShare": "32.97"},
        )
        assert seen[-1] == ("DELETE", "o-2", None)
    finally:
        await assets.close()
        await wallet.close()
