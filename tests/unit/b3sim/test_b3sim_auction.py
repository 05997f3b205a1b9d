"""The auction price (b3sim.auction) and the book's uncross at it."""
from __future__ import annotations

from b3sim.auction import AuctionPrice, auction_price
from b3sim.book import Book, BookOrder, Cancelled, Filled, OrderType, SelfTrade, Side, TimeInForce


def test_no_price_when_the_book_is_not_crossed():
    assert auction_price([], [(100, 10)]) is None
    assert auction_price([(99, 10)], [(100, 10)]) is None
    assert auction_price([(100, 10)], [(100, 0)]) is None


def test_the_price_that_executes_the_most_wins():
    # Demand at 101: 10, at 100: 30; supply at 100: 20, at 101: 40. Most volume: 20 at 100.
    assert auction_price([(101, 10), (100, 20)], [(100, 20), (101, 20)]) == AuctionPrice(100, 20, 10)


def test_equal_volume_goes_to_the_smaller_imbalance():
    # 10 trade at 101 and at 105; 30 buyers are left over at 101, none at 105: 105 wins,
    # though the reference is 101.
    assert auction_price([(105, 10), (101, 30)], [(101, 10)], reference=101) == AuctionPrice(105, 10, 0)
    bids, asks = [(102, 10), (100, 10)], [(100, 5), (101, 5)]
    # volume: at 100 -> min(20, 5) = 5; at 101 -> min(10, 10) = 10; at 102 -> min(10, 10) = 10
    # 101 and 102 tie on volume 10 and imbalance 0: the reference decides.
    assert auction_price(bids, asks, reference=102).price == 102
    assert auction_price(bids, asks, reference=90).price == 101
    assert auction_price(bids, asks, reference=None).price == 101  # the lower of a full tie


def test_the_reference_itself_is_a_candidate_inside_the_crossed_range():
    # Any price from 98 to 102 trades all 10; the reference 100 is closest to itself.
    assert auction_price([(102, 10)], [(98, 10)], reference=100) == AuctionPrice(100, 10, 0)
    assert auction_price([(102, 10)], [(98, 10)], reference=120).price == 102
    assert auction_price([(102, 10)], [(98, 10)], reference=3).price == 98


def auction_book(self_trade: SelfTrade = SelfTrade.NONE) -> Book:
    return Book("T", self_trade=self_trade)


def limit(order_id: str, side: Side, qty: int, price: int, owner: str | None = None) -> BookOrder:
    return BookOrder(order_id, side, OrderType.LIMIT, TimeInForce.DAY, qty, price, owner=owner)


def test_orders_rest_crossed_during_the_auction_and_trade_at_one_price_in_priority():
    book = auction_book()
    for order in (
        limit("b1", Side.BUY, 100, 102),
        limit("b2", Side.BUY, 100, 101),
        limit("b3", Side.BUY, 100, 101),
        limit("s1", Side.SELL, 150, 99),
        limit("s2", Side.SELL, 100, 103),
    ):
        assert [type(e).__name__ for e in book.add_to_auction(order)] == ["Accepted"]
    assert book.crossed()
    events = book.uncross(reference=100)
    fills = [e for e in events if isinstance(e, Filled)]
    # 150 shares trade at any price from 99 to 101 with the same imbalance: the reference wins.
    assert {f.price for f in fills} == {100}
    assert [(f.order_id, f.quantity) for f in fills] == [("b1", 100), ("s1", 100), ("b2", 50), ("s1", 50)]
    assert book.remaining("b2") == 50 and book.remaining("b3") == 100 and "s1" not in book
    assert not book.crossed() and book.last_price == 100


def test_an_auction_takes_only_limit_day_or_gtc_orders():
    book = auction_book()
    [rejected] = book.add_to_auction(BookOrder("m", Side.BUY, OrderType.MARKET, TimeInForce.DAY, 10, None, 105))
    assert "auction" in rejected.reason
    [rejected] = book.add_to_auction(BookOrder("i", Side.BUY, OrderType.LIMIT, TimeInForce.IOC, 10, 100))
    assert "auction" in rejected.reason and "i" not in book


def test_a_replace_during_the_auction_rests_without_trading():
    book = auction_book()
    book.add_to_auction(limit("b", Side.BUY, 100, 99))
    book.add_to_auction(limit("s", Side.SELL, 100, 101))
    events = book.replace("b", price=102, match=False)
    assert [type(e).__name__ for e in events] == ["Replaced"] and book.crossed()
    assert [f.price for f in book.uncross(100) if isinstance(f, Filled)] == [101, 101]


def test_a_self_trade_in_the_auction_cancels_the_later_arrival_under_cancel_aggressor():
    book = auction_book(SelfTrade.CANCEL_AGGRESSOR)
    book.add_to_auction(limit("s-ana", Side.SELL, 100, 100, owner="ana"))
    book.add_to_auction(limit("b-ana", Side.BUY, 100, 100, owner="ana"))
    book.add_to_auction(limit("b-bia", Side.BUY, 100, 100, owner="bia"))
    events = book.uncross(100)
    assert [(type(e).__name__, e.order_id) for e in events] == [
        ("Cancelled", "b-ana"),
        ("Filled", "b-bia"),
        ("Filled", "s-ana"),
    ]
    assert not book.crossed() and len(book) == 0


def test_cancel_resting_and_cancel_both_in_the_auction():
    for mode, cancelled in ((SelfTrade.CANCEL_RESTING, {"s-ana"}), (SelfTrade.CANCEL_BOTH, {"s-ana", "b-ana"})):
        book = auction_book(mode)
        book.add_to_auction(limit("s-ana", Side.SELL, 100, 100, owner="ana"))
        book.add_to_auction(limit("b-ana", Side.BUY, 100, 100, owner="ana"))
        events = book.uncross(100)
        assert {e.order_id for e in events if isinstance(e, Cancelled)} == cancelled
        assert not any(isinstance(e, Filled) for e in events) and not book.crossed()


def test_an_uncrossed_book_does_not_trade_at_the_uncross():
    book = auction_book()
    book.add_to_auction(limit("b", Side.BUY, 100, 99))
    book.add_to_auction(limit("s", Side.SELL, 100, 101))
    assert book.uncross(100) == [] and len(book) == 2
