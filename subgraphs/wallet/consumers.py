"""Bus handlers: `order-events-v1` drives settlement. Decode, then the service dedupes (inbox
and execution id) and applies the update in one transaction."""
from __future__ import annotations

from decimal import Decimal

from mybroker.bus import MessageBus
from mybroker.events import ORDER_EVENTS, ORDER_UPDATED, Envelope
from subgraphs.wallet.service import Fill, OrderUpdate, WalletService

GROUP = "wallet"


def order_update_from(message: Envelope) -> OrderUpdate:
    data = message.data
    last_fill = data.get("lastFill")
    fill = None
    if last_fill:
        fill = Fill(str(last_fill["executionId"]), int(last_fill["quantity"]), Decimal(str(last_fill["price"])))
    return OrderUpdate(str(data["orderId"]), str(data["userId"]), str(data["status"]), fill)


def subscribe(bus: MessageBus, service: WalletService) -> None:
    async def on_order_event(message: Envelope) -> None:
        if message.type != ORDER_UPDATED:
            return
        await service.apply_order_update(message.id, order_update_from(message))

    bus.subscribe(ORDER_EVENTS, GROUP, on_order_event)
