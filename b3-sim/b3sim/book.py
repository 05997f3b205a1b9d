"""One ticker's order book with price-time priority, as B3 matches it.

Prices are integer ticks (centavos). Better price first, then arrival (FIFO within a
level); a trade executes at the resting order's price. The book is pure: orders in,
events out, no clock and no I/O, so a journal of its inputs rebuilds it exactly.

Layout, for speed: each side keeps its price levels in a sorted list of keys whose best
level is last (peek and pop are O(1)), each level a deque of resting orders in arrival
order, and one dict indexes every resting order by id for cancels."""
from __future__ import annotations

from bisect import bisect_left, insort
from collections import deque
from dataclasses import dataclass
from typing import Iterator, Union

from mybroker.trading import OrderSide as Side, OrderType, TimeInForce


RESTS = frozenset({TimeInForce.DAY, TimeInForce.GTC})


@dataclass(frozen=True, slots=True)
class BookOrder:
    """An order as the book sees it. `price` is the LIMIT price; `protection` bounds a
    MARKET order (it never trades beyond it); both in ticks."""

    order_id: str
    side: Side
    type: OrderType
    time_in_force: TimeInForce
    quantity: int
    price: int | None = None
    protection: int | None = None


# ---------------------------------------------------------------- events


@dataclass(frozen=True, slots=True)
class Accepted:
    order_id: str
    quantity: int


@dataclass(frozen=True, slots=True)
class Filled:
    """One side of one trade; every trade yields two, the aggressor's first."""

    order_id: str
    trade_id: str
    side: Side
    quantity: int
    price: int
    leaves: int
    cumulative: int
    aggressor: bool


@dataclass(frozen=True, slots=True)
class Cancelled:
    order_id: str
    cancelled: int  # the quantity that will never trade
    cumulative: int
    reason: str


@dataclass(frozen=True, slots=True)
class Rejected:
    order_id: str
    reason: str


@dataclass(frozen=True, slots=True)
class Expired:
    order_id: str
    expired: int
    cumulative: int
    reason: str


Event = Union[Accepted, Filled, Cancelled, Rejected, Expired]


# ---------------------------------------------------------------- the book


class _Resting:
    __slots__ = ("order_id", "side", "price", "quantity", "remaining", "time_in_force")

    def __init__(self, order: BookOrder, price: int, remaining: int):
        self.order_id = order.order_id
        self.side = order.side
        self.price = price
        self.quantity = order.quantity
        self.remaining = remaining
        self.time_in_force = order.time_in_force


class _BookSide:
    """Price levels of one side. Keys are sign x price, sorted ascending, so the best level
    (highest bid, lowest ask) is always the last key."""

    __slots__ = ("sign", "keys", "levels")

    def __init__(self, sign: int):
        self.sign = sign
        self.keys: list[int] = []
        self.levels: dict[int, deque[_Resting]] = {}

    def best(self) -> int | None:
        return self.sign * self.keys[-1] if self.keys else None

    def prices(self) -> Iterator[int]:
        """Best first."""
        for key in reversed(self.keys):
            yield self.sign * key

    def add(self, order: _Resting) -> None:
        level = self.levels.get(order.price)
        if level is None:
            level = self.levels[order.price] = deque()
            insort(self.keys, self.sign * order.price)
        level.append(order)

    def remove(self, order: _Resting) -> None:
        level = self.levels[order.price]
        level.remove(order)
        if not level:
            self.drop(order.price)

    def drop(self, price: int) -> None:
        del self.levels[price]
        key = self.sign * price
        if self.keys and self.keys[-1] == key:
            self.keys.pop()
        else:
            del self.keys[bisect_left(self.keys, key)]


class Book:
    def __init__(self, ticker: str, trade_prefix: str | None = None):
        self.ticker = ticker
        self.trade_prefix = trade_prefix or ticker
        self._bids = _BookSide(+1)
        self._asks = _BookSide(-1)
        self._index: dict[str, _Resting] = {}
        self._trades = 0
        self.last_price: int | None = None

    # ------------------------------------------------------------ reading

    @property
    def best_bid(self) -> int | None:
        return self._bids.best()

    @property
    def best_ask(self) -> int | None:
        return self._asks.best()

    def __contains__(self, order_id: object) -> bool:
        return order_id in self._index

    def __len__(self) -> int:
        return len(self._index)

    def remaining(self, order_id: str) -> int | None:
        resting = self._index.get(order_id)
        return resting.remaining if resting else None

    def depth(self, side: Side, levels: int | None = None) -> list[tuple[int, int, int]]:
        """(price, quantity, orders) per level, best first."""
        book_side = self._bids if side is Side.BUY else self._asks
        out = []
        for price in book_side.prices():
            if levels is not None and len(out) >= levels:
                break
            level = book_side.levels[price]
            out.append((price, sum(order.remaining for order in level), len(level)))
        return out

    def queue(self, side: Side, price: int) -> list[str]:
        """Order ids resting at one level, in time priority."""
        book_side = self._bids if side is Side.BUY else self._asks
        return [order.order_id for order in book_side.levels.get(price, ())]

    # ------------------------------------------------------------ commands

    def submit(self, order: BookOrder) -> list[Event]:
        reason = self._invalid(order)
        if reason is not None:
            return [Rejected(order.order_id, reason)]
        events: list[Event] = [Accepted(order.order_id, order.quantity)]
        buying = order.side is Side.BUY
        opposite = self._asks if buying else self._bids
        # The worst price this order may trade at; None: any price.
        bound = order.price if order.type is OrderType.LIMIT else order.protection

        if order.time_in_force is TimeInForce.FOK and self._available(opposite, buying, bound, order.quantity) < order.quantity:
            events.append(Cancelled(order.order_id, order.quantity, 0, "FOK: the book cannot fill the whole quantity now"))
            return events

        remaining = self._match(order, opposite, buying, bound, events)
        if remaining:
            if order.type is OrderType.LIMIT and order.time_in_force in RESTS:
                resting = _Resting(order, order.price, remaining)  # type: ignore[arg-type]
                (self._bids if buying else self._asks).add(resting)
                self._index[order.order_id] = resting
            else:
                events.append(Cancelled(order.order_id, remaining, order.quantity - remaining, self._why_not_filled(order)))
        return events

    def cancel(self, order_id: str, reason: str = "cancelled on request") -> list[Event]:
        """Removes a resting order; nothing happens (no events) when it is not resting."""
        resting = self._index.pop(order_id, None)
        if resting is None:
            return []
        (self._bids if resting.side is Side.BUY else self._asks).remove(resting)
        return [Cancelled(order_id, resting.remaining, resting.quantity - resting.remaining, reason)]

    def expire(self, time_in_force: TimeInForce = TimeInForce.DAY, reason: str = "end of the trading session") -> list[Event]:
        """Removes every resting order of one time in force (DAY at the session's end)."""
        events: list[Event] = []
        for resting in [r for r in self._index.values() if r.time_in_force is time_in_force]:
            del self._index[resting.order_id]
            (self._bids if resting.side is Side.BUY else self._asks).remove(resting)
            events.append(Expired(resting.order_id, resting.remaining, resting.quantity - resting.remaining, reason))
        return events

    # ------------------------------------------------------------ matching

    def _invalid(self, order: BookOrder) -> str | None:
        if order.quantity <= 0:
            return "quantity must be greater than zero"
        if order.order_id in self._index:
            return "an order with this id is already in the book"
        if order.type is OrderType.LIMIT:
            if order.price is None or order.price <= 0:
                return "a limit order needs a positive limit price"
        elif order.price is not None:
            return "a market order takes no limit price"
        if order.protection is not None and order.protection <= 0:
            return "the protection price must be positive"
        return None

    @staticmethod
    def _within(price: int, buying: bool, bound: int | None) -> bool:
        return bound is None or (price <= bound if buying else price >= bound)

    def _available(self, opposite: _BookSide, buying: bool, bound: int | None, wanted: int) -> int:
        """Quantity resting at acceptable prices, counted up to `wanted` (FOK's check)."""
        total = 0
        for price in opposite.prices():
            if not self._within(price, buying, bound):
                break
            for resting in opposite.levels[price]:
                total += resting.remaining
                if total >= wanted:
                    return total
        return total

    def _match(self, order: BookOrder, opposite: _BookSide, buying: bool, bound: int | None, events: list[Event]) -> int:
        remaining = order.quantity
        while remaining and opposite.keys:
            price = opposite.sign * opposite.keys[-1]
            if not self._within(price, buying, bound):
                break
            level = opposite.levels[price]
            while remaining and level:
                resting = level[0]
                quantity = remaining if remaining < resting.remaining else resting.remaining
                remaining -= quantity
                resting.remaining -= quantity
                self._trades += 1
                trade_id = f"{self.trade_prefix}-{self._trades}"
                events.append(
                    Filled(order.order_id, trade_id, order.side, quantity, price, remaining, order.quantity - remaining, True)
                )
                events.append(
                    Filled(
                        resting.order_id,
                        trade_id,
                        resting.side,
                        quantity,
                        price,
                        resting.remaining,
                        resting.quantity - resting.remaining,
                        False,
                    )
                )
                if not resting.remaining:
                    level.popleft()
                    del self._index[resting.order_id]
            self.last_price = price
            if not level:
                opposite.drop(price)
        return remaining

    @staticmethod
    def _why_not_filled(order: BookOrder) -> str:
        if order.type is OrderType.MARKET:
            if order.protection is not None:
                return "MARKET: no more liquidity within the protection price"
            return "MARKET: no more liquidity in the book"
        return f"{order.time_in_force.value}: remainder not immediately fillable"
