"""What the b3-sim tests share: the messages the orders service and the market-data feed
send, a small core and a stepping clock for the worker, a journal on a fresh SQLite file,
the service on the in-memory bus, and a wait for what the relay publishes afterwards."""
from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone
from typing import Awaitable, Callable, Iterable

import pytest
import pytest_asyncio

from b3sim.app import create_service
from b3sim.book import Side
from b3sim.exchange import MAKER_PREFIX, Exchange
from b3sim.journal import metadata
from b3sim.market_maker import MakerPolicy
from mybroker.bus.memory import MemoryBus
from mybroker.cache import MemoryCache
from mybroker.catalog import load_catalog
from mybroker.db import Database
from mybroker.events import EXECUTIONS, NEW_ORDER, QUOTE, Envelope
from mybroker.service import Infrastructure, Service
from mybroker.settings import Settings

AT = datetime(2026, 11, 24, 13, 0, tzinfo=timezone.utc)
# A small ladder (two levels of one lot a side), so a test's orders decide what trades.
POLICY = MakerPolicy(depth=2, lots_per_level=1)


def new_core(session: str) -> Exchange:
    """A core on the catalog with POLICY: what ExchangeWorker.recover builds."""
    return Exchange(load_catalog(), POLICY, session=session)


def limit(order_id: str, side: str, price: str, quantity: int = 100, ticker: str = "PETR4", tif: str = "DAY",
          account: str | None = None) -> Envelope:
    """A LIMIT NewOrder as the orders service sends it to b3.orders."""
    data = {"orderId": order_id, "ticker": ticker, "side": side, "type": "LIMIT", "timeInForce": tif,
            "quantity": quantity, "limitPrice": price, "protectionPrice": None}
    if account is not None:
        data["account"] = account
    return Envelope(NEW_ORDER, data)


def quote(price: str, ticker: str = "PETR4") -> Envelope:
    """A market-data tick: a new reference price, which re-quotes the maker."""
    return Envelope(QUOTE, {"ticker": ticker, "price": price, "change": "0.00", "changePercent": 0.0, "volume": 0,
                            "time": "2026-11-24T13:00:00.000Z", "source": "test"})


class Clock:
    """The worker's clock: each reading a `step` after the one before, from `start`."""

    def __init__(self, start: datetime = AT, step: timedelta = timedelta(milliseconds=1)):
        self.now = start
        self.step = step

    def __call__(self) -> datetime:
        self.now += self.step
        return self.now


def books(core: Exchange, tickers: Iterable[str] = ("PETR4", "VALE3")) -> dict:
    """Every level of every book with its queue: broker orders by id and remaining
    quantity; the maker's by side and quantity only (its ids count re-quotes, which the
    journal skips when they change nothing)."""
    out = {}
    for ticker in tickers:
        book = core.book(ticker)
        for side in (Side.BUY, Side.SELL):
            for price, quantity, orders in book.depth(side):
                queue = [("maker" if oid.startswith(MAKER_PREFIX) else oid, book.remaining(oid)) for oid in book.queue(side, price)]
                out[(ticker, side.value, price)] = (quantity, orders, queue)
    return out


async def until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    """The relay publishes after the commit, asynchronously: wait for what it sends."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.005)


@pytest_asyncio.fixture
async def journal_db(tmp_path):
    """The journal's tables on a fresh SQLite file, for a worker without the service."""
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'b3.db'}", metadata)
    await db.create_schema()
    yield db
    await db.dispose()


@pytest.fixture
def service_settings(tmp_path) -> Settings:
    """The service's settings: its journal in tmp_path, the maker at POLICY."""
    # No day roll: these tests count what the journal holds (test_b3sim_day_roll.py rolls).
    return Settings(data_dir=tmp_path, mm_depth=POLICY.depth, mm_lots_per_level=POLICY.lots_per_level, day_roll=False)


@pytest.fixture
def start_service(service_settings) -> Callable[[], Awaitable[tuple[MemoryBus, Service, list[Envelope]]]]:
    """Starts b3-sim on a new in-memory bus over the same journal (again, for a restart):
    answers the bus, the service and the execution reports it publishes, as they come."""

    async def start() -> tuple[MemoryBus, Service, list[Envelope]]:
        bus = MemoryBus()
        service = create_service(Infrastructure(service_settings, bus, MemoryCache()))
        received: list[Envelope] = []

        async def collect(message: Envelope) -> None:
            received.append(message)

        bus.subscribe(EXECUTIONS, "test", collect)
        await service.start()
        await bus.start()
        return bus, service, received

    return start
