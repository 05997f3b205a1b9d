"""The order book, case by case: priority, prices, partial fills, time in force, cancel."""
from __future__ import annotations

import pytest

from b3sim.book import (
    Accepted,
    Book,
    BookOrder,
    Cancelled,
    Expired,
    Filled,
    OrderType,
    Rejected,
    Side,
    TimeInForce,
)

BUY, SELL = Side.BUY, Side.SELL
LIMIT, MARKET = OrderType.LIMIT, OrderType.MARKET
DAY, GTC, IOC, FOK = TimeInForce.DAY, TimeInForce.GTC, TimeInForce.IOC, TimeInForce.FOK


def limit(order_id, side, qty, price, tif=DAY) -> BookOrder:
    return BookOrder(order_id, side, LIMIT, tif, qty, price)


def market(order_id, side, qty, protection=None, tif=DAY) -> BookOrder:
    return BookOrder(order_id, side, MARKET, tif, qty, None, protection)


def fills(events) -> list[tuple[str, int, int]]:
    return [(e.order_id, e.quantity, e.price) for e in events if isinstance(e, Filled)]


def test_a_limit_order_that_does_not_cross_rests():
    book = Book("PETR4")
    assert book.submit(limit("b1", BUY, 100, 3100)) == [Accepted("b1", 100)]
    assert book.submit(limit("s1", SELL, 200, 3105)) == [Accepted("s1", 200)]
    assert (book.best_bid, book.best_ask) == (3100, 3105)
    assert book.depth(BUY) == [(3100, 100, 1)] and book.depth(SELL) == [(3105, 200, 1)]
    assert "b1" in book and len(book) == 2


def test_a_crossing_order_trades_at_the_resting_price_and_both_sides_are_reported():
    book = Book("PETR4", "PETR4-x")
    book.submit(limit("s1", SELL, 100, 3105))
    events = book.submit(limit("b1", BUY, 100, 3110))
    assert events == [
        Accepted("b1", 100),
        Filled("b1", "PETR4-x-1", BUY, 100, 3105, 0, 100, True),
        Filled("s1", "PETR4-x-1", SELL, 100, 3105, 0, 100, False),
    ]
    assert len(book) == 0 and book.best_ask is None and book.last_price == 3105


def test_better_prices_trade_first_then_earlier_arrivals():
    book = Book("PETR4")
    book.submit(limit("s-late-cheap", SELL, 100, 3101))
    book.submit(limit("s-first", SELL, 100, 3102))
    book.submit(limit("s-second", SELL, 100, 3102))
    book.submit(limit("s-best", SELL, 100, 3100))
    events = book.submit(limit("b", BUY, 350, 3102))
    assert fills(events) == [
        ("b", 100, 3100), ("s-best", 100, 3100),
        ("b", 100, 3101), ("s-late-cheap", 100, 3101),
        ("b", 100, 3102), ("s-first", 100, 3102),
        ("b", 50, 3102), ("s-second", 50, 3102),
    ]  # fmt: skip
    assert book.queue(SELL, 3102) == ["s-second"] and book.remaining("s-second") == 50


def test_a_partially_filled_limit_rests_with_its_remainder():
    book = Book("PETR4")
    book.submit(limit("s1", SELL, 100, 3105))
    events = book.submit(limit("b1", BUY, 300, 3105))
    assert fills(events)[0] == ("b1", 100, 3105) and events[1].leaves == 200 and events[1].cumulative == 100
    assert book.remaining("b1") == 200 and book.best_bid == 3105 and book.best_ask is None


def test_a_limit_never_trades_beyond_its_price():
    book = Book("PETR4")
    book.submit(limit("s1", SELL, 100, 3106))
    assert fills(book.submit(limit("b1", BUY, 100, 3105))) == []
    assert (book.best_bid, book.best_ask) == (3105, 3106)


def test_a_market_order_walks_the_book_and_cancels_what_it_cannot_fill():
    book = Book("PETR4")
    book.submit(limit("s1", SELL, 100, 3105))
    book.submit(limit("s2", SELL, 100, 3110))
    events = book.submit(market("m", BUY, 300))
    assert fills(events) == [("m", 100, 3105), ("s1", 100, 3105), ("m", 100, 3110), ("s2", 100, 3110)]
    assert isinstance(events[-1], Cancelled) and (events[-1].cancelled, events[-1].cumulative) == (100, 200)
    assert "m" not in book


def test_a_market_order_stops_at_its_protection_price():
    book = Book("PETR4")
    book.submit(limit("s1", SELL, 100, 3105))
    book.submit(limit("s2", SELL, 100, 3110))
    events = book.submit(market("m", BUY, 200, protection=3108))
    assert fills(events) == [("m", 100, 3105), ("s1", 100, 3105)]
    assert events[-1] == Cancelled("m", 100, 100, "MARKET: no more liquidity within the protection price")
    assert book.best_ask == 3110
    sell = book.submit(market("ms", SELL, 100, protection=3000))  # no bids at all
    assert sell == [Accepted("ms", 100), Cancelled("ms", 100, 0, "MARKET: no more liquidity within the protection price")]


def test_ioc_fills_what_it_can_and_never_rests():
    book = Book("PETR4")
    book.submit(limit("s1", SELL, 100, 3105))
    events = book.submit(limit("i", BUY, 300, 3105, IOC))
    assert fills(events) == [("i", 100, 3105), ("s1", 100, 3105)]
    assert isinstance(events[-1], Cancelled) and events[-1].cancelled == 200
    assert "i" not in book and book.best_bid is None


def test_fok_fills_everything_across_levels_or_nothing_at_all():
    book = Book("PETR4")
    book.submit(limit("s1", SELL, 100, 3105))
    book.submit(limit("s2", SELL, 100, 3106))
    killed = book.submit(limit("f1", BUY, 300, 3106, FOK))
    assert killed == [Accepted("f1", 300), Cancelled("f1", 300, 0, "FOK: the book cannot fill the whole quantity now")]
    assert book.depth(SELL) == [(3105, 100, 1), (3106, 100, 1)]
    limited = book.submit(limit("f2", BUY, 200, 3105, FOK))  # enough shares, but not at this price
    assert fills(limited) == [] and book.depth(SELL) == [(3105, 100, 1), (3106, 100, 1)]
    filled = book.submit(limit("f3", BUY, 200, 3106, FOK))
    assert sum(q for o, q, _p in fills(filled) if o == "f3") == 200 and len(book) == 0


def test_cancel_removes_a_resting_order_and_ignores_the_rest():
    book = Book("PETR4")
    book.submit(limit("b1", BUY, 100, 3100))
    book.submit(limit("b2", BUY, 100, 3100))
    book.submit(limit("s1", SELL, 40, 3100))  # b1 now has 60 left
    assert book.cancel("b1") == [Cancelled("b1", 60, 40, "cancelled on request")]
    assert "b1" not in book and book.queue(BUY, 3100) == ["b2"]
    assert book.cancel("b1") == [] and book.cancel("never") == []
    book.cancel("b2")
    assert book.best_bid is None and book.depth(BUY) == []


@pytest.mark.parametrize(
    "order,reason",
    [
        (limit("x", BUY, 0, 3100), "quantity must be greater than zero"),
        (BookOrder("x", BUY, LIMIT, DAY, 100, None), "a limit order needs a positive limit price"),
        (limit("x", BUY, 100, 0), "a limit order needs a positive limit price"),
        (BookOrder("x", BUY, MARKET, DAY, 100, 3100), "a market order takes no limit price"),
        (market("x", BUY, 100, protection=-1), "the protection price must be positive"),
        (limit("dup", SELL, 100, 3200), "an order with this id is already in the book"),
    ],
)
def test_invalid_orders_are_rejected_with_a_reason(order, reason):
    book = Book("PETR4")
    book.submit(limit("dup", BUY, 100, 3000))
    assert book.submit(order) == [Rejected("x" if order.order_id == "x" else "dup", reason)]
    assert len(book) == 1


def test_the_session_end_expires_day_orders_and_keeps_gtc():
    book = Book("PETR4")
    book.submit(limit("day", BUY, 100, 3000, DAY))
    book.submit(limit("gtc", BUY, 100, 3001, GTC))
    book.submit(limit("day2", SELL, 100, 3200, DAY))
    events = book.expire()
    assert {e.order_id for e in events} == {"day", "day2"} and all(isinstance(e, Expired) for e in events)
    assert list(book.depth(BUY)) == [(3001, 100, 1)] and book.depth(SELL) == []
