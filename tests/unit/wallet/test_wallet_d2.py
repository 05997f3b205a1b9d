"""Settlement at B3 on D+2 (issue 15): a trade's cash is recorded at once, so shares bought
can be sold and sale proceeds can buy, but only settled cash can be withdrawn; the rest
settles by itself when its day comes on the calendar, with nothing to run."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from mybroker.auth import Caller
from mybroker.calendar import ManualClock
from mybroker.errors import DomainError, ErrorCode
from subgraphs.wallet.domain import CashToSettle, cash_view
from subgraphs.wallet.service import Fill, WalletService

FRIDAY_MORNING = datetime(2026, 12, 4, 14, 0, tzinfo=timezone.utc)  # 11:00 in Brasília
TUESDAY = datetime(2026, 12, 8, 13, 0, tzinfo=timezone.utc)  # D+2 of that Friday
D = Decimal


def test_settled_cash_is_the_total_less_what_has_yet_to_settle():
    view = cash_view(
        available=D("10200.00"),
        blocked=D("500.00"),
        unsettled=[(date(2026, 12, 8), D("-3000.00")), (date(2026, 12, 8), D("3200.00")), (date(2026, 12, 9), D("-0.90"))],
    )
    assert view.settled == D("10500.90")  # 10,700 in the wallet, 199.10 of it still to come in net
    assert view.to_settle == (
        CashToSettle(date(2026, 12, 8), D("200.00"), D("10700.90")),
        CashToSettle(date(2026, 12, 9), D("-0.90"), D("10700.00")),
    )
    assert view.buying_power == D("10200.00")
    assert view.withdrawable == D("7000.00")  # available, less the sale's 3,200 still to settle
    assert view.receivable == ((date(2026, 12, 8), D("3200.00")),)


def test_nothing_to_settle_leaves_everything_withdrawable_and_never_below_zero():
    assert cash_view(D("100.00"), D("0.00"), ()).withdrawable == D("100.00")
    assert cash_view(D("100.00"), D("0.00"), [(date(2026, 12, 8), D("900.00"))]).withdrawable == D("0.00")


@pytest.fixture
def clock():
    return ManualClock(FRIDAY_MORNING)


@pytest.fixture
async def service(wallet, clock):
    return WalletService(wallet.db, clock=clock.now)


async def trade(service: WalletService, user: str, side: str, quantity: int, price: str, n: int) -> None:
    order_id = f"{side.lower()}-{n}"
    await service.reserve(order_id, user, side, "PETR4", quantity, D(price))
    await service.settle(order_id, Fill(f"x-{order_id}", quantity, D(price)), closed=True)


async def test_proceeds_buy_at_once_but_only_settled_cash_leaves_until_d2(service, clock):
    alice = Caller("alice")
    await service.deposit(alice, D("10000.00"))
    await trade(service, "alice", "BUY", 100, "30.00", 1)
    await trade(service, "alice", "SELL", 100, "32.00", 2)  # the shares just bought sell at once

    cash = await service.cash(alice, "alice")
    assert cash.buying_power == D("10200.00")
    assert cash.settled == D("10000.00")
    assert cash.to_settle == (CashToSettle(date(2026, 12, 8), D("200.00"), D("10200.00")),)
    assert cash.withdrawable == D("7000.00")

    with pytest.raises(DomainError) as refused:
        await service.withdraw(alice, D("7000.01"))
    assert refused.value.code is ErrorCode.UNSETTLED_FUNDS
    assert "R$ 7000.00 now" in refused.value.message and "R$ 3200.00 on 08/12/2026" in refused.value.message
    with pytest.raises(DomainError) as too_much:
        await service.withdraw(alice, D("10200.01"))
    assert too_much.value.code is ErrorCode.INSUFFICIENT_FUNDS

    # The sale's cash can buy before it settles.
    await trade(service, "alice", "BUY", 300, "34.00", 3)
    assert (await service.cash(alice, "alice")).buying_power == D("0.00")
    assert (await service.wallet(alice, "alice")).available == D("0.00")

    clock.set(TUESDAY)  # D+2 of every trade: settled by the calendar, nothing ran
    cash = await service.cash(alice, "alice")
    assert cash.to_settle == () and cash.settled == D("0.00") and cash.withdrawable == D("0.00")


async def test_everything_settles_on_d2_and_can_then_be_withdrawn(service, clock):
    bob = Caller("bob")
    await service.deposit(bob, D("5000.00"))
    await trade(service, "bob", "BUY", 100, "20.00", 1)
    await trade(service, "bob", "SELL", 100, "25.00", 2)
    clock.set(TUESDAY - timedelta(hours=4))  # 06:00 on Tuesday in Brasília: settlement day
    assert (await service.cash(bob, "bob")).withdrawable == D("5500.00")
    await service.withdraw(bob, D("5500.00"))
    assert (await service.wallet(bob, "bob")).available == D("0.00")


async def test_a_trade_after_the_close_settles_from_the_next_trading_day(service, clock):
    carol = Caller("carol")
    await service.deposit(carol, D("1000.00"))
    clock.set(datetime(2026, 12, 4, 21, 30, tzinfo=timezone.utc))  # Friday 18:30 in Brasília
    await trade(service, "carol", "BUY", 10, "10.00", 1)
    [pending] = (await service.cash(carol, "carol")).to_settle
    assert pending.day == date(2026, 12, 9)  # a Monday trade: D+2 is Wednesday
    entries = await service.transactions(carol, "carol")
    assert {entry.settles_on for entry in entries if entry.type.value == "BUY"} == {date(2026, 12, 9)}
    assert {entry.settles_on for entry in entries if entry.type.value == "DEPOSIT"} == {None}


async def test_each_trade_entry_says_what_was_traded_and_when_it_settles(service):
    dave = Caller("dave")
    await service.deposit(dave, D("1000.00"))
    await trade(service, "dave", "BUY", 10, "31.45", 1)
    lines = {entry.type.value: entry for entry in await service.transactions(dave, "dave")}
    bought = lines["BUY"]
    assert (bought.ticker, bought.quantity, bought.price, bought.amount) == ("PETR4", 10, D("31.45"), D("-314.50"))
    assert bought.settles_on == date(2026, 12, 8)
    assert (lines["RESERVE"].ticker, lines["RESERVE"].quantity, lines["RESERVE"].settles_on) == ("PETR4", None, None)
    assert (lines["DEPOSIT"].ticker, lines["DEPOSIT"].price) == (None, None)
