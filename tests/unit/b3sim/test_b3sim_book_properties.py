"""The book's invariants under random order flow (Hypothesis), checked against a shadow
ledger of every order built from the book's own events."""
from __future__ import annotations

from dataclasses import dataclass

from hypothesis import given, settings
from hypothesis import strategies as st

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

PRICES = st.integers(min_value=95, max_value=105)


@st.composite
def new_orders(draw):
    kind = draw(st.sampled_from(OrderType))
    price = draw(PRICES) if kind is OrderType.LIMIT else None
    protection = draw(st.none() | PRICES) if kind is OrderType.MARKET else None
    return (
        "submit",
        draw(st.sampled_from(Side)),
        kind,
        draw(st.sampled_from(TimeInForce)),
        draw(st.integers(min_value=1, max_value=400)),
        price,
        protection,
    )


operations = st.lists(
    st.one_of(new_orders(), st.tuples(st.just("cancel"), st.integers(min_value=0, max_value=80)), st.just(("expire",))),
    max_size=80,
)


@dataclass
class Shadow:
    order: BookOrder
    seq: int
    filled: int = 0
    closed: int = 0  # cancelled or expired
    rejected: bool = False

    @property
    def open(self) -> int:
        return self.order.quantity - self.filled - self.closed


def better_or_equal(side: Side, a: int, b: int) -> bool:
    """Is resting price a at least as good as b for someone resting on `side`'s opposite?"""
    return a >= b if side is Side.BUY else a <= b


def check_fill_pair(book_orders: dict[str, Shadow], aggressor: Filled, passive: Filled) -> None:
    assert aggressor.aggressor and not passive.aggressor
    assert aggressor.trade_id == passive.trade_id and aggressor.quantity == passive.quantity > 0
    assert aggressor.price == passive.price and aggressor.side is not passive.side
    incoming, resting = book_orders[aggressor.order_id].order, book_orders[passive.order_id]
    # A trade executes at the resting order's price, within the aggressor's bound.
    assert passive.price == resting.order.price
    bound = incoming.price if incoming.type is OrderType.LIMIT else incoming.protection
    if bound is not None:
        assert passive.price <= bound if incoming.side is Side.BUY else passive.price >= bound
    # Price-time priority: nothing better, or as good but earlier, was still waiting.
    for other in book_orders.values():
        if other is resting or other.order.side is not resting.order.side or other.open <= 0 or other.seq > resting.seq:
            continue
        if other.order.order_id == aggressor.order_id or other.order.price is None:
            continue
        if other.order.price == resting.order.price:
            raise AssertionError(f"FIFO broken: {other.order.order_id} arrived before {resting.order.order_id}")
        assert not better_or_equal(resting.order.side, other.order.price, resting.order.price), "a better price was skipped"


@settings(max_examples=400, deadline=None)
@given(operations)
def test_the_book_keeps_its_invariants(ops):
    book = Book("T")
    ledger: dict[str, Shadow] = {}
    rested: set[str] = set()
    for step, op in enumerate(ops):
        if op[0] == "submit":
            _kind, side, kind, tif, qty, price, protection = op
            order = BookOrder(f"o{step}", side, kind, tif, qty, price, protection)
            ledger[order.order_id] = shadow = Shadow(order, step)
            events = book.submit(order)
        elif op[0] == "cancel":
            target = f"o{op[1]}"
            was_resting = target in book
            events = book.cancel(target)
            assert bool(events) == was_resting
        else:
            events = book.expire()

        i = 0
        while i < len(events):
            event = events[i]
            if isinstance(event, Filled):
                passive = events[i + 1]
                check_fill_pair(ledger, event, passive)
                for fill in (event, passive):
                    ledger[fill.order_id].filled += fill.quantity
                    assert fill.leaves == ledger[fill.order_id].order.quantity - ledger[fill.order_id].filled
                    assert fill.cumulative == ledger[fill.order_id].filled
                i += 2
                continue
            if isinstance(event, Cancelled):
                assert event.cancelled == ledger[event.order_id].open
                ledger[event.order_id].closed += event.cancelled
            elif isinstance(event, Expired):
                assert ledger[event.order_id].order.time_in_force is TimeInForce.DAY
                ledger[event.order_id].closed += event.expired
            elif isinstance(event, Rejected):
                ledger[event.order_id].rejected = True
            else:
                assert isinstance(event, Accepted)
            i += 1

        if op[0] == "submit":
            if book.remaining(order.order_id) is not None:
                rested.add(order.order_id)
            # IOC, FOK and MARKET orders never rest; FOK is all or nothing.
            if order.time_in_force in (TimeInForce.IOC, TimeInForce.FOK) or order.type is OrderType.MARKET:
                assert order.order_id not in book
            if order.time_in_force is TimeInForce.FOK:
                assert shadow.filled in (0, order.quantity)
        if op[0] == "cancel":
            assert f"o{op[1]}" not in book

        # Never crossed after matching.
        if book.best_bid is not None and book.best_ask is not None:
            assert book.best_bid < book.best_ask
        # Quantity is conserved: every share is filled, closed, or resting in the book.
        for order_id, shadow_order in ledger.items():
            resting = book.remaining(order_id) or 0
            if shadow_order.rejected:
                assert shadow_order.filled == shadow_order.closed == resting == 0
            else:
                assert shadow_order.order.quantity == shadow_order.filled + shadow_order.closed + resting
        # The depth the book shows is the sum of what rests.
        for side in Side:
            expected: dict[int, int] = {}
            for shadow_order in ledger.values():
                if shadow_order.order.side is side and shadow_order.order.order_id in book:
                    expected[shadow_order.order.price] = expected.get(shadow_order.order.price, 0) + shadow_order.open
            assert {price: qty for price, qty, _n in book.depth(side)} == expected
    # Buys and sells traded the same number of shares.
    bought = sum(s.filled for s in ledger.values() if s.order.side is Side.BUY)
    sold = sum(s.filled for s in ledger.values() if s.order.side is Side.SELL)
    assert bought == sold
