"""b3-sim as a headless service: consumes `b3.orders` and market data, runs the matching
core, publishes execution reports on `broker.executions`.

The books live in memory for now: a restart starts with empty books, and orders that
were resting are forgotten (they stay OPEN at the broker). The journal, a later issue,
will record every command so a restart rebuilds each book exactly. Until then the core's
own bookkeeping makes redeliveries harmless: a NewOrder already seen is ignored, a cancel
of an order no longer resting does nothing, and a re-sent quote only re-quotes the maker."""
from __future__ import annotations

import asyncio
import logging
import uuid
from collections import deque
from datetime import datetime
from typing import Callable

from b3sim.exchange import Command, Exchange
from b3sim.market_maker import MakerPolicy
from b3sim.wire import exchange_command, reference_price, report_envelope
from mybroker.bus import MessageBus
from mybroker.catalog import load_catalog
from mybroker.events import EXCHANGE_ORDERS, EXECUTIONS, MARKET_DATA, Envelope, utcnow
from mybroker.service import Infrastructure, Service

log = logging.getLogger("mybroker.b3sim")

NAME = "b3-sim"
GROUP = "b3-sim"


class ExchangeWorker:
    """Feeds bus messages to the core one at a time and publishes its reports in order.

    Orders and quotes arrive on two consumers; the lock makes each command, and the
    publication of its reports, one step, so an order's reports never interleave out of
    order. Reports wait in `_unpublished` until the bus takes them: if publishing fails, the
    next message publishes them first (same envelopes, so consumers still dedupe)."""

    def __init__(self, exchange: Exchange, bus: MessageBus, clock: Callable[[], datetime] = utcnow):
        self.exchange = exchange
        self.bus = bus
        self.clock = clock
        self._lock = asyncio.Lock()
        self._unpublished: deque[tuple[Envelope, str]] = deque()

    async def on_exchange_order(self, message: Envelope) -> None:
        command = exchange_command(message)
        if command is None:
            log.warning("ignored %s message %s on %s", message.type, message.id, EXCHANGE_ORDERS)
        await self.run(command)

    async def on_market_data(self, message: Envelope) -> None:
        await self.run(reference_price(message))

    async def run(self, command: Command | None) -> None:
        async with self._lock:
            if command is not None:
                for report in self.exchange.handle(command, self.clock()):
                    self._unpublished.append((report_envelope(report), report.order_id))
            while self._unpublished:
                envelope, key = self._unpublished[0]
                await self.bus.publish(EXECUTIONS, envelope, key=key)
                self._unpublished.popleft()


def create_service(infra: Infrastructure) -> Service:
    exchange = Exchange(load_catalog(), MakerPolicy.from_settings(infra.settings), session=uuid.uuid4().hex[:8])
    worker = ExchangeWorker(exchange, infra.bus)
    infra.bus.subscribe(EXCHANGE_ORDERS, GROUP, worker.on_exchange_order)
    infra.bus.subscribe(MARKET_DATA, GROUP, worker.on_market_data)
    return Service(NAME, None)
