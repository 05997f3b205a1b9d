"""b3-sim on the in-memory bus: messages in, execution report envelopes out, in order."""
from __future__ import annotations

from decimal import Decimal

from b3sim.app import GROUP, create_service
from mybroker.bus.memory import MemoryBus
from mybroker.cache import MemoryCache
from mybroker.events import (
    CANCEL_ORDER,
    EXCHANGE_ORDERS,
    EXECUTION_REPORT,
    EXECUTIONS,
    MARKET_DATA,
    NEW_ORDER,
    QUOTE,
    Envelope,
)
from mybroker.service import Infrastructure
from mybroker.settings import Settings


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


def quote(price: str) -> Envelope:
    return Envelope(
        QUOTE,
        {"ticker": "PETR4", "price": price, "change": "0.00", "changePercent": 0.0, "volume": 0, "time": "2026-11-24T13:00:00.000Z", "source": "test"},
    )


async def start():
    bus = MemoryBus()
    service = create_service(Infrastructure(Settings(mm_depth=2, mm_lots_per_level=1), bus, MemoryCache()))
    received: list[Envelope] = []

    async def collect(message: Envelope) -> None:
        received.append(message)

    bus.subscribe(EXECUTIONS, "test", collect)
    await service.start()
    await bus.start()
    return bus, service, received


async def test_orders_and_quotes_in_reports_out():
    bus, service, received = await start()
    try:
        assert service.name == "b3-sim" and service.app is None
        await bus.publish(EXCHANGE_ORDERS, new_order("early"), key="PETR4")  # before any reference price
        await bus.drain()
        await bus.publish(MARKET_DATA, quote("31.40"), key="PETR4")
        await bus.drain()
        await bus.publish(EXCHANGE_ORDERS, new_order("b1", quantity=200), key="PETR4")
        await bus.publish(EXCHANGE_ORDERS, new_order("b1", quantity=200), key="PETR4")  # redelivered
        await bus.publish(
            EXCHANGE_ORDERS, new_order("r1", type="LIMIT", limitPrice="20.00", protectionPrice=None), key="PETR4"
        )
        await bus.publish(EXCHANGE_ORDERS, Envelope(CANCEL_ORDER, {"orderId": "r1", "ticker": "PETR4"}), key="PETR4")
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
    finally:
        await bus.stop()
        await service.stop()


async def test_reports_that_could_not_be_published_go_out_first_next_time():
    bus, service, received = await start()
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
        await bus.drain()  # the consumer retries the message; the core ignores the duplicate
        assert failures and [(m.data["orderId"], m.data["execType"]) for m in received] == [("b1", "ACCEPTED"), ("b1", "FILL")]
        assert received[0].id == failures[0]  # the same envelope, so consumers can still dedupe
    finally:
        bus.publish = original
        await bus.stop()
        await service.stop()


def test_the_service_consumes_its_channels_in_its_own_group():
    bus = MemoryBus()
    create_service(Infrastructure(Settings(), bus, MemoryCache()))
    assert set(bus._groups[EXCHANGE_ORDERS]) == {GROUP} and set(bus._groups[MARKET_DATA]) == {GROUP}
