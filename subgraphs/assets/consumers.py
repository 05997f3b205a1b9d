"""Bus consumers of the assets subgraph."""
from __future__ import annotations

import logging

from mybroker.bus import MessageBus
from mybroker.events import MARKET_DATA, QUOTE, Envelope
from subgraphs.assets.service import AssetsService

log = logging.getLogger("mybroker.assets")

GROUP = "assets"


def subscribe(bus: MessageBus, service: AssetsService) -> None:
    async def on_market_data(message: Envelope) -> None:
        if message.type != QUOTE:
            log.debug("ignored %s on %s", message.type, MARKET_DATA)
            return
        # A malformed payload raises: the bus retries, then dead-letters it.
        await service.record_quote(message)

    bus.subscribe(MARKET_DATA, GROUP, on_market_data)
