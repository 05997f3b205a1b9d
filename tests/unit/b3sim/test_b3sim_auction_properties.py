"""Properties of auctions and replace (Hypothesis): the uncross happens at one price that
b3sim.auction picks, respects price-time priority, conserves every share and leaves the
book uncrossed; self-trade prevention holds in the auction too; a replace that only lowers
the quantity keeps the order's place, anything else sends it to the back."""
from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from b3sim.auction import auction_price
from b3sim.book import Book, BookOrder, Cancelled, Filled, OrderType, SelfTrade, Side, TimeInForce

PRICES = st.integers(min_value=95, max_value=105)
OWNERS = st.sampled_from([None, "ana", "bia"])

auction_orders = st.lists(
    st.tuples(st.sampled_from(Side), st.integers(min_value=1, max_value=300), PRICES, OWNERS, st.booleans()),
    min_size=1,
    max_size=40,
)


def fill_auction(book: Book, orders) -> dict[str, BookOrder]:
    placed: dict[str, BookOrder] = {}
    for i, (side, qty, price, owner, _cancel_later) in enumerate(orders):
        order = BookOrder(f"o{i}", side, OrderType.LIMIT, TimeInForce.DAY, qty, price, owner=owner)
        book.add_to_auction(order)
        placed[order.order_id] = order
    for i, (*_rest, cancel_later) in enumerate(orders):  # some leave before the uncross
        if cancel_later and i % 3 == 0:
            book.cancel(f"o{i}")
            placed.pop(f"o{i}")
    return placed


@settings(max_examples=300, deadline=None)
@given(auction_orders, st.none() | PRICES)
def test_the_uncross_trades_at_one_price_in_priority_and_leaves_the_book_uncrossed(orders, reference):
    book = Book("T")
    placed = fill_auction(book, orders)
    expected = auction_price(
        [(p, q) for p, q, _n in book.depth(Side.BUY)], [(p, q) for p, q, _n in book.depth(Side.SELL)], reference
    )
    before = {order_id: book.remaining(order_id) for order_id in placed}
    events = book.uncross(reference)
    fills = [e for e in events if isinstance(e, Filled)]
    assert not any(isinstance(e, Cancelled) for e in events)  # no prevention: nobody is cancelled

    if expected is None:
        assert fills == []
    else:
        assert {f.price for f in fills} <= {expected.price}
        assert sum(f.quantity for f in fills if f.side is Side.BUY) == expected.volume
        for fill in fills:  # nobody trades beyond their limit
            limit = placed[fill.order_id].price
            assert limit >= fill.price if fill.side is Side.BUY else limit <= fill.price
    assert not book.crossed()

    traded: dict[str, int] = {}
    for fill in fills:
        traded[fill.order_id] = traded.get(fill.order_id, 0) + fill.quantity
    for order_id in placed:  # every share traded or still rests
        assert before[order_id] == traded.get(order_id, 0) + (book.remaining(order_id) or 0)
    # Price-time priority: an order that traded had everything better, or as good and
    # earlier, on its side fully filled first.
    sequence = list(placed)
    for order_id in traded:
        order = placed[order_id]
        for other_id in sequence:
            other = placed[other_id]
            if other_id == order_id or other.side is not order.side:
                continue
            better = other.price > order.price if order.side is Side.BUY else other.price < order.price
            earlier_same = other.price == order.price and sequence.index(other_id) < sequence.index(order_id)
            if better or earlier_same:
                assert book.remaining(other_id) is None, f"{other_id} should have traded before {order_id}"


@settings(max_examples=200, deadline=None)
@given(auction_orders, st.none() | PRICES, st.sampled_from([SelfTrade.CANCEL_AGGRESSOR, SelfTrade.CANCEL_RESTING, SelfTrade.CANCEL_BOTH]))
def test_with_prevention_no_owner_trades_with_itself_and_the_book_ends_uncrossed(orders, reference, mode):
    book = Book("T", self_trade=mode)
    placed = fill_auction(book, orders)
    before = {order_id: book.remaining(order_id) for order_id in placed}
    events = book.uncross(reference)
    fills = [e for e in events if isinstance(e, Filled)]
    for buy, sell in zip(fills[::2], fills[1::2]):
        assert buy.trade_id == sell.trade_id and buy.price == sell.price
        owner = placed[buy.order_id].owner
        assert owner is None or owner != placed[sell.order_id].owner
    assert not book.crossed()
    closed: dict[str, int] = {}
    for event in events:
        amount = event.quantity if isinstance(event, Filled) else event.cancelled
        closed[event.order_id] = closed.get(event.order_id, 0) + amount
    for order_id in placed:
        assert before[order_id] == closed.get(order_id, 0) + (book.remaining(order_id) or 0)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.integers(min_value=2, max_value=500), min_size=2, max_size=12),
    st.data(),
)
def test_replace_down_keeps_priority_and_anything_else_goes_to_the_back(quantities, data):
    book = Book("T")
    ids = [f"o{i}" for i in range(len(quantities))]
    for order_id, qty in zip(ids, quantities):
        book.submit(BookOrder(order_id, Side.BUY, OrderType.LIMIT, TimeInForce.DAY, qty, 100))
    target = data.draw(st.sampled_from(ids))
    current = book.remaining(target)
    lower = data.draw(st.integers(min_value=1, max_value=current - 1))
    book.replace(target, quantity=lower)
    assert book.queue(Side.BUY, 100) == ids and book.remaining(target) == lower

    higher = data.draw(st.integers(min_value=lower + 1, max_value=1000))
    book.replace(target, quantity=higher)
    assert book.queue(Side.BUY, 100) == [i for i in ids if i != target] + [target]
    assert book.remaining(target) == higher
