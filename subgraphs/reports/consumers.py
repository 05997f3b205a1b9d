"""Bus consumers of the reports subgraph."""
from __future__ import annotations

from mybroker.bus import MessageBus
from mybroker.events import (
    CORPORATE_EVENT_APPLIED,
    MARKET_DATA,
    ORDER_EVENTS,
    ORDER_UPDATED,
    QUOTE,
    WALLET_EVENTS,
    Envelope,
)
from subgraphs.reports.service import ReportsService

GROUP = "reports"
# Ticks handled at once, one ticker's in order (per_key: newer-wins reads, then writes,
# the cached price): one at a time, the cache round trips kept the consumer behind the feed.
MARKET_DATA_IN_FLIGHT = 8


def subscribe(bus: MessageBus, service: ReportsService) -> None:
    # Malformed payloads raise: the bus retries, then dead-letters them.
    async def on_order_event(message: Envelope) -> None:
        if message.type == ORDER_UPDATED:
            await service.apply_order_update(message)

    async def on_market_data(message: Envelope) -> None:
        if message.type == QUOTE:
            await service.record_price(message)

    async def on_wallet_event(message: Envelope) -> None:
        # Only corporate events move the projection; the ledger's other lines are the wallet's.
        if message.type == CORPORATE_EVENT_APPLIED:
            await service.apply_corporate_event(message)

    bus.subscribe(ORDER_EVENTS, GROUP, on_order_event)
    bus.subscribe(WALLET_EVENTS, GROUP, on_wallet_event)
    bus.subscribe(MARKET_DATA, GROUP, on_market_data, concurrency=MARKET_DATA_IN_FLIGHT, per_key=True)
