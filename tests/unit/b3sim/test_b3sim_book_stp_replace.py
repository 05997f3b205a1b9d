"""Self-trade prevention and replace on the book: case by case, then as properties."""
from __future__ import annotations

from dataclasses import replace as with_

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from b3sim.book import (
    SELF_TRADE_REASON,
    Accepted,
    Book,
    BookOrder,
    Cancelled,
    Expired,
    Filled,
    OrderType,
    Rejected,
    Replaced,
    SelfTrade,
    Side,
    TimeInForce,
)

BUY, SELL = Side.BUY, Side.SELL
LIMIT, MARKET = OrderType.LIMIT, OrderType.MARKET
DAY, GTC, IOC, FOK = TimeInForce.DAY, TimeInForce.GTC, TimeInForce.IOC, TimeInForce.FOK


def limit(order_id, side, qty, price, owner=None, tif=DAY) -> BookOrder:
    return BookOrder(order_id, side, LIMIT, tif, qty, price, owner=owner)


def fills(events) -> list[tuple[str, int, int]]:
    return [(e.order_id, e.quantity, e.price) for e in events if isinstance(e, Filled)]


def cancels(events) -> list[tuple[str, int, str]]:
    return [(e.order_id, e.cancelled, e.reason) for e in events if isinstance(e, Cancelled)]


# ---------------------------------------------------------------- self-trade prevention


def stp_book(mode: SelfTrade) -> Book:
    book = Book("PETR4", "x", self_trade=mode)
    book.submit(limit("other", SELL, 100, 3100, owner="b"))
    book.submit(limit("mine", SELL, 100, 3101, owner="a"))
    book.submit(limit("behind", SELL, 100, 3102, owner="b"))
    return book


def test_without_prevention_an_owner_trades_with_itself():
    book = stp_book(SelfTrade.NONE)
    events = book.submit(limit("buy", BUY, 300, 3102, owner="a"))
    assert fills(events)[::2] == [("buy", 100, 3100), ("buy", 100, 3101), ("buy", 100, 3102)]
    assert not cancels(events)


def test_cancel_aggressor_trades_up_to_the_own_order_then_cancels_the_incoming_rest():
    book = stp_book(SelfTrade.CANCEL_AGGRESSOR)
    events = book.submit(limit("buy", BUY, 300, 3102, owner="a"))
    assert fills(events) == [("buy", 100, 3100), ("other", 100, 3100)]
    assert cancels(events) == [("buy", 200, SELF_TRADE_REASON)]
    assert "buy" not in book and book.remaining("mine") == 100 and book.remaining("behind") == 100


def test_cancel_resting_cancels_the_own_order_and_goes_on_matching():
    book = stp_book(SelfTrade.CANCEL_RESTING)
    events = book.submit(limit("buy", BUY, 300, 3102, owner="a"))
    assert fills(events)[::2] == [("buy", 100, 3100), ("buy", 100, 3102)]
    assert cancels(events) == [("mine", 100, SELF_TRADE_REASON)]
    assert book.remaining("buy") == 100 and book.best_bid == 3102 and book.best_ask is None


def test_cancel_both_cancels_the_own_order_and_the_incoming_rest():
    book = stp_book(SelfTrade.CANCEL_BOTH)
    events = book.submit(limit("buy", BUY, 300, 3102, owner="a"))
    assert fills(events)[::2] == [("buy", 100, 3100)]
    assert cancels(events) == [("mine", 100, SELF_TRADE_REASON), ("buy", 200, SELF_TRADE_REASON)]
    assert "mine" not in book and "buy" not in book and book.queue(SELL, 3102) == ["behind"]


@pytest.mark.parametrize("mode", list(SelfTrade))
def test_orders_without_an_owner_or_of_other_owners_always_trade(mode):
    book = Book("PETR4", "x", self_trade=mode)
    book.submit(limit("s1", SELL, 100, 3100))
    book.submit(limit("s2", SELL, 100, 3100, owner="b"))
    assert fills(book.submit(limit("b1", BUY, 100, 3100)))[::2] == [("b1", 100, 3100)]
    assert fills(book.submit(limit("b2", BUY, 100, 3100, owner="a")))[::2] == [("b2", 100, 3100)]


def test_fok_does_not_count_own_liquidity():
    book = Book("PETR4", "x", self_trade=SelfTrade.CANCEL_RESTING)
    book.submit(limit("mine", SELL, 100, 3100, owner="a"))
    book.submit(limit("other", SELL, 100, 3101, owner="b"))
    killed = book.submit(limit("f1", BUY, 200, 3101, owner="a", tif=FOK))
    assert fills(killed) == [] and book.remaining("mine") == 100  # nothing happened
    filled = book.submit(limit("f2", BUY, 100, 3101, owner="a", tif=FOK))
    assert fills(filled)[::2] == [("f2", 100, 3101)]
    assert cancels(filled) == [("mine", 100, SELF_TRADE_REASON)]


def test_fok_that_would_meet_its_own_order_under_cancel_aggressor_is_killed_whole():
    book = Book("PETR4", "x", self_trade=SelfTrade.CANCEL_AGGRESSOR)
    book.submit(limit("other", SELL, 100, 3100, owner="b"))
    book.submit(limit("mine", SELL, 100, 3101, owner="a"))
    book.submit(limit("more", SELL, 100, 3102, owner="b"))
    events = book.submit(limit("f", BUY, 200, 3102, owner="a", tif=FOK))
    assert fills(events) == [] and len(book) == 3


def test_a_market_order_is_prevented_too():
    book = Book("PETR4", "x", self_trade=SelfTrade.CANCEL_AGGRESSOR)
    book.submit(limit("mine", BUY, 100, 3100, owner="a"))
    events = book.submit(BookOrder("m", SELL, MARKET, IOC, 100, owner="a"))
    assert events == [Accepted("m", 100), Cancelled("m", 100, 0, SELF_TRADE_REASON)]
    assert book.last_price is None


# ---------------------------------------------------------------- replace


def queue_book() -> Book:
    book = Book("PETR4", "x")
    for order_id in ("b1", "b2", "b3"):
        book.submit(limit(order_id, BUY, 300, 3100))
    return book


def test_lowering_the_quantity_keeps_priority():
    book = queue_book()
    assert book.replace("b1", quantity=200) == [Replaced("b1", 200, 3100, 200, 0, True)]
    assert book.queue(BUY, 3100) == ["b1", "b2", "b3"]
    assert fills(book.submit(limit("s", SELL, 200, 3100)))[1::2] == [("b1", 200, 3100)]


def test_raising_the_quantity_loses_priority():
    book = queue_book()
    assert book.replace("b1", quantity=400) == [Replaced("b1", 400, 3100, 400, 0, False)]
    assert book.queue(BUY, 3100) == ["b2", "b3", "b1"]


def test_a_new_price_loses_priority_and_moves_the_order():
    book = queue_book()
    book.submit(limit("b0", BUY, 100, 3099))
    book.replace("b2", price=3099)
    assert book.queue(BUY, 3100) == ["b1", "b3"] and book.queue(BUY, 3099) == ["b0", "b2"]
    book.replace("b0", price=3099)  # same price, same quantity: nothing moves
    assert book.queue(BUY, 3099) == ["b0", "b2"]


def test_replace_of_a_partly_filled_order_counts_the_filled_part():
    book = queue_book()
    book.submit(limit("s", SELL, 100, 3100))  # b1 has 200 left of 300
    assert book.replace("b1", quantity=250) == [Replaced("b1", 250, 3100, 150, 100, True)]
    assert book.remaining("b1") == 150
    assert cancels(book.replace("b1", quantity=100)) == [("b1", 150, "replaced down to its filled quantity")]
    assert "b1" not in book


def test_a_new_price_that_crosses_trades_at_once():
    book = Book("PETR4", "x")
    book.submit(limit("s1", SELL, 100, 3105))
    book.submit(limit("b1", BUY, 300, 3100))
    book.submit(limit("s2", SELL, 100, 3100))  # b1 is 100 filled
    events = book.replace("b1", price=3105)
    assert events[0] == Replaced("b1", 300, 3105, 200, 100, False)
    assert events[1] == Filled("b1", "x-2", BUY, 100, 3105, 100, 200, True)
    assert book.remaining("b1") == 100 and book.best_bid == 3105 and book.last_price == 3105


def test_replace_of_an_order_not_resting_does_nothing_and_bad_values_raise():
    book = queue_book()
    assert book.replace("nope", quantity=100) == []
    with pytest.raises(ValueError):
        book.replace("b1", quantity=0)
    with pytest.raises(ValueError):
        book.replace("b1", price=-1)


# ---------------------------------------------------------------- properties

PRICES = st.integers(min_value=98, max_value=102)
OWNERS = st.sampled_from(["a", "b", None])


@st.composite
def submits(draw):
    kind = draw(st.sampled_from(OrderType))
    return (
        "submit",
        draw(st.sampled_from(Side)),
        kind,
        draw(st.sampled_from(TimeInForce)),
        draw(st.integers(min_value=1, max_value=5)) * 100,
        draw(PRICES) if kind is OrderType.LIMIT else None,
        draw(st.none() | PRICES) if kind is OrderType.MARKET else None,
        draw(OWNERS),
    )


replaces = st.tuples(
    st.just("replace"),
    st.integers(min_value=0, max_value=20),
    st.none() | st.integers(min_value=1, max_value=6).map(lambda n: n * 100),
    st.none() | PRICES,
)
flows = st.lists(
    st.one_of(submits(), replaces, st.tuples(st.just("cancel"), st.integers(min_value=0, max_value=20))), min_size=4, max_size=40
)


def run(book: Book, ops) -> list[list]:
    """Plays a flow, checking after every step that each order's quantity is accounted for
    (filled + cancelled + resting) and that the book is not crossed; returns the events."""
    total: dict[str, int] = {}
    filled: dict[str, int] = {}
    closed: dict[str, int] = {}
    owners: dict[str, str | None] = {}
    history = []
    for step, op in enumerate(ops):
        if op[0] == "submit":
            _, side, kind, tif, qty, price, protection, owner = op
            order_id = f"o{step}"
            total[order_id], filled[order_id], closed[order_id], owners[order_id] = qty, 0, 0, owner
            events = book.submit(BookOrder(order_id, side, kind, tif, qty, price, protection, owner))
        elif op[0] == "replace":
            target = f"o{op[1] % step if step else 0}"  # mostly an earlier order
            position = None
            if target in book:
                price = book_price(book, target)
                if op[3] in (None, price) and (op[2] is None or op[2] <= total[target]):
                    queue = book.queue(BUY, price) if target in book.queue(BUY, price) else book.queue(SELL, price)
                    position = queue.index(target)
            was_resting = target in book
            events = book.replace(target, op[2], op[3])
            if was_resting and op[2] is not None and op[2] <= filled[target]:
                left = total[target] - filled[target] - closed[target]
                assert target not in book
                assert cancels(events) == [(target, left, "replaced down to its filled quantity")]
            replaced = [e for e in events if isinstance(e, Replaced)]
            if replaced:
                event = replaced[0]
                assert event.cumulative == filled[target] and event.leaves == event.quantity - filled[target]
                total[target] = event.quantity
                if target in book:
                    queue = book.queue(BUY, event.price) if target in book.queue(BUY, event.price) else book.queue(SELL, event.price)
                    # Priority: kept exactly when the price stayed and the quantity did not grow.
                    assert event.priority_kept == (position is not None)
                    if event.priority_kept:
                        assert queue.index(target) == position
                    else:
                        assert queue[-1] == target
        else:
            events = book.cancel(f"o{op[1] % step if step else 0}")
        for event in events:
            if isinstance(event, Filled):
                filled[event.order_id] += event.quantity
                assert event.cumulative == filled[event.order_id]
            elif isinstance(event, Cancelled):
                closed[event.order_id] += event.cancelled
            elif isinstance(event, Expired):
                closed[event.order_id] += event.expired
            elif isinstance(event, Rejected):
                closed[event.order_id] += total[event.order_id]
        pairs = [e for e in events if isinstance(e, Filled)]
        for aggressor, passive in zip(pairs[::2], pairs[1::2]):
            mine, theirs = owners[aggressor.order_id], owners[passive.order_id]
            if book.self_trade is not SelfTrade.NONE and mine is not None:
                assert mine != theirs, "a self-trade went through"
        for order_id in total:
            resting = book.remaining(order_id) or 0
            assert total[order_id] == filled[order_id] + closed[order_id] + resting
        if book.best_bid is not None and book.best_ask is not None:
            assert book.best_bid < book.best_ask
        history.append(events)
    return history


def book_price(book: Book, order_id: str) -> int:
    for side in (BUY, SELL):
        for price, _, _ in book.depth(side):
            if order_id in book.queue(side, price):
                return price
    raise AssertionError(f"{order_id} is not resting")


@settings(max_examples=300, deadline=None)
@given(flows, st.sampled_from(SelfTrade))
def test_every_quantity_is_accounted_for_and_no_self_trade_goes_through(ops, mode):
    run(Book("T", self_trade=mode), ops)


@settings(max_examples=150, deadline=None)
@given(flows)
def test_without_prevention_owners_change_nothing(ops):
    anonymous = [op[:-1] + (None,) if op[0] == "submit" else op for op in ops]
    assert run(Book("T"), ops) == run(Book("T", self_trade=SelfTrade.CANCEL_BOTH), anonymous)


def test_book_order_owner_defaults_to_none():
    order = limit("x", BUY, 100, 3100)
    assert order.owner is None and with_(order, owner="a").owner == "a"
