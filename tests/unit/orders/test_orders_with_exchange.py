"""Orders and b3-sim wired through the in-memory bus and the outbox relay: an order's
whole life, from placeOrder to B3's reports applied."""
from __future__ import annotations

import asyncio
from decimal import Decimal

from b3sim.app import create_service as create_exchange
from mybroker.auth import Caller
from mybroker.cache import MemoryCache
from mybroker.db import OutboxRelay
from mybroker.events import EXECUTIONS, MARKET_DATA, ORDER_EVENTS, Envelope, utcnow
from mybroker.service import Infrastructure
from mybroker.settings import Settings
from mybroker.wire import Quote
from subgraphs.orders.consumers import GROUP, execution_reports
from subgraphs.orders.domain import OrderRequest, OrderSide, OrderStatus, OrderType, TimeInForce

ALICE = Caller("alice")


async def until_status(service, order_id, *statuses, timeout=5.0):
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        order = await service.order(ALICE, order_id)
        if order.status in statuses:
            return order
        assert asyncio.get_running_loop().time() < deadline, f"order stuck in {order.status}"
        await asyncio.sleep(0.02)


async def test_orders_live_their_lives_through_the_exchange(harness, tmp_path):
    bus, service = harness.bus, harness.service
    bus.subscribe(EXECUTIONS, GROUP, execution_reports(service))
    snapshots: list[dict] = []

    async def watch(message: Envelope) -> None:
        snapshots.append(message.data)

    bus.subscribe(ORDER_EVENTS, "test", watch)
    exchange = create_exchange(Infrastructure(Settings(mm_depth=3, mm_lots_per_level=2, data_dir=tmp_path), bus, MemoryCache()))
    relay = OutboxRelay(harness.db, bus, poll_interval=0.05)
    await exchange.start()
    await bus.start()
    await relay.start()
    try:
        last = harness.assets.assets["PETR4"].last_price
        quote = Quote("PETR4", last, Decimal("0"), 0.0, 0, utcnow())
        await bus.publish(MARKET_DATA, quote.envelope(), key="PETR4")

        bought = await service.place_order(ALICE, OrderRequest("PETR4", OrderSide.BUY, OrderType.MARKET, 300))
        filled = await until_status(service, bought.id, OrderStatus.FILLED)
        [fills] = await service.fills([bought.id])
        # 200 shares per maker level: the first level, then 100 from the next one up.
        assert [f.quantity for f in fills] == [200, 100] and fills[0].price < fills[1].price <= bought.protection_price
        assert fills[0].price > last
        assert filled.average_price == ((fills[0].price * 200 + fills[1].price * 100) / 300).quantize(Decimal("0.01"))

        resting = await service.place_order(
            ALICE, OrderRequest("PETR4", OrderSide.BUY, OrderType.LIMIT, 100, Decimal("1.50"), TimeInForce.GTC)
        )
        await until_status(service, resting.id, OrderStatus.OPEN)
        await service.cancel_order(ALICE, resting.id)
        cancelled = await until_status(service, resting.id, OrderStatus.CANCELLED)
        assert cancelled.filled_quantity == 0

        await relay.publish_pending()
        await bus.drain()
        statuses = [(s["orderId"], s["status"]) for s in snapshots]
        assert statuses == [
            (bought.id, "PENDING"),
            (bought.id, "OPEN"),
            (bought.id, "PARTIALLY_FILLED"),
            (bought.id, "FILLED"),
            (resting.id, "PENDING"),
            (resting.id, "OPEN"),
            (resting.id, "PENDING_CANCEL"),
            (resting.id, "CANCELLED"),
        ]
        assert bus.dead_letters == []
    finally:
        await relay.stop()
        await bus.stop()
        await exchange.stop()
