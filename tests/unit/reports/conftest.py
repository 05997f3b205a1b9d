from __future__ import annotations

import itertools
from dataclasses import dataclass

import pytest_asyncio

from mybroker.bus.memory import MemoryBus
from mybroker.cache import MemoryCache
from mybroker.db import Database
from mybroker.events import MARKET_DATA, ORDER_EVENTS, ORDER_UPDATED, QUOTE, Envelope
from subgraphs.reports import consumers, tables
from subgraphs.reports.service import ReportsService

_executions = itertools.count(1)


def order_event(user: str, ticker: str, side: str, quantity: int, price: str | None, *, execution_id: str | None = None,
                order_id: str = "o-1", status: str = "FILLED") -> dict:
    """An OrderUpdated payload (docs/internals.md); price None: not a fill."""
    last_fill = None
    if price is not None:
        last_fill = {
            "executionId": execution_id or f"x-{next(_executions)}",
            "quantity": quantity,
            "price": price,
            "executedAt": "2025-03-10T13:00:00.000Z",
        }
    return {
        "orderId": order_id,
        "userId": user,
        "ticker": ticker,
        "side": side,
        "type": "MARKET",
        "timeInForce": "DAY",
        "quantity": quantity,
        "limitPrice": None,
        "filledQuantity": quantity if price else 0,
        "averagePrice": price,
        "status": status if price else "OPEN",
        "rejectReason": None,
        "lastFill": last_fill,
        "createdAt": "2025-03-10T12:59:00.000Z",
        "updatedAt": "2025-03-10T13:00:00.000Z",
    }


@dataclass
class ReportsEnv:
    bus: MemoryBus
    cache: MemoryCache
    db: Database
    service: ReportsService

    async def publish(self, message: Envelope) -> Envelope:
        await self.bus.publish(ORDER_EVENTS, message, key=message.data["orderId"])
        await self.bus.drain()
        return message

    async def fill(self, user: str, ticker: str, side: str, quantity: int, price: str, **kwargs) -> Envelope:
        return await self.publish(Envelope(ORDER_UPDATED, order_event(user, ticker, side, quantity, price, **kwargs)))

    async def status_change(self, user: str, ticker: str, side: str, quantity: int, **kwargs) -> Envelope:
        return await self.publish(Envelope(ORDER_UPDATED, order_event(user, ticker, side, quantity, None, **kwargs)))

    async def quote(self, ticker: str, price: str, time: str = "2025-03-10T13:00:05.000Z") -> None:
        data = {"ticker": ticker, "price": price, "change": "0.00", "changePercent": 0.0, "volume": 100, "time": time, "source": "simulator"}
        await self.bus.publish(MARKET_DATA, Envelope(QUOTE, data), key=ticker)
        await self.bus.drain()


@pytest_asyncio.fixture
async def env(tmp_path):
    bus, cache = MemoryBus(retry_delay=0), MemoryCache()
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'reports.db'}", tables.metadata)
    service = ReportsService(db, cache)
    consumers.subscribe(bus, service)
    await db.create_schema()
    await bus.start()
    yield ReportsEnv(bus, cache, db, service)
    await bus.stop()
    await db.dispose()
