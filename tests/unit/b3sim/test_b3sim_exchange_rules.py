"""The exchange's rules: replace, self-trade prevention by account, the fractional
market, price bands and session phases with their auctions."""
from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal

import pytest

from b3sim.book import OrderType, SelfTrade, Side, TimeInForce
from b3sim.exchange import (
    CancelOrder,
    Exchange,
    NewOrder,
    ReferencePrice,
    ReplaceOrder,
    Rules,
    SessionPhase,
)
from b3sim.config import rules_from_settings
from b3sim.market_maker import MakerPolicy
from b3sim.session import Phase
from mybroker.catalog import load_catalog
from mybroker.settings import Settings

AT = datetime(2026, 11, 24, 13, 0, tzinfo=timezone.utc)
POLICY = MakerPolicy(depth=3, half_spread_bps=5, step_bps=5, lots_per_level=10)
NO_MAKER = MakerPolicy(depth=0)


def make(rules: Rules = Rules(), policy: MakerPolicy = NO_MAKER, reference: str | None = "31.40") -> Exchange:
    exchange = Exchange(load_catalog(), policy, session="t", rules=rules)
    if reference:
        exchange.handle(ReferencePrice("PETR4", Decimal(reference)), AT)
    return exchange


def limit(order_id, side, qty, price, ticker="PETR4", tif=TimeInForce.DAY, account=None):
    return NewOrder(order_id, ticker, side, OrderType.LIMIT, tif, qty, Decimal(price), None, account)


def market(order_id, side, qty, ticker="PETR4", protection=None):
    return NewOrder(order_id, ticker, side, OrderType.MARKET, TimeInForce.DAY, qty, None, Decimal(protection) if protection else None)


def kinds(reports):
    return [(r.order_id, r.exec_type) for r in reports]


# ---------------------------------------------------------------- replace


def test_replace_down_keeps_priority_and_reports_the_new_terms():
    exchange = make()
    exchange.handle(limit("a", Side.BUY, 300, "31.00"), AT)
    exchange.handle(limit("b", Side.BUY, 100, "31.00"), AT)
    [replaced] = exchange.handle(ReplaceOrder("a", "PETR4", quantity=200), AT)
    assert (replaced.exec_type, replaced.quantity, replaced.price) == ("REPLACED", 200, Decimal("31.00"))
    assert (replaced.leaves_quantity, replaced.cumulative_quantity, replaced.reason) == (200, 0, None)
    assert exchange.book("PETR4").queue(Side.BUY, 3100) == ["a", "b"]


def test_replace_to_a_new_price_loses_priority_and_can_trade_at_once():
    exchange = make()
    exchange.handle(limit("s", Side.SELL, 100, "31.50"), AT)
    exchange.handle(limit("a", Side.BUY, 200, "31.00"), AT)
    reports = exchange.handle(ReplaceOrder("a", "PETR4", limit_price=Decimal("31.50")), AT)
    assert kinds(reports) == [("a", "REPLACED"), ("a", "FILL"), ("s", "FILL")]
    assert reports[0].price == Decimal("31.50") and reports[1].price == Decimal("31.50")
    assert exchange.book("PETR4").remaining("a") == 100


@pytest.mark.parametrize(
    "replace, reason",
    [
        (ReplaceOrder("ghost", "PETR4", quantity=100), "unknown order"),
        (ReplaceOrder("a", "PETR4"), "new quantity or a new limit price"),
        (ReplaceOrder("a", "PETR4", quantity=150), "round lot"),
        (ReplaceOrder("a", "PETR4", quantity=0), "greater than zero"),
        (ReplaceOrder("a", "PETR4", limit_price=Decimal("31.005")), "tick"),
        (ReplaceOrder("a", "PETR4", limit_price=Decimal("-1")), "positive"),
        (ReplaceOrder("gone", "PETR4", quantity=100), "not resting"),
    ],
)
def test_a_replace_that_cannot_apply_is_rejected_and_changes_nothing(replace, reason):
    exchange = make()
    exchange.handle(limit("a", Side.BUY, 300, "31.00"), AT)
    exchange.handle(limit("gone", Side.BUY, 100, "31.00"), AT)
    exchange.handle(CancelOrder("gone", "PETR4"), AT)
    [report] = exchange.handle(replace, AT)
    assert report.exec_type == "REPLACE_REJECTED" and reason in report.reason
    # Not resting: the code says why; a rule refusing a resting order has none.
    assert report.reject_code == {"ghost": "UNKNOWN_ORDER", "gone": "TOO_LATE"}.get(replace.order_id)
    assert exchange.book("PETR4").remaining("a") == 300 and exchange.book("PETR4").queue(Side.BUY, 3100) == ["a"]


# ---------------------------------------------------------------- self-trade prevention


def test_an_accounts_own_orders_do_not_trade_with_each_other():
    exchange = make(Rules(self_trade=SelfTrade.CANCEL_AGGRESSOR))
    exchange.handle(limit("ana-sell", Side.SELL, 100, "31.40", account="ana"), AT)
    reports = exchange.handle(limit("ana-buy", Side.BUY, 100, "31.40", account="ana"), AT)
    assert kinds(reports) == [("ana-buy", "ACCEPTED"), ("ana-buy", "CANCELLED")]
    assert reports[-1].reason == "self-trade prevention"
    fills = exchange.handle(limit("bia-buy", Side.BUY, 100, "31.40", account="bia"), AT)
    assert kinds(fills) == [("bia-buy", "ACCEPTED"), ("bia-buy", "FILL"), ("ana-sell", "FILL")]


def test_rules_from_settings():
    rules = rules_from_settings(Settings.from_env(env={"MYBROKER_PRICE_BAND_PERCENT": "8", "MYBROKER_SELF_TRADE_PREVENTION": "cancel_both"}))
    assert (rules.price_band_percent, rules.self_trade, rules.phase) == (Decimal("8"), SelfTrade.CANCEL_BOTH, Phase.OPEN)
    defaults = rules_from_settings(Settings.from_env(env={}))
    assert (defaults.price_band_percent, defaults.self_trade) == (Decimal("0"), SelfTrade.CANCEL_AGGRESSOR)
    with pytest.raises(ValueError):
        rules_from_settings(Settings.from_env(env={"MYBROKER_SELF_TRADE_PREVENTION": "sometimes"}))


# ---------------------------------------------------------------- the fractional market


def test_each_round_lot_ticker_has_a_fractional_book_with_its_own_small_ladder():
    exchange = make(policy=POLICY)
    assert exchange.book("PETR4F") is not None and exchange.book("HGLG11F") is None  # FIIs trade in lots of 1
    assert exchange.reference("PETR4F") == exchange.reference("PETR4") == 3140
    ladder = exchange.book("PETR4F").depth(Side.SELL)
    assert [(qty, n) for _price, qty, n in ladder] == [(10, 1)] * 3  # lots_per_level shares, not lots of 100
    reports = exchange.handle(market("f1", Side.BUY, 7, ticker="PETR4F"), AT)
    assert kinds(reports) == [("f1", "ACCEPTED"), ("f1", "FILL")]
    assert (reports[1].quantity, reports[1].price, reports[1].ticker) == (7, Decimal("31.42"), "PETR4F")


@pytest.mark.parametrize(
    "order, reason",
    [
        (market("x", Side.BUY, 100, ticker="PETR4F"), "the fractional market PETR4F trades 1 to 99 shares; trade round lots on PETR4"),
        (market("x", Side.BUY, 150, ticker="PETR4F"), "trades 1 to 99 shares"),
        (market("x", Side.BUY, 150), "multiple of the round lot (100); trade fewer than 100 shares on PETR4F"),
        (market("x", Side.BUY, 7), "round lot"),
    ],
)
def test_off_lot_quantities_are_rejected_with_the_market_to_use(order, reason):
    [report] = make().handle(order, AT)
    assert report.exec_type == "REJECTED" and reason in report.reason


# ---------------------------------------------------------------- price bands


def test_a_limit_outside_the_band_is_rejected_naming_the_band():
    exchange = make(Rules(price_band_percent=Decimal("10")))
    [report] = exchange.handle(limit("far", Side.BUY, 100, "28.25"), AT)
    assert report.exec_type == "REJECTED"
    assert report.reason == "limit price 28.25 is outside the 10% price band around the reference 31.40 (28.26 to 34.54)"
    assert kinds(exchange.handle(limit("low-edge", Side.BUY, 100, "28.26"), AT)) == [("low-edge", "ACCEPTED")]
    assert kinds(exchange.handle(limit("high-edge", Side.SELL, 100, "34.54"), AT)) == [("high-edge", "ACCEPTED")]
    assert exchange.handle(limit("high", Side.SELL, 100, "34.55"), AT)[0].exec_type == "REJECTED"
    [replace] = exchange.handle(ReplaceOrder("low-edge", "PETR4", limit_price=Decimal("20.00")), AT)
    assert replace.exec_type == "REPLACE_REJECTED" and "10% price band" in replace.reason
    # MARKET orders are bounded by their protection instead; a ticker with no reference yet has no band.
    assert make(Rules(price_band_percent=Decimal("10")), reference=None).handle(limit("x", Side.BUY, 100, "1.00"), AT)[0].exec_type == "ACCEPTED"


# ---------------------------------------------------------------- session phases


def phase(exchange: Exchange, new: Phase):
    return exchange.handle(SessionPhase(new), AT)


def test_closed_rejects_new_orders_but_cancels_still_work():
    exchange = make(Rules(phase=Phase.CLOSED))
    [report] = exchange.handle(limit("x", Side.BUY, 100, "31.00"), AT)
    assert report.exec_type == "REJECTED" and "closed" in report.reason
    exchange = make()
    exchange.handle(limit("gtc", Side.BUY, 100, "31.00", tif=TimeInForce.GTC), AT)
    phase(exchange, Phase.CLOSED)
    assert kinds(exchange.handle(CancelOrder("gtc", "PETR4"), AT)) == [("gtc", "CANCELLED")]
    assert exchange.handle(ReplaceOrder("x", "PETR4", quantity=100), AT)[0].exec_type == "REPLACE_REJECTED"


def test_a_day_of_phases_auctions_at_the_open_and_the_close_and_expires_day_orders():
    exchange = make(Rules(phase=Phase.CLOSED), policy=POLICY)
    assert phase(exchange, Phase.PRE_OPENING) == []
    # In the pre-opening orders rest crossed (the maker's ladder too) and nothing trades.
    assert kinds(exchange.handle(limit("b1", Side.BUY, 200, "31.60"), AT)) == [("b1", "ACCEPTED")]
    assert kinds(exchange.handle(limit("s1", Side.SELL, 100, "31.20", account="x"), AT)) == [("s1", "ACCEPTED")]
    rejected = exchange.handle(market("m", Side.BUY, 100), AT)
    assert rejected[0].exec_type == "REJECTED" and "PRE_OPENING auction" in rejected[0].reason
    assert exchange.book("PETR4").crossed()
    exchange.handle(ReferencePrice("PETR4", Decimal("31.40")), AT)  # the maker re-quotes without trading
    assert exchange.book("PETR4").crossed()

    opening = phase(exchange, Phase.OPEN)
    fills = [r for r in opening if r.exec_type == "FILL"]
    assert {r.price for r in fills} and len({r.price for r in fills}) == 1
    assert sum(r.quantity for r in fills if r.order_id == "b1") == 200 and not exchange.book("PETR4").crossed()
    assert kinds(exchange.handle(market("m2", Side.BUY, 100), AT))[1] == ("m2", "FILL")  # continuous again

    exchange.handle(limit("day", Side.BUY, 100, "30.00"), AT)
    exchange.handle(limit("gtc", Side.BUY, 100, "30.01", tif=TimeInForce.GTC), AT)
    assert phase(exchange, Phase.CLOSING_CALL) == []
    exchange.handle(limit("late", Side.SELL, 100, "30.00"), AT)
    closing = phase(exchange, Phase.CLOSED)
    # 100 shares trade at every price from 30.00 to 31.38 (the maker's best bid); 31.38
    # leaves the fewest buyers over. Then the day closes: DAY orders expire, GTC stay.
    assert [(r.order_id, r.price) for r in closing if r.exec_type == "FILL"] == [("late", Decimal("31.38"))]
    assert kinds(closing)[-1] == ("day", "EXPIRED") and closing[-1].reason == "end of the trading session"
    assert "gtc" in exchange.book("PETR4") and "day" not in exchange.book("PETR4")


def test_a_phase_change_to_the_same_phase_does_nothing():
    exchange = make()
    assert phase(exchange, Phase.OPEN) == [] and exchange.phase is Phase.OPEN


def test_a_fractional_ticker_names_its_standard_tickers_shares():
    from mybroker.catalog import fractional_ticker, standard_ticker

    assert fractional_ticker("PETR4") == "PETR4F" and standard_ticker("PETR4F") == "PETR4"
    assert standard_ticker("PETR4") == "PETR4"
    assert standard_ticker("HGLG11F") == "HGLG11F"  # traded in lots of 1: no fractional market
    assert standard_ticker("XXXXF") == "XXXXF"
