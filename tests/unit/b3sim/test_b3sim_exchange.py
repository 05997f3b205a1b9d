"""The exchange core: commands in, execution reports for broker orders out."""
from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal

import pytest

from b3sim.book import OrderType, Side, TimeInForce
from b3sim.exchange import CancelOrder, EndOfSession, Exchange, NewOrder, ReferencePrice
from b3sim.market_maker import MakerPolicy, ladder
from mybroker.catalog import load_catalog
from mybroker.money import from_ticks, to_ticks

AT = datetime(2026, 11, 24, 13, 0, tzinfo=timezone.utc)
POLICY = MakerPolicy(depth=3, half_spread_bps=5, step_bps=5, lots_per_level=10)
PETR4 = next(e for e in load_catalog() if e.ticker == "PETR4")


@pytest.fixture
def exchange() -> Exchange:
    exchange = Exchange(load_catalog(), POLICY, session="t")
    assert exchange.handle(ReferencePrice("PETR4", Decimal("31.40")), AT) == []  # the maker's own orders report nothing
    return exchange


def order(order_id, side=Side.BUY, kind=OrderType.MARKET, qty=100, limit=None, tif=TimeInForce.DAY, protection=None, ticker="PETR4"):
    return NewOrder(
        order_id, ticker, side, kind, tif, qty, Decimal(limit) if limit else None, Decimal(protection) if protection else None
    )


def kinds(reports):
    return [r.exec_type for r in reports]


def maker_prices(side):
    return [from_ticks(l.price) for l in ladder(to_ticks(Decimal("31.40")), PETR4.lot_size, POLICY) if l.side is side]


def test_a_market_buy_fills_against_the_maker_at_the_best_ask(exchange):
    reports = exchange.handle(order("b1", qty=100), AT)
    assert kinds(reports) == ["ACCEPTED", "FILL"]
    accepted, fill = reports
    assert (accepted.leaves_quantity, accepted.cumulative_quantity) == (100, 0)
    assert fill.price == maker_prices(Side.SELL)[0] > Decimal("31.40")
    assert (fill.quantity, fill.leaves_quantity, fill.cumulative_quantity, fill.time) == (100, 0, 100, AT)
    assert fill.execution_id and fill.reason is None


def test_a_large_market_order_walks_the_ladder_with_slippage(exchange):
    per_level = POLICY.lots_per_level * PETR4.lot_size
    reports = exchange.handle(order("b1", qty=per_level * 2 + 100), AT)
    fills = [r for r in reports if r.exec_type == "FILL"]
    assert [f.price for f in fills] == maker_prices(Side.SELL)
    assert [f.quantity for f in fills] == [per_level, per_level, 100]
    assert len({f.execution_id for f in fills}) == 3


def test_a_market_order_beyond_its_protection_is_cut_and_the_rest_cancelled(exchange):
    per_level = POLICY.lots_per_level * PETR4.lot_size
    best = maker_prices(Side.SELL)[0]
    reports = exchange.handle(order("b1", qty=per_level * 2, protection=f"{best}"), AT)
    assert kinds(reports) == ["ACCEPTED", "FILL", "CANCELLED"]
    assert reports[-1].cumulative_quantity == per_level and "protection" in reports[-1].reason


def test_a_far_limit_rests_and_a_cancel_cancels_it(exchange):
    assert kinds(exchange.handle(order("b1", kind=OrderType.LIMIT, limit="1.50", tif=TimeInForce.GTC), AT)) == ["ACCEPTED"]
    assert exchange.book("PETR4").best_bid == maker_prices(Side.BUY)[0] * 100  # the maker's bid is still best
    assert "b1" in exchange.book("PETR4")
    [cancelled] = exchange.handle(CancelOrder("b1", "PETR4"), AT)
    assert (cancelled.exec_type, cancelled.leaves_quantity, cancelled.cumulative_quantity) == ("CANCELLED", 0, 0)
    assert cancelled.reason and "b1" not in exchange.book("PETR4")
    [refused] = exchange.handle(CancelOrder("b1", "PETR4"), AT)  # nothing left to cancel: too late
    assert (refused.exec_type, refused.reject_code) == ("CANCEL_REJECTED", "TOO_LATE")
    [unknown] = exchange.handle(CancelOrder("never-seen", "PETR4"), AT)
    assert (unknown.exec_type, unknown.reject_code, unknown.leaves_quantity) == ("CANCEL_REJECTED", "UNKNOWN_ORDER", 0)


def test_an_ioc_remainder_is_cancelled(exchange):
    per_level = POLICY.lots_per_level * PETR4.lot_size
    best = maker_prices(Side.SELL)[0]
    reports = exchange.handle(order("b1", kind=OrderType.LIMIT, limit=f"{best}", qty=per_level + 500, tif=TimeInForce.IOC), AT)
    assert kinds(reports) == ["ACCEPTED", "FILL", "CANCELLED"]
    assert reports[1].quantity == per_level and reports[2].cumulative_quantity == per_level
    assert "b1" not in exchange.book("PETR4")


def test_broker_orders_trade_with_each_other_and_both_get_reports(exchange):
    exchange.handle(order("s1", side=Side.SELL, kind=OrderType.LIMIT, limit="31.41", qty=200), AT)
    reports = exchange.handle(order("b1", kind=OrderType.LIMIT, limit="31.41", qty=200), AT)
    fills = [r for r in reports if r.exec_type == "FILL"]
    assert {(f.order_id, f.quantity, f.price) for f in fills} == {("b1", 200, Decimal("31.41")), ("s1", 200, Decimal("31.41"))}
    assert fills[0].execution_id != fills[1].execution_id


def test_a_new_reference_price_requotes_and_fills_orders_the_market_moved_through(exchange):
    exchange.handle(order("s1", side=Side.SELL, kind=OrderType.LIMIT, limit="32.00", qty=100, tif=TimeInForce.GTC), AT)
    book = exchange.book("PETR4")
    maker_orders_before = len(book)
    reports = exchange.handle(ReferencePrice("PETR4", Decimal("32.50")), AT)
    # The maker's new bid ladder starts above 32.00, so it buys the broker's offer at 32.00.
    assert [(r.order_id, r.exec_type, r.price) for r in reports] == [("s1", "FILL", Decimal("32.00"))]
    assert len(book) == maker_orders_before - 1  # the old ladder is gone, the new one in place
    assert book.best_ask == to_ticks(Decimal("32.50")) + 2


@pytest.mark.parametrize(
    "command,reason",
    [
        (order("x", ticker="XXXX3"), "unknown ticker"),
        (order("x", qty=0), "quantity must be greater than zero"),
        (order("x", qty=150), "round lot"),
        (order("x", kind=OrderType.LIMIT, limit="31.405"), "tick"),
        (order("x", kind=OrderType.LIMIT), "positive limit price"),
        (order("x", limit="31.40"), "takes no limit price"),
        (order("x", ticker="VALE3"), "no reference price yet"),
        (order("mm:PETR4:1"), "reserved"),
    ],
)
def test_refusals_are_rejected_with_a_reason(exchange, command, reason):
    [report] = exchange.handle(command, AT)
    assert report.exec_type == "REJECTED" and reason in report.reason
    assert (report.leaves_quantity, report.cumulative_quantity, report.execution_id) == (0, 0, None)


def test_a_limit_order_needs_no_reference_price(exchange):
    assert kinds(exchange.handle(order("v1", kind=OrderType.LIMIT, limit="60.00", ticker="VALE3"), AT)) == ["ACCEPTED"]


def test_a_redelivered_order_is_not_traded_twice(exchange):
    first = exchange.handle(order("b1"), AT)
    assert kinds(first) == ["ACCEPTED", "FILL"]
    assert exchange.handle(order("b1"), AT) == []


def test_the_session_end_expires_day_orders_only(exchange):
    exchange.handle(order("day", kind=OrderType.LIMIT, limit="20.00"), AT)
    exchange.handle(order("gtc", kind=OrderType.LIMIT, limit="20.01", tif=TimeInForce.GTC), AT)
    reports = exchange.handle(EndOfSession(), AT)
    assert [(r.order_id, r.exec_type) for r in reports] == [("day", "EXPIRED")]
    assert "gtc" in exchange.book("PETR4")


def test_the_same_commands_give_the_same_reports():
    def run():
        exchange = Exchange(load_catalog(), POLICY, session="s")
        commands = [
            ReferencePrice("PETR4", Decimal("31.40")),
            order("a", qty=2000),
            order("b", side=Side.SELL, kind=OrderType.LIMIT, limit="31.30", qty=300),
            ReferencePrice("PETR4", Decimal("31.10")),
        ]
        return [exchange.handle(c, AT) for c in commands]

    assert run() == run()
