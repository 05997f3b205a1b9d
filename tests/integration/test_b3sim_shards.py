"""b3-sim sharded by ticker over two processes (real engines): orders for tickers of
both shards fill, each process journals only its own tickers, in its own database."""
from __future__ import annotations

import asyncio

from sqlalchemy import select

from b3sim.journal import journal_commands
from mybroker.bus.brokers import BrokerBus
from mybroker.bus.sharding import shard_of
from mybroker.catalog import load_catalog
from mybroker.db import Database
from mybroker.events import EXCHANGE_ORDERS, EXECUTIONS, Envelope
from tests.integration.b3sim_process import limit
from tests.integration.support import until


def one_ticker_per_shard() -> dict[int, str]:
    tickers: dict[int, str] = {}
    for entry in load_catalog():
        if entry.lot_size == 100:
            tickers.setdefault(shard_of(entry.ticker, 2), entry.ticker)
    assert set(tickers) == {1, 2}, "the catalog spans both shards"
    return tickers


async def test_two_shards_each_trade_their_own_tickers(settings, exchange):
    tickers = one_ticker_per_shard()
    await asyncio.gather(exchange.start("1/2"), exchange.start("2/2"))
    bus = BrokerBus.from_settings(settings.with_overrides(channel_namespace=exchange.namespace, b3sim_shards=2))
    reports: list[Envelope] = []

    async def collect(message: Envelope) -> None:
        reports.append(message)

    bus.subscribe(EXECUTIONS, "orders", collect)
    await bus.start()
    try:
        for _shard, ticker in tickers.items():
            await bus.publish(EXCHANGE_ORDERS, limit(f"s-{ticker}", ticker, "SELL", "20.00"), key=ticker)
            await bus.publish(EXCHANGE_ORDERS, limit(f"b-{ticker}", ticker, "BUY", "20.00"), key=ticker)
        await until(lambda: len(reports) >= 8, what="both shards' reports")
        await asyncio.sleep(0.3)
        got = sorted((m.data["orderId"], m.data["execType"]) for m in reports)
        assert got == sorted(
            (f"{side}-{ticker}", kind) for ticker in tickers.values() for side in ("s", "b") for kind in ("ACCEPTED", "FILL")
        )

        for (shard, ticker), url in zip(sorted(tickers.items()), exchange.journal_urls(2)):
            db = Database(url, journal_commands.metadata)
            try:
                async with db.read() as session:
                    journaled = (await session.execute(select(journal_commands.c.ticker, journal_commands.c.kind))).all()
            finally:
                await db.dispose()
            assert sorted(journaled) == [(ticker, "NewOrder"), (ticker, "NewOrder")], f"shard {shard} sees only {ticker}"
    finally:
        await bus.stop()
