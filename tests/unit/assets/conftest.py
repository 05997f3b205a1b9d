from __future__ import annotations

from dataclasses import dataclass

import pytest_asyncio

from mybroker.bus.memory import MemoryBus
from mybroker.cache import MemoryCache
from mybroker.db import Database
from mybroker.events import MARKET_DATA, QUOTE, Envelope
from mybroker.live import LiveFeed
from subgraphs.assets import consumers, tables
from subgraphs.assets.service import AssetsService


def quote(ticker: str = "PETR4", price: str = "31.50", time: str = "2025-03-10T13:00:05.000Z", volume: int = 1000, **extra):
    data = {
        "ticker": ticker,
        "price": price,
        "change": "0.10",
        "changePercent": 0.3183,
        "volume": volume,
        "time": time,
        "source": "simulator",
    }
    data.update(extra)
    return data


@dataclass
class AssetsEnv:
    bus: MemoryBus
    cache: MemoryCache
    db: Database
    service: AssetsService

    async def tick(self, **kwargs) -> Envelope:
        message = Envelope(QUOTE, quote(**kwargs))
        await self.bus.publish(MARKET_DATA, message, key=message.data["ticker"])
        await self.bus.drain()
        return message


@pytest_asyncio.fixture
async def env(tmp_path):
    bus, cache = MemoryBus(retry_delay=0), MemoryCache()
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'assets.db'}", tables.metadata)
    service = AssetsService(db, cache, LiveFeed(bus, MARKET_DATA))
    consumers.subscribe(bus, service)
    await db.create_schema()
    await service.seed_catalog()
    await bus.start()
    yield AssetsEnv(bus, cache, db, service)
    await bus.stop()
    await db.dispose()
