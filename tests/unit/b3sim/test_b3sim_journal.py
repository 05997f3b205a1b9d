"""The journal is complete: replaying its commands, at their journaled times, through a
fresh core gives exactly the reports that went out, although most quotes are not
journaled (the rebuild of the books at start will rely on this)."""
from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

from sqlalchemy import select

from b3sim.exchange import Exchange
from b3sim.journal import Journal, journal_commands, metadata, outbox
from b3sim.market_maker import MakerPolicy
from b3sim.wire import exchange_command, reference_price, report_envelope
from b3sim.worker import ExchangeWorker
from mybroker.catalog import load_catalog
from mybroker.db import Database
from mybroker.events import CANCEL_ORDER, EXECUTIONS, NEW_ORDER, QUOTE, Envelope


def core() -> Exchange:
    return Exchange(load_catalog(), MakerPolicy(depth=2, lots_per_level=1), session="s1")


def quote(ticker: str, price: str) -> Envelope:
    return Envelope(QUOTE, {"ticker": ticker, "price": price, "change": "0.00", "changePercent": 0.0, "volume": 0, "time": "2026-11-24T13:00:00.000Z", "source": "test"})


def order(order_id: str, ticker: str, rng: random.Random, reference: float) -> Envelope:
    limit = rng.random() < 0.6
    return Envelope(
        NEW_ORDER,
        {
            "orderId": order_id,
            "ticker": ticker,
            "side": rng.choice(["BUY", "SELL"]),
            "type": "LIMIT" if limit else "MARKET",
            "timeInForce": rng.choice(["DAY", "IOC", "GTC"]),
            "quantity": 100 * rng.randint(1, 4),
            "limitPrice": f"{reference * rng.uniform(0.99, 1.01):.2f}" if limit else None,
            "protectionPrice": None if limit else f"{reference * 1.05:.2f}",
        },
    )


async def test_replaying_the_journal_gives_the_same_reports(tmp_path):
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'b3.db'}", metadata)
    await db.create_schema()
    clock = [datetime(2026, 11, 24, 13, 0, tzinfo=timezone.utc)]

    def tick() -> datetime:
        clock[0] += timedelta(milliseconds=7)
        return clock[0]

    worker = ExchangeWorker(core(), Journal(db), clock=tick)
    rng = random.Random(5)
    prices = {"PETR4": 31.40, "VALE3": 61.00}
    orders: list[str] = []
    for step in range(300):
        ticker = rng.choice(list(prices))
        roll = rng.random()
        if roll < 0.7:  # market data dominates, as in production
            prices[ticker] *= rng.uniform(0.995, 1.005)
            await worker.on_market_data(quote(ticker, f"{prices[ticker]:.2f}"))
        elif roll < 0.9 or not orders:
            orders.append(f"o{step}")
            await worker.on_exchange_order(order(orders[-1], ticker, rng, prices[ticker]))
        else:
            await worker.on_exchange_order(Envelope(CANCEL_ORDER, {"orderId": rng.choice(orders), "ticker": ticker}))

    async with db.read() as session:
        rows = (await session.execute(select(journal_commands).order_by(journal_commands.c.seq))).all()
        reports = select(outbox).where(outbox.c.channel == EXECUTIONS).order_by(outbox.c.seq)
        sent = [Envelope.from_bytes(r.payload).data for r in (await session.execute(reports)).all()]
    await db.dispose()

    replica = core()
    replayed = []
    for row in rows:
        message = Envelope(row.kind, row.payload)
        command = reference_price(message) if row.kind == QUOTE else exchange_command(message)
        replayed.extend(replica.handle(command, row.received_at))

    quotes = sum(1 for row in rows if row.kind == QUOTE)
    assert 0 < quotes < 150, "most quotes are not journaled"
    assert sum(1 for data in sent if data["execType"] == "FILL") > 20, "the scenario trades"
    assert [report_envelope(r).data for r in replayed] == sent
