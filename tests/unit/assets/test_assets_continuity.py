"""What the assets subgraph keeps across a restart (docs/design.md, "Continuity"): the
latest quote and the recent tape are stored in its database and restored into a cache
that lost them (the embedded memory cache), never over a newer one (Redis kept its own)."""
from __future__ import annotations

from decimal import Decimal

import orjson
from sqlalchemy import func, select

from mybroker.cache import MemoryCache
from mybroker.wire import Trade, latest_quote_key
from subgraphs.assets import tables
from subgraphs.assets.market import TRADES_KEPT, MarketView
from subgraphs.assets.service import AssetsService
from tests.unit.assets.conftest import quote


def trade(n: int, ticker: str = "PETR4") -> Trade:
    minute, second = divmod(n, 60)
    return Trade.from_payload({
        "tradeId": f"{ticker}-s-{n}", "ticker": ticker, "price": f"31.{n % 100:02d}", "quantity": 100,
        "time": f"2026-11-24T13:{minute:02d}:{second:02d}.000Z",
    })


async def restarted(env) -> AssetsService:
    """A new service on the same database with an empty cache, as after a restart."""
    service = AssetsService(env.db, MemoryCache())
    await service.restore_market()
    return service


async def test_the_latest_quote_survives_a_restart_of_the_memory_cache(env):
    await env.tick(price="31.50", time="2025-03-10T13:00:05.000Z", volume=1000)
    await env.tick(price="31.62", time="2025-03-10T13:00:06.000Z", volume=1300)
    await env.tick(price="31.40", time="2025-03-10T13:00:04.000Z", volume=900)  # late: not the latest
    before = await env.service.latest_quote("PETR4")
    after = await (await restarted(env)).latest_quote("PETR4")
    assert after == before and after is not None
    assert (after.price, after.change, after.volume) == (Decimal("31.62"), Decimal("0.10"), 1300)
    assert after.time.tzinfo is not None


async def test_restore_keeps_a_newer_quote_the_cache_already_has(env):
    await env.tick(price="31.50", time="2025-03-10T13:00:05.000Z")
    cache = MemoryCache()
    newer = quote(price="32.00", time="2025-03-10T13:00:09.000Z")
    await cache.set(latest_quote_key("PETR4"), orjson.dumps(newer))
    service = AssetsService(env.db, cache)
    await service.restore_market()
    assert (await service.latest_quote("PETR4")).price == Decimal("32.00")


async def test_the_tape_survives_a_restart_bounded_and_without_repeats(env):
    for n in range(TRADES_KEPT + 15):
        await env.service.market.record_trade(trade(n))
    await env.service.market.record_trade(trade(TRADES_KEPT + 14))  # a redelivery
    await env.service.market.record_trade(trade(3, ticker="VALE3"))
    async with env.db.read() as session:
        stored = (await session.execute(select(func.count()).select_from(tables.tape).where(tables.tape.c.ticker == "PETR4"))).scalar()
    assert stored == TRADES_KEPT, "the stored tape is bounded per ticker"

    before = await env.service.market.trades("PETR4", TRADES_KEPT)
    service = await restarted(env)
    after = await service.market.trades("PETR4", TRADES_KEPT)
    assert after == before and len(after) == TRADES_KEPT
    assert after[0].price == Decimal(trade(TRADES_KEPT + 14).price) and after[-1].time == trade(15).time
    assert [t.price for t in await service.market.trades("VALE3", None)] == [trade(3).price]

    # Trading goes on after the restart on the restored tape.
    await service.market.record_trade(trade(TRADES_KEPT + 15))
    assert len(await service.market.trades("PETR4", TRADES_KEPT)) == TRADES_KEPT
    assert (await service.market.trades("PETR4", 1))[0].time == trade(TRADES_KEPT + 15).time


async def test_restore_leaves_a_tape_the_cache_kept(env):
    await env.service.market.record_trade(trade(1))
    await MarketView(env.cache).record_trade(trade(2))  # in the cache only: it must not be lost
    service = AssetsService(env.db, env.cache)  # the cache survived the restart (Redis)
    await service.restore_market()
    assert [t.time for t in await service.market.trades("PETR4", None)] == [trade(2).time, trade(1).time]
