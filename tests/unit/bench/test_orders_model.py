"""The orders benchmark's pure parts: its plan, its money check to the centavo, its
nearest-rank percentiles and how it tells a refused SELL from an error."""
from __future__ import annotations

from decimal import Decimal as D

import pytest

from mybroker.fees import FeeSchedule
from bench.orders_model import (
    Ledger,
    Measurements,
    Step,
    is_refused_sell,
    limit_price,
    money_problems,
    order_plan,
    percentile,
    reflects,
    ticker_for,
)


def wallet(available: str, blocked: str = "0.00", **positions: int) -> dict:
    return {
        "available": available,
        "blocked": blocked,
        "positions": [{"asset": {"ticker": t}, "quantity": q, "blockedQuantity": 0} for t, q in positions.items()],
    }


def test_plan_is_the_cycle_cut_at_the_count():
    assert order_plan(2) == [Step.BUY_MARKET, Step.SELL_MARKET]
    plan = order_plan(7)
    assert plan[:5] == [Step.BUY_MARKET, Step.SELL_MARKET, Step.BUY_LIMIT_AWAY, Step.BUY_LIMIT, Step.SELL_LIMIT]
    assert plan[5:] == [Step.BUY_MARKET, Step.SELL_MARKET]
    assert order_plan(0) == []
    with pytest.raises(ValueError):
        order_plan(-1)
    # Every SELL follows a BUY, so there is something delivered to sell.
    assert all(plan[i - 1].side == "BUY" for i, step in enumerate(plan) if step.side == "SELL")
    assert [s for s in plan if s.rests] == [Step.BUY_LIMIT_AWAY]
    assert {ticker_for(n) for n in range(5)} == {"PETR4", "VALE3", "ITUB4", "BBDC4", "WEGE3"}


def test_limit_prices_cross_the_market_or_stay_away_from_it():
    assert limit_price(Step.BUY_MARKET, D("31.40")) is None
    assert limit_price(Step.BUY_LIMIT, D("31.40")) == D("32.35")  # 32.342 rounded up
    assert limit_price(Step.SELL_LIMIT, D("31.40")) == D("30.45")  # 30.458 rounded down
    assert limit_price(Step.BUY_LIMIT_AWAY, D("31.40")) == D("28.26")
    assert limit_price(Step.BUY_LIMIT_AWAY, D("0.01")) == D("0.01")


def test_money_matches_deposits_fills_and_fees_to_the_centavo():
    ledger = Ledger(schedule=FeeSchedule())  # B3's fees, as the platform charges by default
    ledger.deposit(D("10000.00"))
    ledger.add_executions("BUY", "PETR4", [{"quantity": 60, "price": "31.41"}, {"quantity": 40, "price": "31.42"}])
    ledger.add_executions("SELL", "PETR4", [{"quantity": 100, "price": "31.50"}])
    # 1884.60 + 1256.80 = 3141.40 bought in one order: 0.114975 -> 0.11 and 0.863885 -> 0.86;
    # 3150.00 sold: 0.11529 -> 0.12 and 0.86625 -> 0.87 (half-even, on each order's total).
    assert ledger.fees() == D("1.96")
    assert ledger.cash() == D("10006.64")
    assert ledger.positions() == {}
    assert money_problems(ledger, wallet("10006.64")) == []
    assert money_problems(ledger, wallet("10006.63"))  # one centavo off is wrong
    assert money_problems(ledger, wallet("10000.00", blocked="6.64"))  # left blocked
    assert money_problems(ledger, wallet("10006.64", PETR4=100))  # shares that should be gone


def test_money_without_fees_and_with_a_position_left():
    ledger = Ledger()
    ledger.deposit(D("5000.00"))
    ledger.add_executions("BUY", "VALE3", [{"quantity": 100, "price": "60.25"}])
    assert money_problems(ledger, wallet("5000.00", VALE3=100))  # the shares, but never paid for
    ledger.deposit(D("2000.00"))
    assert ledger.cash() == D("975.00")
    assert money_problems(ledger, wallet("975.00", VALE3=100)) == []
    assert money_problems(ledger, wallet("975.00", VALE3=99)) == ["VALE3: 99 shares, expected 100"]


def test_reflects_counts_available_plus_blocked_and_the_shares():
    # A new reservation moves cash from available to blocked: the fills are still shown.
    assert reflects(D("975.00"), {"VALE3": 100}, wallet("475.00", blocked="500.00", VALE3=100))
    assert not reflects(D("975.00"), {"VALE3": 100}, wallet("7000.00"))  # the fill not in yet


def test_nearest_rank_percentiles():
    assert percentile([], 99) is None
    assert percentile([5.0], 50) == 5.0
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50.0
    assert percentile(values, 99) == 99.0
    assert percentile(values, 100) == 100.0
    assert percentile([3.0, 1.0, 2.0], 50) == 2.0
    with pytest.raises(ValueError):
        percentile(values, 0)


def test_a_sell_refused_for_want_of_shares_is_not_an_error():
    refused = {"errors": [{"message": "You have 0 free PETR4 shares", "extensions": {"code": "INSUFFICIENT_POSITION"}}]}
    assert is_refused_sell("SELL", refused)
    assert not is_refused_sell("BUY", refused)
    assert not is_refused_sell("SELL", {"errors": [{"message": "boom", "extensions": {"code": "INTERNAL_SERVER_ERROR"}}]})
    assert not is_refused_sell("SELL", {"data": {"placeOrder": {"id": "1"}}})


def test_summary_has_the_issue_keys_in_milliseconds():
    m = Measurements(place_latencies=[0.010, 0.020, 0.030], fill_to_wallet=[0.005], placed=3, seen=3, refused_sells=1)
    m.error("HTTP 502")
    summary = m.summary(traders=2, seconds=1.5, money_ok=True)
    assert list(summary)[:10] == [
        "orders_per_s", "place_p50_ms", "place_p99_ms", "fill_to_wallet_p99_ms", "refused_sells", "errors",
        "money_ok", "traders", "orders", "seconds",
    ]
    assert summary["orders_per_s"] == 2.0 and summary["place_p50_ms"] == 20.0 and summary["place_p99_ms"] == 30.0
    assert summary["fill_to_wallet_p99_ms"] == 5.0 and summary["errors"] == 1 and summary["refused_sells"] == 1
