"""b3-sim survives kill -9 (real PostgreSQL, RabbitMQ, Kafka, Redis): the restarted
process rebuilds its books from the journal before consuming, so resting orders keep
their queue places, no report goes out again, and a crossing order fills against the
restored orders exactly once."""
from __future__ import annotations

import asyncio

import orjson

from b3sim.book import Side
from b3sim.exchange import Exchange as Core
from b3sim.journal import Journal, metadata
from b3sim.market_maker import MakerPolicy
from b3sim.market_sync import market_key
from b3sim.worker import ExchangeWorker
from mybroker.bus.brokers import BrokerBus
from mybroker.cache import RedisCache
from mybroker.catalog import load_catalog
from mybroker.db import Database
from mybroker.events import EXCHANGE_ORDERS, EXECUTIONS, Envelope
from tests.integration.b3sim_process import limit
from tests.integration.support import until

TICKER = "PETR4"


async def test_a_killed_exchange_restarts_with_its_books_and_fills_once(settings, exchange):
    bus = BrokerBus.from_settings(settings.with_overrides(channel_namespace=exchange.namespace))
    cache = RedisCache(settings.redis_url)
    reports: list[Envelope] = []

    async def collect(message: Envelope) -> None:
        reports.append(message)

    bus.subscribe(EXECUTIONS, "orders", collect)
    first = await exchange.start()
    await bus.start()
    try:
        for message in (
            limit("s1", TICKER, "SELL", "35.00"),
            limit("s2", TICKER, "SELL", "35.00", 200),
            limit("s3", TICKER, "SELL", "35.10"),
            limit("b1", TICKER, "BUY", "34.90"),
            limit("b2", TICKER, "BUY", "34.80"),
            limit("x1", TICKER, "BUY", "35.00"),  # fills s1
        ):
            await bus.publish(EXCHANGE_ORDERS, message, key=TICKER)
        await until(lambda: len(reports) >= 8, what="the first reports")

        key = exchange.namespace + market_key(TICKER)

        async def cached() -> dict:
            raw = await cache.get(key)
            return orjson.loads(raw) if raw else {}

        expected = {
            "bids": [{"price": "34.90", "quantity": 100, "orders": 1}, {"price": "34.80", "quantity": 100, "orders": 1}],
            "asks": [{"price": "35.00", "quantity": 200, "orders": 1}, {"price": "35.10", "quantity": 100, "orders": 1}],
        }
        before = await wait_for_book(cached, expected)
        assert before["lastTrade"]["price"] == "35.00" and before["lastTrade"]["quantity"] == 100

        exchange.kill(first)
        await cache._redis.delete(key)
        sent_before = {m.id for m in reports}
        assert len(sent_before) == 8

        # The journal alone rebuilds the books: every level's queue, in time priority.
        core = await rebuilt_core(exchange.journal)
        book = core.book(TICKER)
        queues = {(side, price): [(oid, book.remaining(oid)) for oid in book.queue(side, price)] for side in Side for price, _, _ in book.depth(side)}
        assert queues == {
            (Side.SELL, 3500): [("s2", 200)],
            (Side.SELL, 3510): [("s3", 100)],
            (Side.BUY, 3490): [("b1", 100)],
            (Side.BUY, 3480): [("b2", 100)],
        }

        await exchange.start()
        after = await wait_for_book(cached, expected)
        assert {k: after[k] for k in ("bids", "asks", "bestBid", "bestAsk", "lastTrade")} == {
            k: before[k] for k in ("bids", "asks", "bestBid", "bestAsk", "lastTrade")
        }
        await asyncio.sleep(1.0)
        assert {m.id for m in reports} == sent_before, "nothing already sent is sent again under a new id"

        await bus.publish(EXCHANGE_ORDERS, limit("x2", TICKER, "BUY", "35.10", 300), key=TICKER)
        await until(lambda: len({m.id for m in reports}) >= 13, what="the crossing order's reports")
        await asyncio.sleep(0.5)
        new = [m for m in reports if m.id not in sent_before]
        assert [(m.data["orderId"], m.data["execType"], m.data["quantity"], m.data["price"]) for m in new] == [
            ("x2", "ACCEPTED", None, None),
            ("x2", "FILL", 200, "35.00"),
            ("s2", "FILL", 200, "35.00"),
            ("x2", "FILL", 100, "35.10"),
            ("s3", "FILL", 100, "35.10"),
        ]
        fills = [m.data["executionId"] for m in {m.id: m for m in reports}.values() if m.data["execType"] == "FILL"]
        assert len(fills) == len(set(fills)) == 6, "every fill once, each with its own execution id"
    finally:
        await bus.stop()
        await cache.close()


async def wait_for_book(cached, expected: dict, timeout: float = 20.0) -> dict:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        snapshot = await cached()
        if snapshot and snapshot["bids"] == expected["bids"] and snapshot["asks"] == expected["asks"] and snapshot.get("lastTrade"):
            return snapshot
        assert asyncio.get_running_loop().time() < deadline, f"book snapshot not as expected: {snapshot}"
        await asyncio.sleep(0.05)


async def rebuilt_core(url: str) -> Core:
    db = Database(url, metadata)
    try:
        worker = ExchangeWorker(None, Journal(db))
        policy = MakerPolicy()
        await worker.recover(lambda session: Core(load_catalog(), policy, session=session))
        return worker.exchange
    finally:
        await db.dispose()
