"""The exchange's book and tape as assets keeps them (subgraphs.assets.market): newer
snapshots win, trades are listed once, newest first, and the list is bounded."""
from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest

from mybroker.cache import MemoryCache
from mybroker.errors import DomainError
from mybroker.wire import BookSnapshot, Trade
from subgraphs.assets.market import MarketView, add_trade, keeps_snapshot


def snapshot(time: str, bid: str = "31.00") -> BookSnapshot:
    return BookSnapshot.from_payload({
        "ticker": "PETR4",
        "bids": [{"price": bid, "quantity": 300, "orders": 2}, {"price": "30.90", "quantity": 100, "orders": 1}],
        "asks": [{"price": "31.20", "quantity": 100, "orders": 1}],
        "bestBid": bid,
        "bestAsk": "31.20",
        "lastTrade": None,
        "time": time,
    })


def trade(n: int, second: int, time: str = "2026-11-24T13:00:{second:02d}.000Z") -> Trade:
    return Trade.from_payload({"tradeId": f"PETR4-s-{n}", "ticker": "PETR4", "price": "31.05", "quantity": 100, "time": time.format(second=second)})


def test_a_newer_snapshot_wins_and_a_late_one_is_dropped():
    assert keeps_snapshot(snapshot("2026-11-24T13:00:01.000Z"), None)
    assert keeps_snapshot(snapshot("2026-11-24T13:00:02.000Z"), snapshot("2026-11-24T13:00:01.000Z"))
    assert not keeps_snapshot(snapshot("2026-11-24T13:00:01.000Z"), snapshot("2026-11-24T13:00:02.000Z"))


def test_trades_are_listed_once_newest_first_and_bounded():
    listed = add_trade([], trade(1, 1))
    listed = add_trade(listed, trade(2, 2))
    assert add_trade(listed, trade(1, 1)) is None, "a redelivered trade changes nothing"
    listed = add_trade(listed, trade(0, 0))  # late, sorts into place
    assert [t["tradeId"] for t in listed] == ["PETR4-s-2", "PETR4-s-1", "PETR4-s-0"]
    assert len(add_trade(listed, trade(3, 3), keep=2)) == 2
    with pytest.raises(ValueError):  # no offset: it could be any hour
        add_trade([], trade(4, 4, "2026-11-24T13:00:{second:02d}"))


async def test_the_view_answers_depth_and_limit_and_refuses_bad_sizes():
    view = MarketView(MemoryCache())
    empty = (await view.books(["PETR4"], None))[0]
    assert empty.bids == [] and empty.asks == [] and empty.time.tzinfo is not None
    await view.record_book(snapshot("2026-11-24T13:00:02.000Z", bid="31.01"))
    await view.record_book(snapshot("2026-11-24T13:00:01.000Z", bid="30.50"))  # older: ignored
    book = (await view.books(["petr4"], 1))[0]
    assert [(l.price, l.quantity, l.orders) for l in book.bids] == [(Decimal("31.01"), 300, 2)]
    for n in range(3):
        await view.record_trade(trade(n, n))
    await view.record_trade(trade(1, 1))
    trades = await view.trades("PETR4", 2)
    assert [(t.price, t.quantity, t.time.second) for t in trades] == [(Decimal("31.05"), 100, 2), (Decimal("31.05"), 100, 1)]
    with pytest.raises(ValueError):  # no offset, on a ticker with no book yet: nothing is cached
        await view.record_book(replace(snapshot("2026-11-24T13:00:03"), ticker="VALE3"))
    assert (await view.books(["VALE3"], 1))[0].bids == []
    for bad in (0, -3):
        with pytest.raises(DomainError):
            await view.books(["PETR4"], bad)
        with pytest.raises(DomainError):
            await view.trades("PETR4", bad)
    assert len((await view.books(["PETR4"], 50))[0].bids) == 2, "depth is capped, not refused"
