"""b3-sim as a headless service: consumes `b3.orders` and market data, runs the matching
core, journals each command with its fills and reports (b3sim.journal), and an outbox
relay publishes the reports on `broker.executions`.

The books still live in memory: a restart starts with empty books. The journal holds
every accepted command in order, with its payload and the time the core was given, which
is what rebuilding the books at start needs (a later issue)."""
from __future__ import annotations

import asyncio
import logging
import uuid
from collections import deque
from datetime import datetime
from typing import Callable

from b3sim.exchange import Command, Exchange, NewOrder
from b3sim.journal import Entry, Journal, metadata
from b3sim.market_maker import MakerPolicy
from b3sim.wire import exchange_command, reference_price
from mybroker.catalog import load_catalog
from mybroker.db import Database, OutboxRelay
from mybroker.events import EXCHANGE_ORDERS, MARKET_DATA, Envelope, utcnow
from mybroker.service import Infrastructure, Service

log = logging.getLogger("mybroker.b3sim")

NAME = "b3-sim"
GROUP = "b3-sim"


class ExchangeWorker:
    """Feeds bus messages to the core one at a time and journals each result.

    Orders and quotes arrive on two consumers; the lock makes each command and its journal
    write one step, so the journal (and the outbox) follows the order the core saw. The
    core changes in memory before the journal commits; if the write fails, the entry waits
    in `_unwritten` and is written before anything else, so a redelivered command that the
    core already applied (and now ignores) still gets its reports out.

    Quotes are the hot path (every tick of every ticker) and most change nothing a broker
    sees, so they skip the database. Replaying the journal still gives the same reports:
    a quote resets the maker's whole ladder, so what a later order meets depends only on
    the ticker's latest quote and the fills since, and both are journaled: a quote that
    filled orders at once, and a ticker's latest quote just before a NewOrder for it.
    Order commands are deduplicated by the journal's inbox; a journaled quote by the
    recent-ids set (a redelivered quote that was not journaled only re-quotes the maker)."""

    RECENT_QUOTES = 10_000

    def __init__(self, exchange: Exchange, journal: Journal, clock: Callable[[], datetime] = utcnow):
        self.exchange = exchange
        self.journal = journal
        self.clock = clock
        self._lock = asyncio.Lock()
        self._unwritten: deque[Entry] = deque()
        self._latest_quotes: dict[str, Entry] = {}  # per ticker, handled but not journaled
        self._journaled_quotes: dict[str, None] = {}  # an insertion-ordered, bounded set

    async def on_exchange_order(self, message: Envelope) -> None:
        command = exchange_command(message)
        if command is None:
            log.warning("ignored %s message %s on %s", message.type, message.id, EXCHANGE_ORDERS)
            return
        async with self._lock:
            await self._write_unwritten()
            if await self.journal.seen(message.id):
                return  # a redelivery: the first delivery is journaled, its reports in the outbox
            if isinstance(command, NewOrder) and (latest := self._latest_quotes.pop(command.ticker, None)):
                self._journal_quote(latest)
            self._handle(message, command)
            await self._write_unwritten()

    async def on_market_data(self, message: Envelope) -> None:
        command = reference_price(message)
        if command is None:
            return
        async with self._lock:
            await self._write_unwritten()
            if message.id in self._journaled_quotes:
                return
            entry = self._handle(message, command, journal=False)
            if entry.reports:
                self._latest_quotes.pop(command.ticker, None)
                self._journal_quote(entry)
                await self._write_unwritten()
            else:
                self._latest_quotes[command.ticker] = entry

    def _handle(self, message: Envelope, command: Command, *, journal: bool = True) -> Entry:
        at = self.clock()
        entry = Entry(message, at, self.exchange.handle(command, at))
        if journal:
            self._unwritten.append(entry)
        return entry

    def _journal_quote(self, entry: Entry) -> None:
        self._unwritten.append(entry)
        self._journaled_quotes[entry.message.id] = None
        if len(self._journaled_quotes) > self.RECENT_QUOTES:
            del self._journaled_quotes[next(iter(self._journaled_quotes))]

    async def _write_unwritten(self) -> None:
        while self._unwritten:
            entry = self._unwritten[0]
            if not await self.journal.write(entry) and entry.reports:
                # Only a quote the recent-ids set forgot can get here: its new reports are lost.
                log.error("%s %s was journaled already; %d new reports dropped", entry.message.type, entry.message.id, len(entry.reports))
            self._unwritten.popleft()


def create_service(infra: Infrastructure) -> Service:
    settings = infra.settings
    db = Database(settings.database_url(NAME), metadata)
    exchange = Exchange(load_catalog(), MakerPolicy.from_settings(settings), session=uuid.uuid4().hex[:8])
    worker = ExchangeWorker(exchange, Journal(db))
    infra.bus.subscribe(EXCHANGE_ORDERS, GROUP, worker.on_exchange_order)
    infra.bus.subscribe(MARKET_DATA, GROUP, worker.on_market_data)
    relay = OutboxRelay(db, infra.bus)
    return Service(NAME, None, on_start=[db.create_schema, relay.start], on_stop=[relay.stop, db.dispose])
