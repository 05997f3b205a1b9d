"""Settlement as orders asks for it before storing each of B3's reports: each fill once,
releases on terminal statuses, repeats change nothing; replaces grow and shrink the block."""
from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import func, select

from mybroker.auth import Caller
from mybroker.errors import DomainError
from subgraphs.wallet.tables import settled_fills, wallet_transactions

from .conftest import order_event

D = Decimal
ANA = "user-ana"


async def snapshot(wallet, user_id=ANA):
    state = await wallet.service.wallet(Caller(user_id), user_id)
    positions = [(p.ticker, p.quantity, p.blocked_quantity, p.average_price) for p in await wallet.service.positions(Caller(user_id), user_id)]
    entries = [(e.type.value, e.amount) for e in await wallet.service.transactions(Caller(user_id), user_id, 500)]
    return state.available, state.blocked, positions, entries


async def count(db, table) -> int:
    async with db.read() as session:
        return (await session.execute(select(func.count()).select_from(table))).scalar_one()


async def test_a_buy_settles_fill_by_fill_at_the_executed_price(wallet):
    await wallet.deposit(ANA, "10000.00")
    await wallet.service.reserve("o1", ANA, "BUY", "PETR4", 300, D("32.00"))
    await wallet.publish(order_event("o1", ANA, "OPEN", quantity=300))
    assert (await snapshot(wallet))[:2] == (D("400.00"), D("9600.00"))

    await wallet.publish(order_event("o1", ANA, "PARTIALLY_FILLED", quantity=300, filled=100, fill=("x1", 100, "31.00")))
    available, blocked, positions, entries = await snapshot(wallet)
    assert (available, blocked) == (D("500.00"), D("6400.00"))
    assert positions == [("PETR4", 100, 0, D("31.00"))]
    assert entries[:2] == [("BUY", D("-3100.00")), ("RELEASE", D("3200.00"))]

    await wallet.publish(order_event("o1", ANA, "FILLED", quantity=300, filled=300, fill=("x2", 200, "32.00")))
    available, blocked, positions, entries = await snapshot(wallet)
    assert (available, blocked) == (D("500.00"), D("0.00"))
    assert positions == [("PETR4", 300, 0, D("31.666667"))]
    assert available == D("10000.00") - D("3100.00") - D("6400.00")
    assert [t for t, _ in entries] == ["BUY", "RELEASE", "BUY", "RELEASE", "RESERVE", "DEPOSIT"]


async def test_a_cancelled_buy_releases_what_it_still_holds(wallet):
    await wallet.deposit(ANA, "10000.00")
    await wallet.service.reserve("o1", ANA, "BUY", "PETR4", 300, D("32.00"))
    await wallet.publish(
        order_event("o1", ANA, "PARTIALLY_FILLED", quantity=300, filled=100, fill=("x1", 100, "31.50")),
        order_event("o1", ANA, "CANCELLED", quantity=300, filled=100),
    )
    available, blocked, positions, entries = await snapshot(wallet)
    assert (available, blocked) == (D("10000.00") - D("3150.00"), D("0.00"))
    assert positions == [("PETR4", 100, 0, D("31.50"))]
    assert entries[0] == ("RELEASE", D("6400.00"))


@pytest.mark.parametrize("status", ["REJECTED", "EXPIRED", "CANCELLED"])
async def test_an_order_that_ends_unfilled_gives_everything_back(wallet, status):
    await wallet.deposit(ANA, "1000.00")
    await wallet.service.reserve("o1", ANA, "BUY", "PETR4", 10, D("50.00"))
    await wallet.publish(order_event("o1", ANA, status, quantity=10))
    available, blocked, positions, entries = await snapshot(wallet)
    assert (available, blocked, positions) == (D("1000.00"), D("0.00"), [])
    assert entries == [("RELEASE", D("500.00")), ("RESERVE", D("-500.00")), ("DEPOSIT", D("1000.00"))]


async def test_a_sell_delivers_blocked_shares_and_credits_the_sale(wallet):
    await wallet.own_shares(ANA, 300, "30.00")
    await wallet.service.reserve("s1", ANA, "SELL", "PETR4", 200, None)
    assert (await snapshot(wallet))[2] == [("PETR4", 300, 200, D("30.00"))]
    await wallet.publish(order_event("s1", ANA, "PARTIALLY_FILLED", side="SELL", quantity=200, filled=100, fill=("y1", 100, "35.00")))
    available, _, positions, entries = await snapshot(wallet)
    assert (available, positions, entries[0]) == (D("3500.00"), [("PETR4", 200, 100, D("30.00"))], ("SELL", D("3500.00")))
    await wallet.publish(order_event("s1", ANA, "EXPIRED", side="SELL", quantity=200, filled=100))
    assert (await snapshot(wallet))[:3] == (D("3500.00"), D("0.00"), [("PETR4", 200, 0, D("30.00"))])


async def test_selling_everything_closes_the_position(wallet):
    await wallet.own_shares(ANA, 100, "30.00")
    await wallet.service.reserve("s1", ANA, "SELL", "PETR4", 100, None)
    await wallet.publish(order_event("s1", ANA, "FILLED", side="SELL", filled=100, fill=("y1", 100, "29.00")))
    available, blocked, positions, _ = await snapshot(wallet)
    assert (available, blocked, positions) == (D("2900.00"), D("0.00"), [])


async def test_the_same_report_twice_changes_nothing(wallet):
    await wallet.deposit(ANA, "10000.00")
    await wallet.service.reserve("o1", ANA, "BUY", "PETR4", 300, D("32.00"))
    fill = order_event("o1", ANA, "PARTIALLY_FILLED", quantity=300, filled=100, fill=("x1", 100, "31.00"))
    await wallet.publish(fill)
    before = await snapshot(wallet)
    await wallet.publish(fill)  # repeated: orders crashed after the wallet settled
    assert await snapshot(wallet) == before
    cancelled = order_event("o1", ANA, "CANCELLED", quantity=300, filled=100)
    await wallet.publish(cancelled)
    after_cancel = await snapshot(wallet)
    await wallet.publish(cancelled)
    assert await snapshot(wallet) == after_cancel
    assert not wallet.refused


async def test_the_same_execution_twice_settles_once(wallet):
    await wallet.deposit(ANA, "10000.00")
    await wallet.service.reserve("o1", ANA, "BUY", "PETR4", 300, D("32.00"))
    await wallet.publish(order_event("o1", ANA, "PARTIALLY_FILLED", quantity=300, filled=100, fill=("x1", 100, "31.00")))
    before = await snapshot(wallet)
    # Another report that repeats execution x1.
    await wallet.publish(order_event("o1", ANA, "PARTIALLY_FILLED", quantity=300, filled=100, fill=("x1", 100, "31.00")))
    assert await snapshot(wallet) == before
    assert await count(wallet.db, settled_fills) == 1
    # ...but the status it carries still counts: a terminal repeat releases the rest.
    await wallet.publish(order_event("o1", ANA, "CANCELLED", quantity=300, filled=100, fill=("x1", 100, "31.00")))
    available, blocked, positions, _ = await snapshot(wallet)
    assert (available, blocked, positions) == (D("6900.00"), D("0.00"), [("PETR4", 100, 0, D("31.00"))])


async def test_events_for_orders_without_a_reservation_are_ignored(wallet):
    await wallet.deposit(ANA, "100.00")
    before = await snapshot(wallet)
    await wallet.publish(order_event("unknown", ANA, "FILLED", fill=("z1", 100, "10.00")))
    assert await snapshot(wallet) == before
    assert await count(wallet.db, settled_fills) == 0


async def test_an_impossible_fill_changes_nothing_and_is_refused(wallet):
    await wallet.deposit(ANA, "1000.00")
    await wallet.service.reserve("o1", ANA, "BUY", "PETR4", 10, D("50.00"))
    before = await snapshot(wallet)
    await wallet.publish(order_event("o1", ANA, "FILLED", quantity=10, filled=11, fill=("x1", 11, "50.00")))
    assert await snapshot(wallet) == before
    assert await count(wallet.db, settled_fills) == 0
    assert len(wallet.refused) == 1


async def test_settlement_ledger_balances_against_deposits(wallet):
    await wallet.deposit(ANA, "20000.00")
    await wallet.service.reserve("b1", ANA, "BUY", "PETR4", 500, D("30.00"))
    await wallet.publish(
        order_event("b1", ANA, "PARTIALLY_FILLED", quantity=500, filled=200, fill=("e1", 200, "29.50")),
        order_event("b1", ANA, "PARTIALLY_FILLED", quantity=500, filled=300, fill=("e2", 100, "29.90")),
        order_event("b1", ANA, "CANCELLED", quantity=500, filled=300),
    )
    await wallet.service.reserve("s1", ANA, "SELL", "PETR4", 300, None)
    await wallet.publish(order_event("s1", ANA, "FILLED", side="SELL", quantity=300, filled=300, fill=("e3", 300, "31.00")))
    available, blocked, positions, entries = await snapshot(wallet)
    assert sum(amount for _, amount in entries) == available
    assert available == D("20000.00") - D("5900.00") - D("2990.00") + D("9300.00")
    assert (blocked, positions) == (D("0.00"), [])
    assert await count(wallet.db, wallet_transactions) == len(entries)


async def test_fees_from_settings_become_fee_entries(wallet):
    from mybroker.settings import Settings

    wallet.service.fees = Settings().fee_schedule()  # the product's default: fees on
    await wallet.deposit(ANA, "3001.00")
    reservation = await wallet.service.reserve("o1", ANA, "BUY", "PETR4", 100, D("30.00"))
    assert reservation.amount == D("3000.93")
    await wallet.publish(order_event("o1", ANA, "PARTIALLY_FILLED", filled=40, fill=("x1", 40, "30.00")))
    await wallet.publish(order_event("o1", ANA, "FILLED", filled=100, fill=("x2", 60, "30.00")))
    available, blocked, positions, entries = await snapshot(wallet)
    # 1200.00 then 3000.00 in all: emolumentos 0.04 then 0.11 - 0.04; liquidação 0.33 then 0.82 - 0.33.
    fees = [amount for kind, amount in entries if kind == "FEE"]
    assert sorted(fees) == sorted([D("-0.04"), D("-0.33"), D("-0.07"), D("-0.49")])
    assert (available, blocked) == (D("0.07"), D("0.00"))
    assert positions == [("PETR4", 100, 0, D("30.0093"))]


async def test_a_smaller_buy_replace_frees_the_excess_at_once(wallet):
    await wallet.deposit(ANA, "20000.00")
    await wallet.service.reserve("b1", ANA, "BUY", "PETR4", 500, D("25.00"))
    await wallet.service.set_terms("b1", 300, D("24.00"))
    available, blocked, _, _ = await snapshot(wallet)
    assert (available, blocked) == (D("12800.00"), D("7200.00"))


async def test_a_larger_buy_replace_blocks_more_or_is_refused_unchanged(wallet):
    await wallet.deposit(ANA, "10000.00")
    await wallet.service.reserve("b1", ANA, "BUY", "PETR4", 100, D("30.00"))
    await wallet.service.set_terms("b1", 200, D("31.00"))
    assert (await snapshot(wallet))[:2] == (D("3800.00"), D("6200.00"))
    before = await snapshot(wallet)
    with pytest.raises(DomainError) as refused:
        await wallet.service.set_terms("b1", 400, D("31.00"))
    assert refused.value.code.value == "INSUFFICIENT_FUNDS"
    assert await snapshot(wallet) == before


async def test_a_partly_filled_buy_replace_counts_only_the_open_shares(wallet):
    await wallet.deposit(ANA, "10000.00")
    await wallet.service.reserve("b1", ANA, "BUY", "PETR4", 300, D("30.00"))
    await wallet.publish(order_event("b1", ANA, "PARTIALLY_FILLED", fill=("x1", 100, "30.00")))
    await wallet.service.set_terms("b1", 200, D("29.00"))  # 100 filled, 100 still open
    available, blocked, positions, _ = await snapshot(wallet)
    assert (available, blocked) == (D("10000.00") - D("3000.00") - D("2900.00"), D("2900.00"))
    assert positions == [("PETR4", 100, 0, D("30.00"))]


async def test_a_smaller_sell_replace_frees_shares_that_can_be_sold(wallet):
    await wallet.own_shares(ANA, 200, "30.00")
    await wallet.service.reserve("s1", ANA, "SELL", "PETR4", 200, None)
    await wallet.service.set_terms("s1", 100, None)
    assert (await snapshot(wallet))[2] == [("PETR4", 200, 100, D("30.00"))]
    await wallet.service.reserve("s2", ANA, "SELL", "PETR4", 100, None)  # the freed 100
    with pytest.raises(DomainError) as refused:
        await wallet.service.set_terms("s1", 150, None)
    assert refused.value.code.value == "INSUFFICIENT_POSITION"
    assert (await snapshot(wallet))[2] == [("PETR4", 200, 200, D("30.00"))]
