"""The relational stores on MySQL (MariaDB here): each service's migrations build exactly its
MetaData on a fresh database, the wallet's check-and-block never overspends under
concurrency (SELECT ... FOR UPDATE), and the inbox applies a message once however many
consumers race for it. Every test works in its own database, dropped afterwards."""
from __future__ import annotations

import asyncio
import importlib
import uuid
from datetime import datetime, timezone
from decimal import Decimal

import pytest
import pytest_asyncio
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import func, inspect, select, text
from sqlalchemy.ext.asyncio import create_async_engine

from mybroker.auth import Caller
from mybroker.db import Database
from mybroker.errors import DomainError, ErrorCode
from launch.registry import migrations_dir
from mybroker.migrations import assert_schema_current, create_mysql_database, head_revision, migrate
from mybroker.settings import SERVICES
from subgraphs.wallet.service import Fill, WalletService
from subgraphs.wallet.tables import reservations
from tests.integration.support import racing_consumers, racing_inbox

D = Decimal
ANA = "ana"


@pytest_asyncio.fixture
async def fresh_database(settings):
    """Makes URLs of fresh (not yet created) databases; drops them all at teardown."""
    names: list[str] = []

    def make() -> str:
        names.append(f"mybroker_test_{uuid.uuid4().hex[:8]}")
        return f"{settings.mysql_url}/{names[-1]}"

    yield make
    engine = create_async_engine(settings.mysql_url)
    try:
        async with engine.begin() as connection:
            for name in names:
                await connection.execute(text(f"DROP DATABASE IF EXISTS `{name}`"))
    finally:
        await engine.dispose()


async def migrated(url: str, service: str) -> Database:
    db = Database(url, importlib.import_module(f"subgraphs.{service}.tables").metadata)
    await db.migrate(migrations_dir(service))
    return db


def _diff(connection, metadata) -> list:
    return compare_metadata(MigrationContext.configure(connection, opts={"compare_type": True}), metadata)


# ------------------------------------------------------------------ migrations


@pytest.mark.parametrize("service", SERVICES)
async def test_migrations_build_the_metadata_on_a_fresh_database(fresh_database, service):
    url = fresh_database()
    directory = migrations_dir(service)
    first = await migrate(url, directory)  # creates the database too
    assert first.applied[-1] == head_revision(directory) and first.before is None
    again = await migrate(url, directory)
    assert again.applied == [] and again.before == again.after == head_revision(directory)

    db = Database(url, importlib.import_module(f"subgraphs.{service}.tables").metadata)
    try:
        async with db.engine.connect() as connection:
            assert await connection.run_sync(_diff, db.metadata) == []
            tables = set(await connection.run_sync(lambda c: inspect(c).get_table_names()))
            collations = (
                await connection.execute(
                    text("SELECT DISTINCT TABLE_COLLATION FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE()")
                )
            ).scalars().all()
            isolation = (await connection.execute(text("SELECT @@tx_isolation"))).scalar()
        assert tables == set(db.metadata.tables) | {"alembic_version"}
        assert collations == ["utf8mb4_bin"]
        assert isolation == "READ-COMMITTED"
    finally:
        await db.dispose()


async def test_instances_starting_together_migrate_once(fresh_database):
    """Two replicas of a service start at once: a MySQL named lock lets one run the DDL."""
    url = fresh_database()
    done = await asyncio.gather(*(migrate(url, migrations_dir("orders")) for _ in range(3)))
    assert sorted(bool(d.applied) for d in done) == [False, False, True]  # one instance migrates, the others wait
    await assert_schema_current(url, migrations_dir("orders"))


async def test_times_keep_microseconds_and_come_back_aware(fresh_database):
    db = await migrated(fresh_database(), "wallet")
    try:
        service = WalletService(db, clock=lambda: datetime(2026, 1, 5, 13, 0, 0, 123456, tzinfo=timezone.utc))
        await service.deposit(Caller(ANA), D("10.00"))
        (entry,) = await service.transactions(Caller(ANA), ANA)
        assert entry.created_at == datetime(2026, 1, 5, 13, 0, 0, 123456, tzinfo=timezone.utc)
    finally:
        await db.dispose()


async def test_strings_compare_exactly_as_on_sqlite(fresh_database):
    """Binary collation: 'PETR4' and 'petr4' are two keys, as they are on SQLite."""
    db = await migrated(fresh_database(), "reports")
    try:
        async with db.transaction() as tx:
            assert await tx.first_time("c", "abc")
            assert await tx.first_time("c", "ABC")
    finally:
        await db.dispose()


# ------------------------------------------------------------------ wallet under concurrency


@pytest_asyncio.fixture
async def wallet(fresh_database):
    db = await migrated(fresh_database(), "wallet")
    yield WalletService(db)
    await db.dispose()


async def test_concurrent_buy_reservations_never_overspend(wallet):
    await wallet.deposit(Caller(ANA), D("1000.00"))  # room for exactly 7 orders of R$ 140.00
    results = await asyncio.gather(
        *(wallet.reserve(f"o{i}", ANA, "BUY", "PETR4", 10, D("14.00")) for i in range(20)), return_exceptions=True
    )
    refused = [r for r in results if isinstance(r, Exception)]
    assert len(results) - len(refused) == 7
    assert all(isinstance(e, DomainError) and e.code is ErrorCode.INSUFFICIENT_FUNDS for e in refused), refused
    mine = await wallet.wallet(Caller(ANA), ANA)
    assert (mine.available, mine.blocked) == (D("20.00"), D("980.00"))
    async with wallet.db.read() as session:
        assert (await session.execute(select(func.count()).select_from(reservations))).scalar() == 7


async def test_concurrent_sell_reservations_never_oversell(wallet):
    await wallet.deposit(Caller(ANA), D("30000.00"))
    await wallet.reserve("buy", ANA, "BUY", "PETR4", 1000, D("30.00"))
    await wallet.settle("buy", Fill("x-buy", 1000, D("30.00")), closed=True)
    results = await asyncio.gather(
        *(wallet.reserve(f"s{i}", ANA, "SELL", "PETR4", 300, None) for i in range(20)), return_exceptions=True
    )
    assert sum(not isinstance(r, Exception) for r in results) == 3
    assert all(e.code is ErrorCode.INSUFFICIENT_POSITION for e in results if isinstance(e, Exception))
    (position,) = await wallet.positions(Caller(ANA), ANA)
    assert (position.quantity, position.blocked_quantity) == (1000, 900)


async def test_concurrent_first_deposits_create_one_wallet(wallet):
    """The wallet is created on first use: racing creators meet on the unique user_id, and
    each then waits on the winner's row lock instead of deadlocking."""
    await asyncio.gather(*(wallet.deposit(Caller("bia"), D("10.00")) for _ in range(10)))
    mine = await wallet.wallet(Caller("bia"), "bia")
    assert mine.available == D("100.00")
    assert len(await wallet.transactions(Caller("bia"), "bia")) == 10


async def test_a_redelivered_fill_settles_once_under_concurrency(wallet):
    await wallet.deposit(Caller(ANA), D("1000.00"))
    await wallet.reserve("o1", ANA, "BUY", "PETR4", 10, D("14.00"))
    fill = Fill("x1", 10, D("13.00"))
    # The same settlement ten times at once (orders repeating it after crashes).
    await asyncio.gather(*(wallet.settle("o1", fill, closed=True) for _ in range(10)))
    mine = await wallet.wallet(Caller(ANA), ANA)
    assert (mine.available, mine.blocked) == (D("870.00"), D("0.00"))
    (position,) = await wallet.positions(Caller(ANA), ANA)
    assert position.quantity == 10


# ------------------------------------------------------------------ the inbox under concurrency


async def test_the_inbox_applies_a_message_once_when_consumers_race(fresh_database):
    """The primary key lets one insert through; the others wait on its lock, then insert
    nothing (INSERT IGNORE), reported as 'already processed'."""
    db, account = racing_inbox(fresh_database())
    try:
        await create_mysql_database(db.url)
        await db.create_schema()
        await racing_consumers(db, account, racers=10)  # below the pool's 15 connections
    finally:
        await db.dispose()


# ------------------------------------------------------------------ reports under concurrency


async def test_concurrent_fills_of_one_holding_all_count(fresh_database):
    """Fills of different orders (different partitions) for one user and ticker, folded at
    once: the holding row is locked, so no update is lost."""
    from mybroker.cache import MemoryCache
    from mybroker.events import Envelope, parse_iso
    from mybroker.trading import OrderSide, OrderType, TimeInForce
    from mybroker.wire import LastFill, OrderUpdated
    from subgraphs.reports.service import ReportsService

    def order_filled(n: int) -> Envelope:
        at = parse_iso("2026-01-05T13:00:00.000Z")
        return OrderUpdated(
            f"o{n}", ANA, "PETR4", OrderSide.BUY, OrderType.MARKET, TimeInForce.DAY, 100, None, 100, Decimal("10.00"),
            "FILLED", None, None, LastFill(f"x{n}", 100, Decimal("10.00"), at), at, at,
        ).envelope()

    db = await migrated(fresh_database(), "reports")
    try:
        reports = ReportsService(db, MemoryCache())
        assert await reports.apply_order_update(order_filled(0))  # the holding exists from here
        assert all(await asyncio.gather(*(reports.apply_order_update(order_filled(n)) for n in range(1, 11))))
        portfolio = await reports.portfolio(Caller(ANA), ANA)
        (holding,) = portfolio.positions
        assert holding.quantity == 1100
    finally:
        await db.dispose()


async def test_concurrent_replaces_and_fills_keep_the_block_exact(wallet):
    """Terms set while fills settle (MySQL row locks): the block always equals what the
    open shares need, and the ledger explains every centavo."""
    await wallet.deposit(Caller(ANA), D("100000.00"))
    await wallet.reserve("b1", ANA, "BUY", "PETR4", 1000, D("30.00"))
    await asyncio.gather(
        wallet.set_terms("b1", 1200, D("31.00")),
        *(wallet.settle("b1", Fill(f"x{i}", 100, D("29.00")), closed=False) for i in range(5)),
    )
    await wallet.set_terms("b1", 800, D("30.00"))
    mine = await wallet.wallet(Caller(ANA), ANA)
    assert mine.blocked == D("30.00") * 300
    assert mine.available == D("100000.00") - D("29.00") * 500 - mine.blocked


# ------------------------------------------------------------------ corporate events under concurrency


async def test_replicas_applying_corporate_events_at_once_pay_each_holder_once(wallet):
    """Five passes at once (five wallet replicas, or a pass and its retry): the wallet's row
    lock and the application's row let one apply each event to each holder."""
    from mybroker.calendar import BRASILIA, ManualClock, b3_calendar
    from mybroker.events import utcnow
    from subgraphs.wallet.corporate_events import parse_events
    from subgraphs.wallet.corporate_events_service import CorporateEventsService

    holders = ("ana", "bia", "caio")
    for n, user in enumerate(holders, start=1):
        await wallet.deposit(Caller(user), D("10000.00"))
        await wallet.reserve(f"buy-{user}", user, "BUY", "BBAS3", 100 * n, D("22.00"))
        await wallet.settle(f"buy-{user}", Fill(f"x-{user}", 100 * n, D("22.00")), closed=True)
    calendar = b3_calendar()
    record = calendar.trading_day(utcnow())
    payment = calendar.add_business_days(record, 1)
    events = parse_events({"events": [
        {"id": "div", "ticker": "BBAS3", "kind": "DIVIDEND", "recordDate": record.isoformat(),
         "paymentDate": payment.isoformat(), "amountPerShare": "0.10"},
        {"id": "split", "ticker": "BBAS3", "kind": "SPLIT", "recordDate": record.isoformat(), "ratioNew": 3, "ratioOld": 1},
    ]})
    clock = ManualClock(datetime.combine(payment, datetime.min.time(), tzinfo=BRASILIA).replace(hour=11))
    replicas = [CorporateEventsService(wallet.db, calendar=calendar, clock=clock.now) for _ in range(5)]
    await replicas[0].load(events)
    results = await asyncio.gather(*(replica.apply_due() for replica in replicas))
    assert sum(result.applied for result in results) == 2 * len(holders)
    for n, user in enumerate(holders, start=1):
        lines = [e for e in await wallet.transactions(Caller(user), user, 500) if e.event_id is not None]
        assert sorted((e.type.value, e.amount, e.quantity) for e in lines) == [
            ("DIVIDEND", D("10.00") * n, 100 * n), ("SPLIT", D("0.00"), 200 * n),
        ]
        (position,) = await wallet.positions(Caller(user), user)
        assert position.quantity == 300 * n


# ------------------------------------------------------------------ the trading day's end under concurrency


async def test_replicas_closing_the_trading_day_at_once_post_once(wallet):
    """Five day's-end passes at once on MySQL: the wallet's row lock and trading_days_closed
    let one post each trader's day."""
    from mybroker.calendar import BRASILIA, ManualClock, b3_calendar
    from mybroker.events import utcnow
    from subgraphs.wallet.day_end import TradingDayEnd
    from subgraphs.wallet.domain import TransactionType

    traders = ("ana", "bia", "caio")
    for user in traders:
        await wallet.deposit(Caller(user), D("10000.00"))
        await wallet.reserve(f"buy-{user}", user, "BUY", "BBAS3", 100, D("22.00"))
        await wallet.settle(f"buy-{user}", Fill(f"x-buy-{user}", 100, D("22.00")), closed=True)
        await wallet.reserve(f"sell-{user}", user, "SELL", "BBAS3", 100, None)
        await wallet.settle(f"sell-{user}", Fill(f"x-sell-{user}", 100, D("23.00")), closed=True)
    calendar = b3_calendar()
    next_session = calendar.add_business_days(calendar.trading_day(utcnow()), 1)
    clock = ManualClock(datetime.combine(next_session, datetime.min.time(), tzinfo=BRASILIA).replace(hour=11))
    replicas = [TradingDayEnd(wallet.db, fees=wallet.fees, calendar=calendar, clock=clock.now) for _ in range(5)]
    results = await asyncio.gather(*(replica.close_due() for replica in replicas))
    assert sum(result.closed for result in results) == len(traders) and not any(result.failed for result in results)
    for user in traders:
        # A day trade of 100.00 gained (no fees here): 1% withheld, once.
        lines = [e for e in await wallet.transactions(Caller(user), user, 500) if e.type is TransactionType.IRRF]
        assert [(e.amount, e.event_id) for e in lines] == [(D("-1.00"), None)]
