"""Market sync: trades on the tape through the outbox (each once), book snapshots to the
cache and b3-book-v1, coalesced per ticker on the quote hot path."""
from __future__ import annotations

import asyncio
from decimal import Decimal

import orjson

from b3sim.app import create_service
from b3sim.book import Book, BookOrder, OrderType, Side, TimeInForce
from b3sim.exchange import ReferencePrice
from b3sim.market_sync import MarketSync, book_snapshot, market_key
from b3sim.tape import Trade
from mybroker.bus.memory import MemoryBus
from mybroker.cache import MemoryCache
from mybroker.events import (
    BOOK_SNAPSHOT,
    EXCHANGE_BOOKS,
    EXCHANGE_ORDERS,
    EXCHANGE_TRADES,
    MARKET_DATA,
    TRADE,
    Envelope,
)
from mybroker.service import Infrastructure
from tests.unit.b3sim.conftest import AT, limit, new_core, quote, until


def test_a_snapshot_lists_levels_best_first_with_their_order_counts():
    book = Book("PETR4")
    for order_id, side, price, quantity in [("b1", Side.BUY, 3100, 100), ("b2", Side.BUY, 3100, 200), ("b3", Side.BUY, 3090, 100), ("s1", Side.SELL, 3120, 300)]:
        book.submit(BookOrder(order_id, side, OrderType.LIMIT, TimeInForce.DAY, quantity, price))
    last = Trade("PETR4-s-1", "PETR4", Decimal("31.05"), 100, AT)
    snapshot = book_snapshot(book, AT, last, levels=1).payload()
    assert snapshot == {
        "ticker": "PETR4",
        "bids": [{"price": "31.00", "quantity": 300, "orders": 2}],
        "asks": [{"price": "31.20", "quantity": 300, "orders": 1}],
        "bestBid": "31.00",
        "bestAsk": "31.20",
        "lastTrade": {"tradeId": "PETR4-s-1", "ticker": "PETR4", "price": "31.05", "quantity": 100, "time": "2026-11-24T13:00:00.000Z"},
        "time": "2026-11-24T13:00:00.000Z",
    }
    assert book_snapshot(Book("VALE3"), AT, None).payload()["bestBid"] is None


async def test_trades_go_on_the_tape_once_and_books_to_the_cache(service_settings):
    bus, cache = MemoryBus(), MemoryCache()
    service = create_service(Infrastructure(service_settings, bus, cache))
    trades: list[Envelope] = []
    books: list[Envelope] = []

    async def on_trade(message: Envelope) -> None:
        trades.append(message)

    async def on_book(message: Envelope) -> None:
        books.append(message)

    bus.subscribe(EXCHANGE_TRADES, "test", on_trade)
    bus.subscribe(EXCHANGE_BOOKS, "test", on_book)
    await service.start()
    await bus.start()
    try:
        await bus.publish(EXCHANGE_ORDERS, limit("s1", "SELL", "35.00", 200), key="PETR4")
        await bus.publish(EXCHANGE_ORDERS, limit("b1", "BUY", "30.00"), key="PETR4")
        await bus.publish(EXCHANGE_ORDERS, limit("b2", "BUY", "35.00"), key="PETR4")  # a broker-broker trade
        await bus.drain()
        await until(lambda: len(trades) == 1)

        trade = trades[0]
        assert trade.type == TRADE and trade.data["price"] == "35.00" and trade.data["quantity"] == 100
        assert trade.data["ticker"] == "PETR4" and trade.data["tradeId"]

        def cached() -> dict | None:
            raw = cache._values.get(market_key("PETR4"))
            return orjson.loads(raw) if raw else None

        await until(lambda: (cached() or {}).get("lastTrade") is not None)
        market = cached()
        assert market["bestBid"] == "30.00" and market["bestAsk"] == "35.00"
        assert market["asks"] == [{"price": "35.00", "quantity": 100, "orders": 1}]
        assert market["lastTrade"]["tradeId"] == trade.data["tradeId"]
        await until(lambda: any(b.data["lastTrade"] for b in books))
        assert all(b.type == BOOK_SNAPSHOT for b in books)

        for step in range(200):
            await bus.publish(MARKET_DATA, quote(f"{31 + step / 100:.2f}"), key="PETR4")
        await bus.drain()
        # The last quote (32.99) shows: the maker's best bid just below it.
        await until(lambda: Decimal("32.90") < Decimal((cached() or {}).get("bestBid") or 0) < Decimal("32.99"))
        await asyncio.sleep(0.1)
        assert len(trades) == 1, "re-quotes that trade nothing put nothing on the tape"
    finally:
        await bus.stop()
        await service.stop()


async def test_changes_between_two_flushes_cost_one_snapshot_per_ticker():
    core = new_core("s")
    bus, cache = MemoryBus(), MemoryCache()
    sent: list[Envelope] = []

    async def collect(message: Envelope) -> None:
        sent.append(message)

    bus.subscribe(EXCHANGE_BOOKS, "test", collect)
    await bus.start()
    sync = MarketSync(bus, cache, lambda: core, ["PETR4", "VALE3"])
    try:
        for step in range(200):  # the hot path: every tick re-quotes the maker
            core.handle(ReferencePrice("PETR4", Decimal(31) + Decimal(step) / 100), AT)
            sync.touch("PETR4", AT)
        assert await sync.flush() == 1 and await sync.flush() == 0
        await bus.drain()
        assert [m.data["ticker"] for m in sent] == ["PETR4"]
        assert sent[0].data["bestBid"] == book_snapshot(core.book("PETR4"), AT, None).payload()["bestBid"]
        sync.touch(None, AT)  # e.g. the session closed: every book
        assert await sync.flush() == 2
    finally:
        await bus.stop()
