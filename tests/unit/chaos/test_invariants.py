"""The chaos test's invariants (tests/chaos/invariants.py) on small hand-made snapshots:
a consistent one passes, and each kind of damage lands in its class."""
from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

from mybroker.fees import B3FeeTable, FeeSchedule
from tests.chaos.invariants import (
    BrokerOrder,
    ExchangeFill,
    LedgerEntry,
    Reservation,
    Snapshot,
    Trader,
    WalletView,
    check,
)

D = Decimal
# 0.03% of each order's value as one fee, so the figures below are easy to check by hand.
FEES = FeeSchedule(B3FeeTable("test", date.min, "test", D("0.0003"), D("0"), D("0.0003"), D("0")))


def consistent() -> Snapshot:
    """Ana deposits 10,000, buys 100 PETR4 at 30.00 (fee 0.90), sells 100 at 31.00 (fee
    0.93) with a SELL LIMIT, and rests a BUY LIMIT 100 @ 20.00 (blocks 2,000.60)."""
    buy = BrokerOrder("b1", "ana", "PETR4", "BUY", "MARKET", 100, None, "FILLED", None, 100, ("x1",))
    sell = BrokerOrder("s1", "ana", "PETR4", "SELL", "LIMIT", 100, D("31.00"), "FILLED", None, 100, ("x2",))
    rest = BrokerOrder("r1", "ana", "VALE3", "BUY", "LIMIT", 100, D("20.00"), "OPEN", None, 0, ())
    fills = [ExchangeFill("x1", "b1", "BUY", 100, D("30.00")), ExchangeFill("x2", "s1", "SELL", 100, D("31.00"))]
    ledger = [
        LedgerEntry("ana", "DEPOSIT", D("10000.00")),
        LedgerEntry("ana", "RESERVE", D("-3150.95"), "b1"),
        LedgerEntry("ana", "RELEASE", D("3150.95"), "b1"),
        LedgerEntry("ana", "BUY", D("-3000.00"), "b1"),
        LedgerEntry("ana", "FEE", D("-0.90"), "b1"),
        LedgerEntry("ana", "SELL", D("3100.00"), "s1"),
        LedgerEntry("ana", "FEE", D("-0.93"), "s1"),
        LedgerEntry("ana", "RESERVE", D("-2000.60"), "r1"),
    ]
    available = sum((e.amount for e in ledger), D("0"))
    return Snapshot(
        traders=[Trader("ana", deposits=[D("10000.00")], acknowledged={"b1", "s1", "r1"})],
        orders=[buy, sell, rest],
        exchange_fills=fills,
        exchange_orders={"b1", "s1", "r1"},
        resting={"r1": 100},
        reservations=[
            Reservation("b1", "ana", "BUY", "PETR4", 0, D("0"), False),
            Reservation("s1", "ana", "SELL", "PETR4", 0, D("0"), False),
            Reservation("r1", "ana", "BUY", "VALE3", 100, D("2000.60"), True),
        ],
        ledger=ledger,
        settled_fills=[("x1", "b1"), ("x2", "s1")],
        wallets=[WalletView("ana", available, D("2000.60"), {})],
        fees=FEES,
    )


def kinds(snapshot: Snapshot) -> dict[str, int]:
    report = check(snapshot)
    return {kind: report.count(kind) for kind in report.findings if report.count(kind)}


def test_a_consistent_snapshot_passes_and_prints_zeros():
    report = check(consistent())
    assert report.ok, report.details()
    assert report.line(faults=5) == "chaos: orders=3 fills=2 faults=5 lost=0 stuck=0 duplicated=0 money=0"


def test_a_fill_booked_twice_in_the_ledger_is_duplicated():
    snap = consistent()
    snap.ledger.append(LedgerEntry("ana", "BUY", D("-3000.00"), "b1"))
    snap.wallets[0] = replace(snap.wallets[0], available=snap.wallets[0].available - D("3000.00"))
    found = kinds(snap)
    assert found["duplicated"] == 1 and found["money"] == 1  # and the cash no longer adds up


def test_an_execution_applied_twice_or_never_produced_is_duplicated():
    snap = consistent()
    snap.orders[0] = replace(snap.orders[0], execution_ids=("x1", "x1", "x9"), filled_quantity=100)
    assert kinds(snap) == {"duplicated": 2}


def test_a_fill_the_broker_never_applied_is_lost():
    snap = consistent()
    snap.orders[0] = replace(snap.orders[0], execution_ids=(), filled_quantity=0)
    assert kinds(snap) == {"lost": 2}  # the execution, and the filled quantity


def test_an_acknowledged_order_the_broker_does_not_have_is_lost():
    snap = consistent()
    snap.traders[0].acknowledged.add("ghost")
    snap.exchange_orders.add("ghost2")
    assert kinds(snap) == {"lost": 2}


def test_a_terminal_order_still_resting_at_the_exchange_is_lost():
    snap = consistent()
    snap.resting = {**snap.resting, "b1": 100}
    assert kinds(snap)["lost"] == 1


def test_pending_orders_and_unanswered_cancels_are_stuck():
    snap = consistent()
    snap.orders[2] = replace(snap.orders[2], pending="CANCEL")
    snap.orders.append(BrokerOrder("p1", "ana", "PETR4", "BUY", "MARKET", 100, None, "PENDING", None, 0, ()))
    snap.exchange_orders.add("p1")
    found = kinds(snap)
    assert found["stuck"] == 2


def test_an_open_order_the_exchange_does_not_hold_is_stuck():
    snap = consistent()
    snap.resting = {}
    assert kinds(snap) == {"stuck": 1}


def test_money_held_for_an_ended_order_is_stuck():
    snap = consistent()
    snap.reservations[0] = replace(snap.reservations[0], is_open=True, blocked_amount=D("10.00"))
    snap.wallets[0] = replace(snap.wallets[0], available=snap.wallets[0].available, blocked=D("2010.60"))
    found = kinds(snap)
    assert found["stuck"] == 1 and found["money"] >= 1


def test_cash_and_positions_follow_from_the_fills():
    snap = consistent()
    snap.wallets[0] = replace(snap.wallets[0], available=snap.wallets[0].available + D("0.01"), positions={"PETR4": (100, 0)})
    assert kinds(snap) == {"money": 3}  # total cash, the ledger sum, the position


def test_a_trading_days_end_lines_are_cash_the_wallet_moved():
    """A run that spans 18:00 in Brasília sees the day's end: the final costs' adjustment
    and the IRRF withheld are in the ledger and in the cash, and the money holds."""
    snap = consistent()
    day_end = [LedgerEntry("ana", "FEE_ADJUSTMENT", D("0.46")), LedgerEntry("ana", "IRRF", D("-0.99"))]
    snap.ledger.extend(day_end)
    snap.wallets[0] = replace(snap.wallets[0], available=snap.wallets[0].available + D("0.46") - D("0.99"))
    assert check(snap).ok, check(snap).details()
    # Cash the ledger does not explain is still a finding.
    snap.wallets[0] = replace(snap.wallets[0], available=snap.wallets[0].available + D("0.01"))
    assert kinds(snap) == {"money": 2}  # total cash, the ledger sum
