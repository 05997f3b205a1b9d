"""b3-sim's group commit on the real engines: with many orders waiting on its RabbitMQ
queue (so several are in flight at once and share journal commits), the PostgreSQL
journal holds the orders in the order they were queued, and every order gets exactly one
ACCEPTED."""
from __future__ import annotations

from collections import Counter

from sqlalchemy import select

from b3sim.journal import journal_commands, metadata, outbox
from mybroker.bus.brokers import BrokerBus
from mybroker.db import Database
from mybroker.events import EXCHANGE_ORDERS, EXECUTIONS, NEW_ORDER, Envelope
from tests.integration.b3sim_process import limit
from tests.integration.support import until

TICKERS = ("PETR4", "VALE3", "ITUB4")
ORDERS = 300


async def test_orders_in_flight_are_journaled_in_queue_order_and_accepted_once(settings, exchange):
    bus = BrokerBus.from_settings(settings.with_overrides(channel_namespace=exchange.namespace))
    reports: dict[str, Envelope] = {}  # by envelope id: a relay may send one twice

    async def collect(message: Envelope) -> None:
        reports[message.id] = message

    bus.subscribe(EXECUTIONS, "orders", collect)
    await bus.start()
    try:
        # Queued before b3-sim starts, one publish at a time: the queue order is this order,
        # and the exchange finds a backlog, so its consumer has many orders in flight.
        orders = [
            limit(f"o{i}", TICKERS[i % len(TICKERS)], "SELL" if i // len(TICKERS) % 2 == 0 else "BUY", "20.00")
            for i in range(ORDERS)
        ]
        for message in orders:
            await bus.publish(EXCHANGE_ORDERS, message, key=message.data["ticker"])
        await exchange.start()

        def accepted() -> Counter:
            return Counter(m.data["orderId"] for m in reports.values() if m.data["execType"] == "ACCEPTED")

        await until(lambda: len(accepted()) >= ORDERS, timeout=120, what="every order accepted")
        assert accepted() == {f"o{i}": 1 for i in range(ORDERS)}
        def filled() -> Counter:
            return Counter(m.data["orderId"] for m in reports.values() if m.data["execType"] == "FILL")

        # A BUY's FILL is its own message, after its ACCEPTED: wait for it as well.
        await until(lambda: len(filled()) >= ORDERS, timeout=60, what="every order filled")
        fills = filled()
        assert fills == {f"o{i}": 1 for i in range(ORDERS)}, "every SELL is taken by the BUY after it, once"

        db = Database(exchange.journal, metadata)
        try:
            async with db.read() as session:
                journaled = (
                    await session.execute(
                        select(journal_commands.c.message_id).where(journal_commands.c.kind == NEW_ORDER).order_by(journal_commands.c.seq)
                    )
                ).scalars().all()
                payloads = (await session.execute(select(outbox.c.payload).where(outbox.c.channel.endswith(EXECUTIONS)))).scalars().all()
        finally:
            await db.dispose()
        assert journaled == [m.id for m in orders]
        outboxed = Counter(Envelope.from_bytes(raw).data["orderId"] for raw in payloads if Envelope.from_bytes(raw).data["execType"] == "ACCEPTED")
        assert outboxed == {f"o{i}": 1 for i in range(ORDERS)}
    finally:
        await bus.stop()
