"""The journal is complete: replaying its commands, at their journaled times, through a
fresh core gives exactly the reports that went out, although most quotes are not
journaled (the rebuild of the books at start will rely on this)."""
from __future__ import annotations

import random
from datetime import timedelta

from sqlalchemy import select

from b3sim.journal import Journal, journal_commands, outbox
from b3sim.wire import exchange_command, reference_price, report_envelope
from b3sim.worker import ExchangeWorker
from mybroker.events import CANCEL_ORDER, EXECUTIONS, NEW_ORDER, QUOTE, Envelope
from tests.unit.b3sim.conftest import Clock, new_core, quote


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


async def test_replaying_the_journal_gives_the_same_reports(journal_db):
    worker = ExchangeWorker(new_core("s1"), Journal(journal_db), clock=Clock(step=timedelta(milliseconds=7)))
    rng = random.Random(5)
    prices = {"PETR4": 31.40, "VALE3": 61.00}
    orders: list[str] = []
    for step in range(300):
        ticker = rng.choice(list(prices))
        roll = rng.random()
        if roll < 0.7:  # market data dominates, as in production
            prices[ticker] *= rng.uniform(0.995, 1.005)
            await worker.on_market_data(quote(f"{prices[ticker]:.2f}", ticker))
        elif roll < 0.9 or not orders:
            orders.append(f"o{step}")
            await worker.on_exchange_order(order(orders[-1], ticker, rng, prices[ticker]))
        else:
            await worker.on_exchange_order(Envelope(CANCEL_ORDER, {"orderId": rng.choice(orders), "ticker": ticker}))

    async with journal_db.read() as session:
        rows = (await session.execute(select(journal_commands).order_by(journal_commands.c.seq))).all()
        reports = select(outbox).where(outbox.c.channel == EXECUTIONS).order_by(outbox.c.seq)
        sent = [Envelope.from_bytes(r.payload).data for r in (await session.execute(reports)).all()]

    replica = new_core("s1")
    replayed = []
    for row in rows:
        message = Envelope(row.kind, row.payload)
        command = reference_price(message) if row.kind == QUOTE else exchange_command(message)
        replayed.extend(replica.handle(command, row.received_at))

    quotes = sum(1 for row in rows if row.kind == QUOTE)
    assert 0 < quotes < 150, "most quotes are not journaled"
    assert sum(1 for data in sent if data["execType"] == "FILL") > 20, "the scenario trades"
    assert [report_envelope(r).data for r in replayed] == sent
