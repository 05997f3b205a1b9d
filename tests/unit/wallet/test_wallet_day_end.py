"""The trading day's end in the wallet (subgraphs/wallet/day_end.py), on a clock moved past
the day's rollover: a day trade's fees are adjusted to the day-trade rates and the IRRF is
withheld, each as its own ledger line settling with the day's trades (D+2), once per trader
and day however many passes or replicas run, and nothing at all if a pass dies half-way."""
from __future__ import annotations

import asyncio
from datetime import date, datetime, timezone
from decimal import Decimal

import pytest
from sqlalchemy import select

from mybroker.auth import Caller
from mybroker.calendar import ManualClock
from mybroker.fees import FeeKind, FeeSchedule
from subgraphs.wallet import day_end as day_end_module
from subgraphs.wallet import repository
from subgraphs.wallet.day_end import TradingDayEnd, TradingDayEndJob, ledger_day_trades
from subgraphs.wallet.domain import TransactionType, Wallet
from subgraphs.wallet.service import Fill, WalletService
from subgraphs.wallet.tables import outbox

D = Decimal
FEES = FeeSchedule()
THURSDAY = datetime(2026, 12, 10, 14, 0, tzinfo=timezone.utc)  # 11:00 in Brasília, in session
BEFORE_ROLL = datetime(2026, 12, 10, 20, 59, tzinfo=timezone.utc)  # 17:59: the day is still open
AFTER_ROLL = datetime(2026, 12, 10, 21, 5, tzinfo=timezone.utc)  # 18:05: the day is over
SETTLES = date(2026, 12, 14)  # D+2 business days of Thursday 10 December


@pytest.fixture
def clock():
    return ManualClock(THURSDAY)


@pytest.fixture
def service(wallet, clock):
    return WalletService(wallet.db, fees=FEES, clock=clock.now)


@pytest.fixture
def day_end(wallet, clock):
    return TradingDayEnd(wallet.db, fees=FEES, clock=clock.now)


async def trade(service: WalletService, user: str, side: str, ticker: str, quantity: int, price: str, n: int = 0) -> None:
    order_id = f"{user}-{side}-{ticker}-{quantity}-{price}-{n}"
    await service.reserve(order_id, user, side, ticker, quantity, D(price))
    await service.settle(order_id, Fill(f"x-{order_id}", quantity, D(price)), closed=True)


async def day_end_lines(service: WalletService, user: str) -> list[tuple[str, str, str | None, date | None]]:
    entries = await service.transactions(Caller(user), user, 100)
    return sorted(
        (e.type.value, str(e.amount), None if e.fee_kind is None else e.fee_kind.value, e.settles_on)
        for e in entries if e.type in (TransactionType.FEE_ADJUSTMENT, TransactionType.IRRF)
    )


async def day_trader(service: WalletService, user: str = "u-1") -> None:
    await service.deposit(Caller(user), D("5000.00"))
    await trade(service, user, "BUY", "PETR4", 100, "30.00")
    await trade(service, user, "SELL", "PETR4", 100, "31.00")


async def test_a_day_trade_is_adjusted_and_withheld_once_the_day_is_over(wallet, service, day_end, clock):
    await day_trader(service)
    clock.set(BEFORE_ROLL)
    assert (await day_end.close_due()).closed == 0, "the day is not over before its rollover"
    clock.set(AFTER_ROLL)
    before = await service.wallet(Caller("u-1"), "u-1")
    result = await day_end.close_due()
    assert (result.closed, result.posted) == (1, 1)
    # mybroker.day_end's worked example: 0.46 of liquidação given back, 0.99 of IRRF (1% of 98.57).
    assert await day_end_lines(service, "u-1") == [
        ("FEE_ADJUSTMENT", "0.46", FeeKind.LIQUIDACAO.value, SETTLES), ("IRRF", "-0.99", None, SETTLES),
    ]
    after = await service.wallet(Caller("u-1"), "u-1")
    assert after.available - before.available == D("0.46") - D("0.99")
    # Cash to settle on D+2 holds the lines: nothing of it may be withdrawn before.
    cash = await service.cash(Caller("u-1"), "u-1")
    [to_settle] = cash.to_settle
    assert to_settle.day == SETTLES and to_settle.amount == D("100.00") - D("0.93") - D("0.96") + D("0.46") - D("0.99")
    # Each line's message is in the outbox with it.
    async with wallet.db.read() as session:
        kinds = [row.payload for row in (await session.execute(select(outbox.c.payload))).all()]
    assert sum(b'"FEE_ADJUSTMENT"' in payload for payload in kinds) == 1

    # Again, and from a second replica: nothing more.
    assert (await day_end.close_due()).closed == 0
    replica = TradingDayEnd(wallet.db, fees=FEES, clock=clock.now)
    assert (await replica.close_due()).closed == 0
    assert len(await day_end_lines(service, "u-1")) == 2


async def test_two_replicas_at_once_post_once(wallet, service, clock):
    await day_trader(service, "u-1")
    await day_trader(service, "u-2")
    clock.set(AFTER_ROLL)
    passes = [TradingDayEnd(wallet.db, fees=FEES, clock=clock.now) for _ in range(3)]
    results = await asyncio.gather(*(p.close_due() for p in passes))
    assert sum(r.closed for r in results) == 2
    assert len(await day_end_lines(service, "u-1")) == len(await day_end_lines(service, "u-2")) == 2


async def test_a_pass_that_dies_half_way_leaves_nothing_and_the_next_posts_once(wallet, service, day_end, clock, monkeypatch):
    await day_trader(service)
    clock.set(AFTER_ROLL)
    real = Wallet.close_trading_day

    def crash(self, end, settles_on):
        real(self, end, settles_on)  # the lines are in memory, the record is written: then it dies
        raise RuntimeError("the process died")

    monkeypatch.setattr(Wallet, "close_trading_day", crash)
    assert (await day_end.close_due()).failed == 1
    assert await day_end_lines(service, "u-1") == []
    monkeypatch.setattr(Wallet, "close_trading_day", real)
    assert (await day_end.close_due()).posted == 1
    assert len(await day_end_lines(service, "u-1")) == 2


async def test_a_swing_day_posts_no_adjustment_and_no_irrf_of_a_real_or_less(service, day_end, clock):
    await service.deposit(Caller("u-1"), D("20000.00"))
    await trade(service, "u-1", "BUY", "VALE3", 200, "70.00")
    clock.set(datetime(2026, 12, 11, 14, 0, tzinfo=timezone.utc))  # the next day: a swing sale of half
    await trade(service, "u-1", "SELL", "VALE3", 100, "70.00")
    clock.set(datetime(2026, 12, 11, 21, 5, tzinfo=timezone.utc))
    result = await day_end.close_due()
    # Thursday (a purchase) and Friday (7,000.00 sold: 0.35 of IRRF, not withheld) both closed, nothing posted.
    assert (result.closed, result.posted) == (2, 0)
    assert await day_end_lines(service, "u-1") == []


async def test_a_swing_sale_above_the_threshold_is_withheld(service, day_end, clock):
    await service.deposit(Caller("u-1"), D("50000.00"))
    await trade(service, "u-1", "BUY", "VALE3", 500, "70.00")
    clock.set(datetime(2026, 12, 11, 14, 0, tzinfo=timezone.utc))
    await trade(service, "u-1", "SELL", "VALE3", 300, "70.00")  # 21,000.00: 1.05
    clock.set(datetime(2026, 12, 11, 21, 5, tzinfo=timezone.utc))
    await day_end.close_due()
    assert await day_end_lines(service, "u-1") == [("IRRF", "-1.05", None, date(2026, 12, 15))]


async def test_the_job_closes_the_day_at_start_and_a_day_missed_while_down(service, day_end, clock):
    await day_trader(service)
    clock.set(datetime(2026, 12, 16, 14, 0, tzinfo=timezone.utc))  # four business days later
    job = TradingDayEndJob(day_end, interval=3600)
    assert (await job.run_once()).posted == 1
    assert len(await day_end_lines(service, "u-1")) == 2


def test_ledger_lines_become_the_days_trades_per_asset_and_side():
    lines = [
        (TransactionType.BUY, "o-1", "PETR4", 100, D("-3000.00")),
        (TransactionType.FEE, "o-1", "PETR4", None, D("-0.11")),
        (TransactionType.FEE, "o-1", "PETR4", None, D("-0.82")),
        (TransactionType.SELL, "o-2", "PETR4", 60, D("1860.00")),
        (TransactionType.SELL, "o-2", "PETR4", 40, D("1240.00")),
        (TransactionType.FEE, "o-2", "PETR4", None, D("-0.96")),
    ]
    trades = {(t.ticker, t.side.value): (t.quantity, t.value, t.costs) for t in ledger_day_trades(lines)}
    assert trades == {("PETR4", "BUY"): (100, D("3000.00"), D("0.93")), ("PETR4", "SELL"): (100, D("3100.00"), D("0.96"))}
    with pytest.raises(ValueError):
        ledger_day_trades([(TransactionType.FEE, "o-9", "PETR4", None, D("-0.10"))])


def test_a_pass_looks_back_a_bounded_number_of_business_days(day_end):
    days = day_end.days_over(AFTER_ROLL)
    assert len(days) == day_end_module.LOOKBACK_DAYS
    assert max(days.values()) == date(2026, 12, 10) and days[SETTLES] == date(2026, 12, 10)


async def test_a_day_closed_for_everyone_is_not_read_again(wallet, service, day_end, clock, monkeypatch):
    await day_trader(service)
    clock.set(AFTER_ROLL)
    real = Wallet.close_trading_day

    def crash(self, end, settles_on):
        raise RuntimeError("a bad ledger")

    monkeypatch.setattr(Wallet, "close_trading_day", crash)
    await day_end.close_due()
    async with wallet.db.read() as session:
        assert date(2026, 12, 10) not in await repository.days_done(session, [date(2026, 12, 10)]), "a trader is left to close"
    monkeypatch.setattr(Wallet, "close_trading_day", real)
    await day_end.close_due()
    async with wallet.db.read() as session:
        assert await repository.days_done(session, [date(2026, 12, 9), date(2026, 12, 10)]) == {date(2026, 12, 9), date(2026, 12, 10)}

    asked: list = []
    original = repository.traders_to_close

    async def spy(session, settling):
        asked.append(list(settling))
        return await original(session, settling)

    monkeypatch.setattr(repository, "traders_to_close", spy)
    await day_end.close_due()
    assert asked == [[]], "the days done are not read again"


def test_the_statement_names_the_days_end_lines():
    from subgraphs.wallet.domain import PostedEntry
    from subgraphs.wallet.statement import describe

    adjustment = PostedEntry("e-1", TransactionType.FEE_ADJUSTMENT, D("0.46"), None, AFTER_ROLL, SETTLES, fee_kind=FeeKind.LIQUIDACAO)
    withheld = PostedEntry("e-2", TransactionType.IRRF, D("-0.99"), None, AFTER_ROLL, SETTLES)
    dividend_tax = PostedEntry("e-3", TransactionType.IRRF, D("-7.00"), None, AFTER_ROLL, ticker="WEGE3", quantity=100, event_id="jcp")
    assert describe(adjustment) == "Ajuste day trade taxa de liquidação"
    assert describe(withheld) == "IRRF s/ operações"
    assert describe(dividend_tax) == "IRRF WEGE3 100"
