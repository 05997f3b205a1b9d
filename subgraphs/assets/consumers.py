"""Bus consumers of the assets subgraph."""
from __future__ import annotations

import logging

from mybroker.bus import MessageBus
from mybroker.events import BOOK_SNAPSHOT, EXCHANGE_BOOKS, EXCHANGE_TRADES, MARKET_DATA, QUOTE, TRADE, Envelope
from mybroker.wire import BookSnapshot, Trade
from subgraphs.assets.service import AssetsService

log = logging.getLogger("mybroker.assets")

GROUP = "assets"
# Ticks in the handler at once: the most one batch of AssetsService.record_quote folds
# (subgraphs.assets.ticks). Batches are written one at a time, on one connection.
MARKET_DATA_IN_FLIGHT = 64


def subscribe(bus: MessageBus, service: AssetsService) -> None:
    async def on_market_data(message: Envelope) -> None:
        if message.type != QUOTE:
            log.debug("ignored %s on %s", message.type, MARKET_DATA)
            return
        # A malformed payload raises: the bus retries, then dead-letters it.
        await service.record_quote(message)

    bus.subscribe(MARKET_DATA, GROUP, on_market_data, concurrency=MARKET_DATA_IN_FLIGHT)

    # The exchange's book snapshots and tape, into the cache (subgraphs.assets.market).
    async def on_book(message: Envelope) -> None:
        if message.type == BOOK_SNAPSHOT:
            await service.market.record_book(BookSnapshot.of(message))

    async def on_trade(message: Envelope) -> None:
        if message.type == TRADE:
            await service.market.record_trade(Trade.of(message))

    bus.subscribe(EXCHANGE_BOOKS, GROUP, on_book)
    bus.subscribe(EXCHANGE_TRADES, GROUP, on_trade)
