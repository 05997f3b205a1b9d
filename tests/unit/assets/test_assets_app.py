"""The assets service as the platform runs it: create_service, start, uvicorn on a free
port, the internal API through InternalClient and GraphQL over HTTP."""
from __future__ import annotations

import asyncio
import socket

import aiohttp
import pytest
import pytest_asyncio
import uvicorn

from mybroker.auth import internal_headers
from mybroker.bus.memory import MemoryBus
from mybroker.cache import MemoryCache
from mybroker.errors import DomainError, ErrorCode
from mybroker.events import MARKET_DATA, QUOTE, Envelope
from mybroker.internal_http import InternalClient
from mybroker.service import Infrastructure
from mybroker.settings import Settings
from subgraphs.assets.app import create_service

SECRET = "test-secret"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest_asyncio.fixture
async def served(tmp_path):
    bus = MemoryBus()
    settings = Settings.from_env(env={}, data_dir=tmp_path, internal_secret=SECRET)
    infra = Infrastructure(settings, bus, MemoryCache())
    feeds = []  # the service's live feeds: a test waits on their subscribers, never a sleep
    opened = infra.live_feed

    def recorded(channel):
        feeds.append(opened(channel))
        return feeds[-1]

    infra.live_feed = recorded
    service = create_service(infra)
    bus.feeds = feeds
    await service.start()
    await bus.start()
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(service.app, host="127.0.0.1", port=port, lifespan="off", log_level="warning"))
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    yield bus, f"http://127.0.0.1:{port}"
    server.should_exit = True
    await task
    await bus.stop()
    await service.stop()


async def test_internal_asset_summary(served):
    bus, url = served
    client = InternalClient(url, SECRET)
    try:
        assert await client.call("GET", "/internal/assets/petr4") == {
            "ticker": "PETR4",
            "name": "Petrobras PN",
            "type": "STOCK",
            "lotSize": 100,
            "active": True,
            "lastPrice": None,
        }
        quote = {"ticker": "PETR4", "price": "31.4", "change": "0", "changePercent": 0, "volume": 1, "time": "2025-03-10T13:00:00Z"}
        await bus.publish(MARKET_DATA, Envelope(QUOTE, quote), key="PETR4")
        await bus.drain()
        assert (await client.call("GET", "/internal/assets/PETR4"))["lastPrice"] == "31.40"
        with pytest.raises(DomainError) as raised:
            await client.call("GET", "/internal/assets/NOPE3")
        assert raised.value.code is ErrorCode.UNKNOWN_ASSET
    finally:
        await client.close()


async def test_internal_api_refuses_callers_without_the_token(served):
    _bus, url = served
    async with aiohttp.ClientSession() as http:
        async with http.get(url + "/internal/assets/PETR4") as response:
            assert response.status == 403
        async with http.get(url + "/internal/assets/NOPE3", headers=internal_headers(SECRET)) as response:
            assert response.status == 404 and (await response.json())["code"] == "UNKNOWN_ASSET"


async def test_graphql_over_http(served):
    _bus, url = served
    async with aiohttp.ClientSession() as http:
        async with http.post(url + "/graphql", json={"query": '{ asset(ticker: "VALE3") { name lotSize } }'}) as response:
            assert (await response.json()) == {"data": {"asset": {"name": "Vale ON", "lotSize": 100}}}
        async with http.post(url + "/graphql", json={"query": "{ assets(first: 0) { ticker } }"}) as response:
            body = await response.json()
            assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_quotes_subscription_over_websocket(served):
    bus, url = served
    quote = {"ticker": "PETR4", "price": "31.40", "change": "0", "changePercent": 0, "volume": 1, "time": "2025-03-10T13:00:00Z"}
    async with aiohttp.ClientSession() as http:
        async with http.ws_connect(url + "/graphql", protocols=["graphql-transport-ws"]) as ws:
            await ws.send_json({"type": "connection_init"})
            assert (await ws.receive_json(timeout=5))["type"] == "connection_ack"
            query = 'subscription { quotes(tickers: ["PETR4"]) { ticker price } }'
            await ws.send_json({"id": "1", "type": "subscribe", "payload": {"query": query}})
            while not any(feed.subscribers for feed in bus.feeds):  # the subscription reaches the live feed
                await asyncio.sleep(0.01)
            await bus.publish(MARKET_DATA, Envelope(QUOTE, {**quote, "ticker": "VALE3"}), key="VALE3")
            await bus.publish(MARKET_DATA, Envelope(QUOTE, quote), key="PETR4")
            message = await ws.receive_json(timeout=5)
            assert message == {"id": "1", "type": "next", "payload": {"data": {"quotes": {"ticker": "PETR4", "price": "31.40"}}}}
