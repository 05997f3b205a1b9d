"""The three stores on the real engines (scripts/services.sh up; MYBROKER_INFRA=real):
Redis as the cache, MongoDB as the quote history, PostgreSQL as b3-sim's journal.

Each test works in its own namespace (key prefix, database) and removes it afterwards."""
from __future__ import annotations

import asyncio
import uuid
from decimal import Decimal

import pytest_asyncio
from sqlalchemy import select, text
from sqlalchemy.engine import make_url

from mybroker.bus.memory import MemoryBus
from mybroker.cache import MemoryCache, RedisCache
from mybroker.events import CANCEL_ORDER, EXCHANGE_ORDERS, EXECUTIONS, MARKET_DATA, NEW_ORDER, QUOTE, Envelope
from mybroker.service import Infrastructure


async def until(condition, timeout: float = 15.0, what: str = "condition") -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, f"{what} not met within {timeout}s"
        await asyncio.sleep(0.02)


# ------------------------------------------------------------------ Redis


async def test_redis_cache_round_trip_and_mget(settings):
    cache = RedisCache(settings.redis_url)
    prefix = f"it:{uuid.uuid4().hex[:8]}:"
    try:
        await cache.set(prefix + "PETR4", b"31.40")
        await cache.set(prefix + "VALE3", b"\x00binary\xff")  # values are bytes, untouched
        assert await cache.get(prefix + "PETR4") == b"31.40"
        assert await cache.get(prefix + "missing") is None
        assert await cache.get_many([prefix + "VALE3", prefix + "missing", prefix + "PETR4"]) == [b"\x00binary\xff", None, b"31.40"]
        await cache.set(prefix + "PETR4", b"31.45")
        assert await cache.get(prefix + "PETR4") == b"31.45"
    finally:
        await cache._redis.delete(prefix + "PETR4", prefix + "VALE3")
        await cache.close()


async def test_redis_cache_keys_carry_the_channel_namespace(settings):
    """Two platforms on one Redis, told apart by MYBROKER_CHANNEL_NAMESPACE, never read
    each other's quotes, books or prices, whichever service wrote them."""
    first, second = (f"it{uuid.uuid4().hex[:8]}." for _ in range(2))
    ours, theirs, raw = RedisCache(settings.redis_url, namespace=first), RedisCache(settings.redis_url, namespace=second), RedisCache(settings.redis_url)
    try:
        await ours.set("quote:PETR4", b"31.40")
        assert await theirs.get("quote:PETR4") is None
        assert await theirs.get_many(["quote:PETR4"]) == [None]
        assert await ours.get_many(["quote:PETR4"]) == [b"31.40"]
        assert await raw.get(first + "quote:PETR4") == b"31.40"  # the prefix is on the server's key
    finally:
        await raw._redis.delete(first + "quote:PETR4")
        for cache in (ours, theirs, raw):
            await cache.close()


# ------------------------------------------------------------------ MongoDB


def quote(ticker: str, minute: int, price: str) -> dict:
    return {
        "ticker": ticker,
        "price": price,
        "change": "0.10",
        "changePercent": 0.32,
        "volume": 100 * (minute + 1),
        "time": f"2025-03-10T13:{minute:02d}:00.000Z",
        "source": "test",
    }


async def test_mongo_history_is_idempotent_on_ticker_and_time_and_queryable(settings):
    from bson.decimal128 import Decimal128

    from ingest.history import INDEX_NAME, MongoHistory

    database = f"mybroker_test_{uuid.uuid4().hex[:8]}"
    history = MongoHistory(settings.mongodb_url, database)
    try:
        await history.start()
        await history.start()  # a restart finds the index in place
        index = (await history.collection.index_information())[INDEX_NAME]
        assert index["key"] == [("ticker", 1), ("time", 1)] and index.get("unique") is True

        await history.record([quote("PETR4", 1, "31.40"), quote("VALE3", 1, "60.00"), quote("PETR4", 0, "31.30")])
        await history.record([quote("PETR4", 1, "99.99"), quote("PETR4", 2, "31.50")])  # minute 1 again
        assert await history.collection.count_documents({}) == 4

        found = [doc async for doc in history.collection.find({"ticker": "PETR4"}, {"_id": 0}).sort("time", 1)]
        assert [(d["time"].minute, d["price"]) for d in found] == [
            (0, Decimal128(Decimal("31.30"))),
            (1, Decimal128(Decimal("31.40"))),  # the first write of a (ticker, time) wins
            (2, Decimal128(Decimal("31.50"))),
        ]
        assert found[0]["time"].tzinfo is not None and found[2]["volume"] == 300
    finally:
        await history._client.drop_database(database)
        await history.close()


# ------------------------------------------------------------------ PostgreSQL


@pytest_asyncio.fixture
async def b3sim_database(settings):
    """A throwaway database on the PostgreSQL server, created through mybroker_b3sim."""
    import asyncpg

    admin_url = make_url(settings.postgres_url)
    name = f"mybroker_test_{uuid.uuid4().hex[:8]}"
    dsn = admin_url.set(drivername="postgresql").render_as_string(hide_password=False)
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute(f'CREATE DATABASE "{name}"')
        yield admin_url.set(database=name).render_as_string(hide_password=False)
    finally:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await connection.close()


async def test_the_inbox_applies_a_message_once_when_consumers_race_on_postgresql(b3sim_database):
    """ON CONFLICT DO NOTHING: the others wait on the key's lock, then insert nothing."""
    from tests.integration.support import racing_consumers, racing_inbox

    db, account = racing_inbox(b3sim_database)
    try:
        await db.create_schema()
        await racing_consumers(db, account, racers=5)  # within SQLAlchemy's default pool
    finally:
        await db.dispose()


def new_order(order_id: str, **changes) -> Envelope:
    data = {
        "orderId": order_id,
        "ticker": "PETR4",
        "side": "BUY",
        "type": "MARKET",
        "timeInForce": "DAY",
        "quantity": 200,
        "limitPrice": None,
        "protectionPrice": "33.00",
        **changes,
    }
    return Envelope(NEW_ORDER, data)


async def test_b3sim_journal_on_postgresql(settings, b3sim_database, tmp_path):
    from b3sim.app import create_service
    from b3sim.journal import executions, journal_commands
    from mybroker.db import Database

    test_settings = settings.with_overrides(
        data_dir=tmp_path, database_urls={"b3-sim": b3sim_database}, mm_depth=2, mm_lots_per_level=1
    )
    bus = MemoryBus()
    service = create_service(Infrastructure(test_settings, bus, MemoryCache()))
    received: list[Envelope] = []

    async def collect(message: Envelope) -> None:
        received.append(message)

    bus.subscribe(EXECUTIONS, "test", collect)
    await service.start()
    await bus.start()
    reader = Database(b3sim_database, journal_commands.metadata)
    try:
        tick = {"ticker": "PETR4", "price": "31.40", "change": "0", "changePercent": 0.0, "volume": 0, "time": "2026-11-24T13:00:00.000Z", "source": "test"}
        quote_message = Envelope(QUOTE, tick)
        await bus.publish(MARKET_DATA, quote_message, key="PETR4")
        await bus.drain()
        order = new_order("b1")
        resting = new_order("r1", type="LIMIT", limitPrice="20.00", protectionPrice=None)
        cancel = Envelope(CANCEL_ORDER, {"orderId": "r1", "ticker": "PETR4"})
        for message in (order, order, resting, cancel, cancel):  # order and cancel redelivered
            await bus.publish(EXCHANGE_ORDERS, message, key="PETR4")
        await bus.drain()
        await until(lambda: len(received) >= 5, what="reports through the outbox relay")
        await asyncio.sleep(0.3)  # nothing more may come

        assert [(m.data["orderId"], m.data["execType"]) for m in received] == [
            ("b1", "ACCEPTED"),
            ("b1", "FILL"),
            ("b1", "FILL"),
            ("r1", "ACCEPTED"),
            ("r1", "CANCELLED"),
        ]
        assert len({m.id for m in received}) == 5 and bus.dead_letters == []

        async with reader.read() as session:
            commands = (await session.execute(select(journal_commands).order_by(journal_commands.c.seq))).all()
            fills = (await session.execute(select(executions).order_by(executions.c.execution_id))).all()
            outbox_rows = (
                await session.execute(
                    text("SELECT count(*), count(published_at) FROM outbox WHERE channel = :reports"), {"reports": EXECUTIONS}
                )
            ).one()
            column_types = dict(
                (
                    await session.execute(
                        text(
                            "SELECT column_name, data_type FROM information_schema.columns "
                            "WHERE table_name = 'journal_commands'"
                        )
                    )
                ).all()
            )
        assert [(c.kind, c.message_id) for c in commands] == [
            ("Quote", quote_message.id),  # the quote b1 met, journaled with it
            ("NewOrder", order.id),
            ("NewOrder", resting.id),
            ("CancelOrder", cancel.id),
        ]
        assert commands[1].payload == order.data and commands[1].received_at.tzinfo is not None
        assert column_types["payload"] == "jsonb" and column_types["seq"] == "bigint"
        fill_ids = {m.data["executionId"] for m in received if m.data["execType"] == "FILL"}
        assert {f.execution_id for f in fills} == fill_ids  # each execution recorded once
        assert all((f.order_id, f.ticker, f.side, f.quantity) == ("b1", "PETR4", "BUY", 100) for f in fills)
        assert min(f.price for f in fills) == Decimal("31.42")  # exact money back from the centavo column
        assert tuple(outbox_rows) == (5, 5)  # every report went out through the relay
    finally:
        await reader.dispose()
        await bus.stop()
        await service.stop()
