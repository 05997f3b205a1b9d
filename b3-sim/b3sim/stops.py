"""Stop orders waiting for their trigger, per book, outside the book itself.

A stop is not in the book (it shows in no depth and meets no order) until a trade at or
through its stop price: a SELL stop at or below it, a BUY stop at or above it. Then it
enters the book as the order it carries (`order`: a protected MARKET for STOP, a LIMIT
for STOP_LIMIT) and trades like any order arriving at that moment. Pure and
deterministic, like the book: the exchange asks `triggered_by(price)` after each trade,
so a journal replay triggers the same stops at the same trades.

Layout: one sorted list per side whose front holds the stops nearest to triggering, so a
trade that triggers nothing costs one comparison (`might_trigger`). Several stops
triggered by one trade enter the book in arrival order."""
from __future__ import annotations

from bisect import bisect_right, insort
from dataclasses import dataclass

from b3sim.book import BookOrder
from mybroker.trading import OrderSide, TimeInForce

_LAST = 1 << 62  # above any arrival number: (key, _LAST) sorts after every stop at key


@dataclass(slots=True)
class Triggered:
    """A stop's trigger: the trade (`trade_id` at `price`, in ticks) at or through its stop
    price. The order enters the book next; its fills follow this event."""

    order_id: str
    quantity: int
    price: int
    trade_id: str


@dataclass(frozen=True, slots=True)
class Stop:
    order_id: str
    side: OrderSide
    stop: int  # ticks
    order: BookOrder  # what enters the book when it triggers
    seq: int  # arrival: among stops one trade triggers, the earlier enters first


class Stops:
    """The waiting stops of one book. SELL keys are (-stop, seq) and BUY keys (stop, seq),
    ascending: the front of each list triggers first, and a trade at price p triggers the
    SELL prefix with -stop <= -p and the BUY prefix with stop <= p."""

    __slots__ = ("waiting", "_sells", "_buys", "_seq")

    def __init__(self) -> None:
        self.waiting: dict[str, Stop] = {}
        self._sells: list[tuple[int, int, str]] = []
        self._buys: list[tuple[int, int, str]] = []
        self._seq = 0

    def __contains__(self, order_id: object) -> bool:
        return order_id in self.waiting

    def __len__(self) -> int:
        return len(self.waiting)

    def add(self, order: BookOrder, stop: int) -> Stop:
        self._seq += 1
        entry = self.waiting[order.order_id] = Stop(order.order_id, order.side, stop, order, self._seq)
        if order.side is OrderSide.SELL:
            insort(self._sells, (-stop, self._seq, order.order_id))
        else:
            insort(self._buys, (stop, self._seq, order.order_id))
        return entry

    def remove(self, order_id: str) -> Stop | None:
        entry = self.waiting.pop(order_id, None)
        if entry is not None:
            keys = self._sells if entry.side is OrderSide.SELL else self._buys
            keys.remove((-entry.stop if entry.side is OrderSide.SELL else entry.stop, entry.seq, order_id))
        return entry

    def might_trigger(self, price: int) -> bool:
        sells, buys = self._sells, self._buys
        return bool(sells and sells[0][0] <= -price or buys and buys[0][0] <= price)

    def triggered_by(self, price: int) -> list[Stop]:
        """Takes out every stop a trade at `price` triggers, in arrival order."""
        fired: list[Stop] = []
        for keys, key in ((self._sells, -price), (self._buys, price)):
            end = bisect_right(keys, (key, _LAST, ""))
            if end:
                fired.extend(self.waiting.pop(order_id) for _, _, order_id in keys[:end])
                del keys[:end]
        fired.sort(key=lambda entry: entry.seq)
        return fired

    def expire(self, time_in_force: TimeInForce) -> list[Stop]:
        """Takes out every stop of one time in force (DAY at the session's end), in arrival order."""
        gone = [entry for entry in self.waiting.values() if entry.order.time_in_force is time_in_force]
        for entry in gone:
            self.remove(entry.order_id)
        return gone
