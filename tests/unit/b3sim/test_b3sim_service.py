"""b3-sim on the in-memory bus and its SQLite journal: messages in, journal + outbox
written in one transaction, execution report envelopes out through the relay, in order."""
from __future__ import annotations

import asyncio
from decimal import Decimal

from sqlalchemy import select

from b3sim.app import GROUP, create_service
from b3sim.journal import executions, journal_commands
from mybroker.bus.memory import MemoryBus
from mybroker.cache import MemoryCache
from mybroker.db import Database
from mybroker.events import (
    CANCEL_ORDER,
    EXCHANGE_ORDERS,
    EXECUTION_REPORT,
    EXECUTIONS,
    MARKET_DATA,
    NEW_ORDER,
    Envelope,
)
from mybroker.service import Infrastructure
from mybroker.settings import Settings
from tests.unit.b3sim.conftest import quote, until


def new_order(order_id, **changes) -> Envelope:
    data = {
        "orderId": order_id,
        "ticker": "PETR4",
        "side": "BUY",
        "type": "MARKET",
        "timeInForce": "DAY",
        "quantity": 100,
        "limitPrice": None,
        "protectionPrice": "33.00",
        **changes,
    }
    return Envelope(NEW_ORDER, data)


async def journal(settings: Settings):
    """Reads the service's journal through a second engine on the same SQLite file."""
    db = Database(settings.database_url("b3-sim"), journal_commands.metadata)
    try:
        async with db.read() as session:
            commands = (await session.execute(select(journal_commands).order_by(journal_commands.c.seq))).all()
            fills = (await session.execute(select(executions))).all()
        return commands, fills
    finally:
        await db.dispose()


async def test_orders_and_quotes_in_reports_out(start_service, service_settings):
    bus, service, received = await start_service()
    try:
        assert service.name == "b3-sim" and service.app is None
        await bus.publish(EXCHANGE_ORDERS, new_order("early"), key="PETR4")  # before any reference price
        await bus.drain()
        await bus.publish(MARKET_DATA, quote("31.40"), key="PETR4")
        await bus.drain()
        await bus.publish(EXCHANGE_ORDERS, new_order("b1", quantity=200), key="PETR4")
        await bus.publish(EXCHANGE_ORDERS, new_order("b1", quantity=200), key="PETR4")  # same order id, new message
        await bus.publish(
            EXCHANGE_ORDERS, new_order("r1", type="LIMIT", limitPrice="20.00", protectionPrice=None), key="PETR4"
        )
        await bus.publish(EXCHANGE_ORDERS, Envelope(CANCEL_ORDER, {"orderId": "r1", "ticker": "PETR4"}), key="PETR4")
        await bus.drain()
        await until(lambda: len(received) >= 6)
        await bus.drain()

        assert all(m.type == EXECUTION_REPORT for m in received)
        got = [(m.data["orderId"], m.data["execType"]) for m in received]
        assert got == [
            ("early", "REJECTED"),
            ("b1", "ACCEPTED"),
            ("b1", "FILL"),  # 100 shares per maker level: 200 take two levels
            ("b1", "FILL"),
            ("r1", "ACCEPTED"),
            ("r1", "CANCELLED"),
        ]
        rejected, accepted, fill1, fill2 = received[:4]
        assert "reference price" in rejected.data["reason"]
        assert accepted.data == {**accepted.data, "executionId": None, "quantity": None, "price": None, "leavesQuantity": 200}
        assert Decimal(fill1.data["price"]) < Decimal(fill2.data["price"]) <= Decimal("33.00")
        assert fill1.data["price"] == "31.42" and fill2.data["leavesQuantity"] == 0 and fill2.data["cumulativeQuantity"] == 200
        assert fill1.data["executionId"] != fill2.data["executionId"]
        assert fill1.data["time"].endswith("Z") and fill1.data["reason"] is None
        assert bus.dead_letters == []

        commands, fills = await journal(service_settings)
        # Every order command in order, with its payload, and the quote the orders after it met.
        assert [(c.kind, c.payload.get("orderId")) for c in commands] == [
            ("NewOrder", "early"),
            ("Quote", None),
            ("NewOrder", "b1"),
            ("NewOrder", "b1"),
            ("NewOrder", "r1"),
            ("CancelOrder", "r1"),
        ]
        assert commands[2].payload == new_order("b1", quantity=200).data
        assert all(c.ticker == "PETR4" and c.received_at.tzinfo is not None for c in commands)
        assert {f.execution_id for f in fills} == {fill1.data["executionId"], fill2.data["executionId"]}
        by_id = {f.execution_id: f for f in fills}
        first = by_id[fill1.data["executionId"]]
        assert (first.order_id, first.ticker, first.side, first.price, first.quantity) == ("b1", "PETR4", "BUY", Decimal("31.42"), 100)
        assert first.trade_id and fill1.data["executionId"].startswith(first.trade_id)
    finally:
        await bus.stop()
        await service.stop()


async def test_a_redelivered_command_changes_nothing(start_service, service_settings):
    bus, service, received = await start_service()
    try:
        await bus.publish(MARKET_DATA, quote("31.40"), key="PETR4")
        await bus.drain()
        order = new_order("b1")
        await bus.publish(EXCHANGE_ORDERS, order, key="PETR4")
        await bus.publish(EXCHANGE_ORDERS, order, key="PETR4")  # the same envelope again
        await bus.drain()
        await until(lambda: len(received) >= 2)
        await asyncio.sleep(0.1)
        assert [(m.data["orderId"], m.data["execType"]) for m in received] == [("b1", "ACCEPTED"), ("b1", "FILL")]
        commands, fills = await journal(service_settings)
        assert [(c.kind, c.message_id) for c in commands][1:] == [("NewOrder", order.id)] and len(fills) == 1
    finally:
        await bus.stop()
        await service.stop()


async def test_a_quote_that_fills_resting_orders_is_journaled_with_its_fills(start_service, service_settings):
    bus, service, received = await start_service()
    try:
        await bus.publish(MARKET_DATA, quote("31.40"), key="PETR4")
        await bus.drain()
        await bus.publish(
            EXCHANGE_ORDERS, new_order("r1", type="LIMIT", limitPrice="30.00", protectionPrice=None), key="PETR4"
        )
        await bus.drain()
        moved = quote("29.00")  # the maker's new asks sit below the resting bid
        await bus.publish(MARKET_DATA, moved, key="PETR4")
        await bus.drain()
        await until(lambda: any(m.data["execType"] == "FILL" for m in received))
        await bus.publish(MARKET_DATA, moved, key="PETR4")  # redelivered: no re-quote, nothing new
        await bus.drain()
        await asyncio.sleep(0.1)
        commands, fills = await journal(service_settings)
        assert [c.kind for c in commands] == ["Quote", "NewOrder", "Quote"] and commands[-1].message_id == moved.id
        assert fills and all(f.order_id == "r1" and f.side == "BUY" for f in fills)
        assert len(received) == 1 + len(fills)  # ACCEPTED, then the fills once
    finally:
        await bus.stop()
        await service.stop()


async def test_reports_that_could_not_be_published_go_out_later_with_the_same_ids(start_service):
    bus, service, received = await start_service()
    original = bus.publish
    failures = []

    async def flaky(channel, message, key=None):
        if channel == EXECUTIONS and not failures:
            failures.append(message.id)
            raise ConnectionError("broker down")
        await original(channel, message, key)

    try:
        await bus.publish(MARKET_DATA, quote("31.40"), key="PETR4")
        await bus.drain()
        bus.publish = flaky
        await original(EXCHANGE_ORDERS, new_order("b1"), key="PETR4")
        await bus.drain()
        await until(lambda: len(received) >= 2)  # the relay retries after its poll interval
        assert failures and [(m.data["orderId"], m.data["execType"]) for m in received] == [("b1", "ACCEPTED"), ("b1", "FILL")]
        assert received[0].id == failures[0]  # the same envelope, so consumers can still dedupe
    finally:
        bus.publish = original
        await bus.stop()
        await service.stop()


async def test_a_failed_journal_write_is_written_before_the_next_command(start_service, service_settings, monkeypatch):
    """The core has applied the command; its journal entry must not be lost with the write."""
    from b3sim.journal import Journal

    bus, service, received = await start_service()
    real_write = Journal.write
    calls = []

    async def failing_once(self, entry):
        calls.append(entry.message.id)
        if len(calls) == 1:
            raise ConnectionError("database down")
        return await real_write(self, entry)

    try:
        await bus.publish(MARKET_DATA, quote("31.40"), key="PETR4")
        await bus.drain()
        monkeypatch.setattr(Journal, "write", failing_once)
        order = new_order("b1")
        await bus.publish(EXCHANGE_ORDERS, order, key="PETR4")  # fails once; the bus redelivers it
        await bus.drain()
        await until(lambda: len(received) >= 2)
        await asyncio.sleep(0.1)
        assert [(m.data["orderId"], m.data["execType"]) for m in received] == [("b1", "ACCEPTED"), ("b1", "FILL")]
        commands, fills = await journal(service_settings)
        assert [(c.kind, c.message_id) for c in commands][1:] == [("NewOrder", order.id)] and len(fills) == 1
        assert bus.dead_letters == []
    finally:
        await bus.stop()
        await service.stop()


def test_the_service_consumes_its_channels_in_its_own_group(tmp_path):
    bus = MemoryBus()
    create_service(Infrastructure(Settings(data_dir=tmp_path), bus, MemoryCache()))
    assert set(bus._groups[EXCHANGE_ORDERS]) == {GROUP} and set(bus._groups[MARKET_DATA]) == {GROUP}
