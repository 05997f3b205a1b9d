"""Subgraph subscriptions over graphql-transport-ws, as the router's subscription side
reaches them: the assets and orders services served by uvicorn, a `websockets` client."""
from __future__ import annotations

import asyncio
import json
import socket

import pytest_asyncio
import uvicorn
from websockets.asyncio.client import connect

from mybroker.auth import internal_headers
from mybroker.bus.memory import MemoryBus
from mybroker.cache import MemoryCache
from mybroker.events import MARKET_DATA, ORDER_EVENTS, ORDER_UPDATED, QUOTE, Envelope
from mybroker.service import Infrastructure
from mybroker.settings import Settings

SECRET = "test-secret"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def until(condition, timeout: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


class Served:
    def __init__(self, infra: Infrastructure, url: str):
        self.infra = infra
        self.bus = infra.bus
        self.url = url

    def subscribers(self) -> int:
        return sum(feed.subscribers for feed in self.infra.live.feeds) if self.infra.live else 0


async def serve(tmp_path, create):
    bus = MemoryBus()
    infra = Infrastructure(Settings.from_env(env={}, data_dir=tmp_path, internal_secret=SECRET), bus, MemoryCache())
    service = create(infra)
    await service.start()
    await bus.start()
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(service.app, host="127.0.0.1", port=port, lifespan="off", log_level="warning"))
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    return Served(infra, f"ws://127.0.0.1:{port}/graphql"), server, task, service


@pytest_asyncio.fixture
async def assets(tmp_path):
    from subgraphs.assets.app import create_service

    served, server, task, service = await serve(tmp_path, create_service)
    yield served
    server.should_exit = True
    await task
    await served.bus.stop()
    await service.stop()


@pytest_asyncio.fixture
async def orders(tmp_path):
    from subgraphs.orders.app import create_service
    from tests.unit.orders.conftest import FakeAssets, FakeWallet

    served, server, task, service = await serve(
        tmp_path, lambda infra: create_service(infra, assets=FakeAssets(), wallet=FakeWallet())
    )
    yield served
    server.should_exit = True
    await task
    await served.bus.stop()
    await service.stop()


async def open_session(url: str, user: str | None = None):
    ws = await connect(url, subprotocols=["graphql-transport-ws"], additional_headers=internal_headers(SECRET, user))
    await ws.send(json.dumps({"type": "connection_init"}))
    assert json.loads(await asyncio.wait_for(ws.recv(), 5))["type"] == "connection_ack"
    return ws


async def receive(ws) -> dict:
    return json.loads(await asyncio.wait_for(ws.recv(), 5))


def quote(ticker: str, price: str) -> Envelope:
    return Envelope(
        QUOTE,
        {"ticker": ticker, "price": price, "change": "0.00", "changePercent": 0, "volume": 1, "time": "2025-03-10T13:00:00.000Z"},
    )


async def test_quotes_arrive_only_for_the_asked_tickers(assets):
    ws = await open_session(assets.url)
    try:
        query = 'subscription { quotes(tickers: ["PETR4", "VALE3"]) { ticker price } }'
        await ws.send(json.dumps({"id": "q", "type": "subscribe", "payload": {"query": query}}))
        await until(lambda: assets.subscribers() == 1)
        for ticker, price in (("ITUB4", "37.00"), ("PETR4", "31.40"), ("BBDC4", "14.00"), ("VALE3", "60.20")):
            await assets.bus.publish(MARKET_DATA, quote(ticker, price), key=ticker)
        first, second = await receive(ws), await receive(ws)
        assert [m["payload"]["data"]["quotes"] for m in (first, second)] == [
            {"ticker": "PETR4", "price": "31.40"},
            {"ticker": "VALE3", "price": "60.20"},
        ]
        assert first["id"] == second["id"] == "q" and first["type"] == "next"
        await ws.send(json.dumps({"id": "q", "type": "complete"}))
        await until(lambda: assets.subscribers() == 0)  # the client left: the subscription is released
    finally:
        await ws.close()


async def test_a_client_that_drops_its_socket_releases_its_subscription(assets):
    ws = await open_session(assets.url)
    query = 'subscription { quotes(tickers: ["PETR4"]) { ticker } }'
    await ws.send(json.dumps({"id": "q", "type": "subscribe", "payload": {"query": query}}))
    await until(lambda: assets.subscribers() == 1)
    await ws.close()  # no "complete": the connection just goes
    await until(lambda: assets.subscribers() == 0)
    assert MARKET_DATA not in assets.infra.live.backend.topics


async def test_subscription_errors_carry_the_contract_code(assets):
    ws = await open_session(assets.url)
    try:
        query = 'subscription { quotes(tickers: ["PETR4", "NOPE3"]) { ticker } }'
        await ws.send(json.dumps({"id": "bad", "type": "subscribe", "payload": {"query": query}}))
        message = await receive(ws)
        errors = message["payload"]["errors"] if message["type"] == "next" else message["payload"]
        assert [e["extensions"]["code"] for e in errors] == ["BAD_USER_INPUT"]
        assert "NOPE3" in errors[0]["message"]
        if message["type"] == "next":
            assert await receive(ws) == {"id": "bad", "type": "complete"}
        query = 'subscription { quotes(tickers: ["PETR4"]) { nope } }'  # invalid: refused before it runs
        await ws.send(json.dumps({"id": "invalid", "type": "subscribe", "payload": {"query": query}}))
        message = await receive(ws)
        assert message["type"] == "error" and message["payload"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    finally:
        await ws.close()


def order_snapshot(order_id: str, user_id: str, status: str = "OPEN") -> Envelope:
    return Envelope(
        ORDER_UPDATED,
        {
            "orderId": order_id, "userId": user_id, "ticker": "PETR4", "side": "BUY", "type": "LIMIT",
            "timeInForce": "DAY", "quantity": 100, "limitPrice": "31.00", "filledQuantity": 0,
            "averagePrice": None, "status": status, "rejectReason": None, "lastFill": None,
            "createdAt": "2025-03-10T13:00:00.000Z", "updatedAt": "2025-03-10T13:00:01.000Z",
        },
    )


async def test_order_updates_reach_only_their_owner(orders):
    alice, bob = await open_session(orders.url, "alice"), await open_session(orders.url, "bob")
    try:
        query = "subscription { orderUpdates { id status user { id } } }"
        for ws in (alice, bob):
            await ws.send(json.dumps({"id": "u", "type": "subscribe", "payload": {"query": query}}))
        await until(lambda: orders.subscribers() == 2)
        await orders.bus.publish(ORDER_EVENTS, order_snapshot("bob-1", "bob"))
        await orders.bus.publish(ORDER_EVENTS, order_snapshot("alice-1", "alice"))
        await orders.bus.publish(ORDER_EVENTS, order_snapshot("alice-1", "alice", "CANCELLED"))
        assert [(await receive(alice))["payload"]["data"]["orderUpdates"] for _ in range(2)] == [
            {"id": "alice-1", "status": "OPEN", "user": {"id": "alice"}},
            {"id": "alice-1", "status": "CANCELLED", "user": {"id": "alice"}},
        ]
        assert (await receive(bob))["payload"]["data"]["orderUpdates"]["id"] == "bob-1"
        await orders.bus.drain()
        await asyncio.sleep(0.05)  # and nothing else for bob
        assert not [m async for m in _pending(bob)]
    finally:
        await alice.close()
        await bob.close()


async def _pending(ws):
    """Whatever the socket already holds, without waiting for more."""
    while True:
        try:
            yield await asyncio.wait_for(ws.recv(), 0.05)
        except TimeoutError:
            return


async def test_order_updates_need_a_signed_in_caller(orders):
    ws = await open_session(orders.url)  # no user header
    try:
        await ws.send(json.dumps({"id": "u", "type": "subscribe", "payload": {"query": "subscription { orderUpdates { id } }"}}))
        message = await receive(ws)
        errors = message["payload"]["errors"] if message["type"] == "next" else message["payload"]
        assert [e["extensions"]["code"] for e in errors] == ["UNAUTHENTICATED"]
    finally:
        await ws.close()
