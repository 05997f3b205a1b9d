"""b3-sim as a headless service: consumes `b3.orders` and market data, runs the matching
core through its worker (b3sim.worker: one command at a time, journaled by group commit
with its fills, reports and trades, b3sim.journal), and an
outbox relay publishes them on `broker.executions` and `b3-trades-v1`; book snapshots go
to the cache and `b3-book-v1` (b3sim.market_sync).

At start, after migrating the journal, the books are rebuilt by replaying the journal
into a fresh core (b3sim.recovery), before the bus delivers anything: a restart, even
after kill -9, loses no resting order and repeats no fill.

Sharded (MYBROKER_B3SIM_SHARD=i/n, real infrastructure only), a process owns the tickers
whose stable hash falls in its shard (b3sim.sharding): it loads only their books,
consumes its own `b3.orders` queue and market data in its own consumer group, and keeps
its own journal database."""
from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from b3sim.config import maker_policy_from_settings, rules_from_settings
from b3sim.exchange import Exchange
from b3sim.journal import Journal, metadata
from b3sim.market_sync import MarketSync
from b3sim.sharding import Shard
from b3sim.session import calendar
from b3sim.session_clock import DayRoll, SessionClock
from b3sim.worker import ExchangeWorker
from mybroker.calendar import b3_calendar
from mybroker.catalog import load_catalog
from mybroker.db import Database, OutboxRelay
from mybroker.events import MARKET_DATA
from mybroker.service import Infrastructure, Service

log = logging.getLogger("mybroker.b3sim")

NAME = "b3-sim"
GROUP = "b3-sim"
# Orders handled at once (the b3.orders subscription's concurrency): the most one group
# commit can hold. Each waits, unacknowledged, for its batch's commit.
ORDERS_IN_FLIGHT = 64
# Alembic environment of the journal database, applied at start (`mybroker migrate b3-sim` too).
MIGRATIONS = Path(__file__).parent / "migrations"


def create_service(infra: Infrastructure) -> Service:
    settings = infra.settings
    shard = Shard.from_settings(settings)
    if shard.count > 1 and settings.bus == "memory":
        raise ValueError("b3-sim shards need the real bus (RabbitMQ queues per shard); the embedded mode is one shard")
    catalog = shard.owned(load_catalog())
    db = Database(shard.journal_url(settings.database_url(NAME)), metadata, pool_timeout=settings.db_pool_timeout)
    policy = maker_policy_from_settings(settings)
    journal = Journal(db)
    worker = ExchangeWorker(None, journal)
    market = MarketSync(
        infra.bus, infra.cache, lambda: worker.exchange, [entry.ticker for entry in catalog]
    )
    worker.market = market

    def new_exchange(session: str) -> Exchange:
        return Exchange(catalog, policy, session=session, rules=rules_from_settings(settings))

    async def migrate() -> None:
        await db.migrate(MIGRATIONS)

    async def recover() -> None:
        replayed = await worker.recover(new_exchange)
        log.info("b3-sim %s ready: %d tickers, %d journaled commands replayed", shard, len(catalog), replayed)

    # Several orders in flight let one journal commit serve many (ExchangeWorker).
    infra.bus.subscribe(shard.orders_queue, shard.group(GROUP), worker.on_exchange_order, concurrency=ORDERS_IN_FLIGHT)
    infra.bus.subscribe(MARKET_DATA, shard.group(GROUP), worker.on_market_data)
    relay = OutboxRelay(db, infra.bus)
    # Session phases from MYBROKER_SESSION_CALENDAR; "always" never changes phase: no clock.
    session_clock = SessionClock(
        calendar(settings.session_calendar), lambda: worker.exchange.phase if worker.exchange else None, worker.on_exchange_order
    )
    # ... and its DAY orders expire when the trading day rolls (18:00 in Brasília).
    day_roll = DayRoll(
        b3_calendar().trading_day,
        lambda: worker.exchange.trading_day if worker.exchange else False,
        worker.on_exchange_order,
    )
    tickers = [session_clock] if settings.session_calendar != "always" else [day_roll] if settings.day_roll else []

    async def load_calendar() -> None:  # in a thread: its 0.4 s must not stall the loop
        await asyncio.to_thread(b3_calendar().load)

    return Service(
        NAME,
        None,
        on_start=[migrate, recover, relay.start, market.start, load_calendar, *(t.start for t in tickers)],
        on_stop=[*(t.stop for t in tickers), worker.stop, market.stop, relay.stop, db.dispose],
    )

