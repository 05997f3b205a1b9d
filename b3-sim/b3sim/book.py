"""One ticker's order book with price-time priority, as B3 matches it.

Prices are integer ticks (centavos). Better price first, then arrival (FIFO within a
level); a trade executes at the resting order's price. The book is pure: orders in,
events out, no clock and no I/O, so a journal of its inputs rebuilds it exactly.

Layout, for speed: each side keeps its price levels in a sorted list of integer keys
whose best level is last (peek and pop are O(1)) and a dict from price to level; a level
is a doubly linked queue of resting orders in arrival order (head first), and one dict
indexes every resting order by id. A resting order knows its level and neighbours, so a
cancel unlinks it in O(1) whatever the queue's length.

The module is plain, typed Python that mypyc compiles (`make venv` builds
b3sim/_mypyc/book, b3sim/__init__.py picks it when it was built from this very source);
the classes are then native, their int fields unboxed. Without the build it runs as is.

Beyond submit and cancel: replace (a lower quantity keeps time priority; a new price or
a larger quantity loses it), self-trade prevention per book (SelfTrade; orders carry
an `owner`), and auctions: `add_to_auction` rests an order without matching and
`uncross` trades the crossed book at one auction price (b3sim.auction).
docs/exchange-benchmark.md has the hot path's numbers."""
from __future__ import annotations

from bisect import bisect_left, insort
from dataclasses import dataclass, replace as _replace
from enum import Enum
from typing import Final, Iterator

from b3sim.auction import auction_price
from mybroker.trading import OrderSide as Side, OrderType, TimeInForce


RESTS = frozenset({TimeInForce.DAY, TimeInForce.GTC})
# Module constants for the hot path: one lookup instead of a global and an attribute
# (Final: compiled, they are C statics).
_BUY: Final = Side.BUY
_LIMIT: Final = OrderType.LIMIT
_MARKET: Final = OrderType.MARKET
_DAY: Final = TimeInForce.DAY
_GTC: Final = TimeInForce.GTC
_FOK: Final = TimeInForce.FOK


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
    # Who owns the order (participant or account): two orders with the same owner never
    # trade with each other when the book prevents self-trades. None: no owner, no check.
    owner: str | None = None


class SelfTrade(str, Enum):
    """What the book does when an order would trade with one of its owner's own."""

    NONE = "NONE"  # nothing: they trade
    CANCEL_AGGRESSOR = "CANCEL_AGGRESSOR"  # the incoming order's remainder is cancelled
    CANCEL_RESTING = "CANCEL_RESTING"  # the resting order is cancelled; matching goes on
    CANCEL_BOTH = "CANCEL_BOTH"  # both


SELF_TRADE_REASON = "self-trade prevention"
_NO_PREVENTION: Final = SelfTrade.NONE
_CANCEL_AGGRESSOR: Final = SelfTrade.CANCEL_AGGRESSOR
_CANCEL_RESTING: Final = SelfTrade.CANCEL_RESTING


# ---------------------------------------------------------------- events
#
# Events are slotted dataclasses, not frozen ones: a frozen dataclass sets each field
# through object.__setattr__, which made building events the book's largest cost (about
# three times slower). Treat them as immutable all the same. Each writes its own
# `__init__` (init=False): compiled, mypyc makes that one native (~55 ns a call), while
# the dataclass-generated one stays interpreted (~215 ns). Equality and repr still come
# from the dataclass.


@dataclass(init=False, slots=True)
class Accepted:
    order_id: str
    quantity: int

    def __init__(self, order_id: str, quantity: int) -> None:
        self.order_id = order_id
        self.quantity = quantity


@dataclass(init=False, slots=True)
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

    def __init__(
        self, order_id: str, trade_id: str, side: Side, quantity: int, price: int, leaves: int, cumulative: int, aggressor: bool
    ) -> None:
        self.order_id = order_id
        self.trade_id = trade_id
        self.side = side
        self.quantity = quantity
        self.price = price
        self.leaves = leaves
        self.cumulative = cumulative
        self.aggressor = aggressor


@dataclass(init=False, slots=True)
class Cancelled:
    order_id: str
    cancelled: int  # the quantity that will never trade
    cumulative: int
    reason: str

    def __init__(self, order_id: str, cancelled: int, cumulative: int, reason: str) -> None:
        self.order_id = order_id
        self.cancelled = cancelled
        self.cumulative = cumulative
        self.reason = reason


@dataclass(init=False, slots=True)
class Rejected:
    order_id: str
    reason: str

    def __init__(self, order_id: str, reason: str) -> None:
        self.order_id = order_id
        self.reason = reason


@dataclass(init=False, slots=True)
class Expired:
    order_id: str
    expired: int
    cumulative: int
    reason: str

    def __init__(self, order_id: str, expired: int, cumulative: int, reason: str) -> None:
        self.order_id = order_id
        self.expired = expired
        self.cumulative = cumulative
        self.reason = reason


@dataclass(init=False, slots=True)
class Replaced:
    """A resting order's new total quantity and price. `priority_kept`: it kept its place
    in the queue (same price, quantity not increased); otherwise it went to the back, and
    at a new price it may trade at once (fills follow this event)."""

    order_id: str
    quantity: int
    price: int
    leaves: int
    cumulative: int
    priority_kept: bool

    def __init__(
        self, order_id: str, quantity: int, price: int, leaves: int, cumulative: int, priority_kept: bool
    ) -> None:
        self.order_id = order_id
        self.quantity = quantity
        self.price = price
        self.leaves = leaves
        self.cumulative = cumulative
        self.priority_kept = priority_kept


Event = Accepted | Filled | Cancelled | Rejected | Expired | Replaced


# ---------------------------------------------------------------- the book


class _Level:
    """One price level: a doubly linked queue of resting orders, oldest (`head`) first."""

    __slots__ = ("price", "head", "tail")

    def __init__(self, price: int) -> None:
        self.price = price
        self.head: _Resting | None = None
        self.tail: _Resting | None = None

    def orders(self) -> list[_Resting]:
        """The queue in time priority (off the hot path: depth, auctions, FOK)."""
        out: list[_Resting] = []
        resting = self.head
        while resting is not None:
            out.append(resting)
            resting = resting.next
        return out


class _Resting:
    """A resting order: its fields as submitted (last replaced), what is left of it, and its
    place in its level's queue. Only LIMIT orders rest, at `level.price`. It keeps the
    fields, not the BookOrder: one object per resting order, and a cancel or a fill reads
    no other (compiled, the ints are unboxed in the object itself)."""

    __slots__ = ("remaining", "prev", "next", "level", "order_id", "side", "quantity", "owner", "time_in_force", "protection")

    def __init__(self, order: BookOrder, remaining: int, level: _Level) -> None:
        self.remaining = remaining
        self.level = level
        self.order_id = order.order_id
        self.side = order.side
        self.quantity = order.quantity  # the total, filled part included
        self.owner = order.owner
        self.time_in_force = order.time_in_force
        self.protection = order.protection
        # Appended at the back of its level.
        self.prev: _Resting | None = level.tail
        self.next: _Resting | None = None
        if level.tail is None:
            level.head = self
        else:
            level.tail.next = self
        level.tail = self

    def as_order(self) -> BookOrder:
        return BookOrder(
            self.order_id, self.side, _LIMIT, self.time_in_force, self.quantity, self.level.price, self.protection, self.owner
        )


class _BookSide:
    """Price levels of one side. Keys are sign x price, sorted ascending, so the best level
    (highest bid, lowest ask) is always the last key, and a price p is acceptable to an
    order bounded by b exactly when sign x p >= sign x b."""

    __slots__ = ("sign", "keys", "levels")

    def __init__(self, sign: int) -> None:
        self.sign = sign
        self.keys: list[int] = []
        self.levels: dict[int, _Level] = {}

    def best(self) -> int | None:
        return self.sign * self.keys[-1] if self.keys else None

    def prices(self) -> Iterator[int]:
        """Best first."""
        for key in reversed(self.keys):
            yield self.sign * key

    def level(self, price: int) -> _Level:
        """The level at `price`, opened (empty) when there is none."""
        level = self.levels.get(price)
        if level is None:
            level = self.levels[price] = _Level(price)
            insort(self.keys, self.sign * price)
        return level

    def remove(self, resting: _Resting) -> None:
        """Unlinks a resting order from its level in O(1); an emptied level is dropped."""
        level = resting.level
        before, after = resting.prev, resting.next
        if before is None:
            level.head = after
        else:
            before.next = after
        if after is None:
            level.tail = before
        else:
            after.prev = before
        if level.head is None:
            self.drop(level.price)

    def drop(self, price: int) -> None:
        del self.levels[price]
        key = self.sign * price
        keys = self.keys
        if keys and keys[-1] == key:
            keys.pop()
        else:
            del keys[bisect_left(keys, key)]


class Book:
    def __init__(self, ticker: str, trade_prefix: str | None = None, self_trade: SelfTrade = SelfTrade.NONE) -> None:
        self.ticker = ticker
        self.trade_prefix: str = trade_prefix or ticker
        self.self_trade: SelfTrade = SelfTrade(self_trade)
        self._bids = _BookSide(+1)
        self._asks = _BookSide(-1)
        self._index: dict[str, _Resting] = {}
        self._trades = 0
        self.last_price: int | None = None
        # Arrival order of what rested during an auction (the continuous hot path keeps
        # none): a self-trade found while uncrossing cancels by who came later.
        self._arrivals: dict[str, int] = {}
        self._arrival_seq = 0

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
        return resting.remaining if resting is not None else None

    def quantity(self, order_id: str) -> int | None:
        """A resting order's total quantity (filled part included, as last replaced)."""
        resting = self._index.get(order_id)
        return resting.quantity if resting is not None else None

    def order(self, order_id: str) -> BookOrder | None:
        """A resting order as submitted (last replaced)."""
        resting = self._index.get(order_id)
        return resting.as_order() if resting is not None else None

    def resting(self) -> list[tuple[str, int]]:
        """Every resting order as (order id, price), in a deterministic order (arrival)."""
        return [(order_id, resting.level.price) for order_id, resting in self._index.items()]

    def depth(self, side: Side, levels: int | None = None) -> list[tuple[int, int, int]]:
        """(price, quantity, orders) per level, best first."""
        book_side = self._bids if side is _BUY else self._asks
        out: list[tuple[int, int, int]] = []
        for price in book_side.prices():
            if levels is not None and len(out) >= levels:
                break
            queue = book_side.levels[price].orders()
            out.append((price, sum([resting.remaining for resting in queue]), len(queue)))
        return out

    def queue(self, side: Side, price: int) -> list[str]:
        """Order ids resting at one level, in time priority."""
        book_side = self._bids if side is _BUY else self._asks
        level = book_side.levels.get(price)
        return [] if level is None else [resting.order_id for resting in level.orders()]

    # ------------------------------------------------------------ commands

    def submit(self, order: BookOrder) -> list[Event]:
        order_id = order.order_id
        quantity = order.quantity
        price = order.price
        limit = order.type is _LIMIT
        index = self._index
        # The common, valid order passes these cheap checks; _invalid explains the rest.
        if quantity <= 0 or order_id in index or order.protection is not None or (
            (price is None or price <= 0) if limit else price is not None
        ):
            reason = self._invalid(order)
            if reason is not None:
                return [Rejected(order_id, reason)]
        events: list[Event] = [Accepted(order_id, quantity)]
        buying = order.side is _BUY
        opposite = self._asks if buying else self._bids
        # The worst price this order may trade at; None: any price.
        bound = price if limit else order.protection
        time_in_force = order.time_in_force

        if time_in_force is _FOK and self._available(opposite, bound, quantity, self._owner(order)) < quantity:
            events.append(Cancelled(order_id, quantity, 0, "FOK: the book cannot fill the whole quantity now"))
            return events

        remaining = quantity
        keys = opposite.keys
        if keys and (bound is None or keys[-1] >= opposite.sign * bound):  # it crosses
            remaining = self._match(order, quantity, opposite, bound, events)
        if remaining:
            if price is not None and limit and (time_in_force is _DAY or time_in_force is _GTC):  # it rests
                index[order_id] = _Resting(order, remaining, (self._bids if buying else self._asks).level(price))
            else:
                events.append(Cancelled(order_id, remaining, quantity - remaining, self._why_not_filled(order)))
        return events

    def cancel(self, order_id: str, reason: str = "cancelled on request") -> list[Event]:
        """Removes a resting order; nothing happens (no events) when it is not resting."""
        resting = self._index.pop(order_id, None)
        if resting is None:
            return []
        (self._bids if resting.side is _BUY else self._asks).remove(resting)
        left = resting.remaining
        return [Cancelled(order_id, left, resting.quantity - left, reason)]

    def replace(self, order_id: str, quantity: int | None = None, price: int | None = None, *, match: bool = True) -> list[Event]:
        """Changes a resting order's total quantity (filled part included) and/or price.
        Lowering the quantity keeps its time priority; a new price or a larger quantity
        sends it to the back of its level, and a new price may trade at once (unless
        `match` is False: during an auction it only rests). A quantity
        at or below what already filled cancels the rest. Nothing happens (no events) when
        the order is not resting; a quantity or price that is not positive is a
        ValueError (the caller validates requests)."""
        if quantity is not None and quantity <= 0 or price is not None and price <= 0:
            raise ValueError("a replace needs a positive quantity and price")
        resting = self._index.get(order_id)
        if resting is None:
            return []
        order = resting.as_order()
        cumulative = order.quantity - resting.remaining
        new_quantity = order.quantity if quantity is None else quantity
        new_price = resting.level.price if price is None else price  # only LIMIT orders rest
        if new_quantity <= cumulative:
            return self.cancel(order_id, "replaced down to its filled quantity")
        leaves = new_quantity - cumulative
        keeps = new_price == order.price and new_quantity <= order.quantity
        events: list[Event] = [Replaced(order_id, new_quantity, new_price, leaves, cumulative, keeps)]
        new_order = _replace(order, quantity=new_quantity, price=new_price)
        if keeps:  # same place in the queue
            resting.quantity = new_quantity
            resting.remaining = leaves
            return events
        del self._index[order_id]
        own = self._bids if order.side is _BUY else self._asks
        own.remove(resting)
        opposite = self._asks if order.side is _BUY else self._bids
        remaining = leaves
        if not match:
            self._arrive(order_id)
        elif opposite.keys and opposite.keys[-1] >= opposite.sign * new_price:  # it crosses now
            remaining = self._match(new_order, leaves, opposite, new_price, events)
        if remaining:
            self._rest(new_order, remaining, own)
        return events

    # ------------------------------------------------------------ auctions

    def add_to_auction(self, order: BookOrder) -> list[Event]:
        """Rests an order without matching (an auction phase): only LIMIT DAY/GTC orders can
        wait for the uncross; anything else is rejected."""
        reason = self._invalid(order)
        if reason is None and (order.type is not _LIMIT or order.time_in_force not in RESTS):
            reason = "only LIMIT DAY or GTC orders are accepted during an auction"
        if reason is not None:
            return [Rejected(order.order_id, reason)]
        self._rest(order, order.quantity, self._bids if order.side is _BUY else self._asks)
        self._arrive(order.order_id)
        return [Accepted(order.order_id, order.quantity)]

    def _arrive(self, order_id: str) -> None:
        self._arrival_seq += 1
        self._arrivals[order_id] = self._arrival_seq
        # Cancels do not touch this map (the continuous hot path stays as it was), so a long
        # phase without matching (the maker re-quoting all night) prunes it here.
        if len(self._arrivals) > 2 * len(self._index) + 64:
            self._arrivals = {k: seq for k, seq in self._arrivals.items() if k in self._index}

    def crossed(self) -> bool:
        bid, ask = self.best_bid, self.best_ask
        return bid is not None and ask is not None and bid >= ask

    def uncross(self, reference: int | None = None) -> list[Event]:
        """Ends an auction: every bid at or above the auction price trades with every ask at
        or below it, best price first and FIFO within a level, all at that one price, and
        the book is left uncrossed. Neither side aggresses in an auction; the buy side's
        fill takes the aggressor's slot so the two fills keep distinct ids. A self-trade
        cancels the later arrival (CANCEL_AGGRESSOR), the earlier (CANCEL_RESTING) or both;
        if that leaves the book crossed, the rest is uncrossed again at its own price."""
        events: list[Event] = []
        while self.crossed():
            found = auction_price(self._levels(self._bids), self._levels(self._asks), reference)
            assert found is not None  # a crossed book always has one
            self._uncross_at(found.price, events)
        self._arrivals.clear()
        return events

    @staticmethod
    def _levels(side: _BookSide) -> list[tuple[int, int]]:
        return [(price, sum([r.remaining for r in level.orders()])) for price, level in side.levels.items()]

    def _uncross_at(self, price: int, events: list[Event]) -> None:
        bids, asks = self._bids, self._asks
        prevent = self.self_trade is not _NO_PREVENTION
        while bids.keys and asks.keys and bids.sign * bids.keys[-1] >= price >= asks.sign * asks.keys[-1]:
            bid = bids.levels[bids.sign * bids.keys[-1]].head
            ask = asks.levels[asks.sign * asks.keys[-1]].head
            assert bid is not None and ask is not None  # a level is dropped when it empties
            if prevent and bid.owner is not None and bid.owner == ask.owner:
                for victim in self._auction_self_trade(bid, ask):
                    self._take_out(victim)
                    events.append(Cancelled(victim.order_id, victim.remaining, victim.quantity - victim.remaining, SELF_TRADE_REASON))
                continue
            traded = min(bid.remaining, ask.remaining)
            bid.remaining -= traded
            ask.remaining -= traded
            self._trades += 1
            trade_id = f"{self.trade_prefix}-{self._trades}"
            for resting, aggressor in ((bid, True), (ask, False)):
                events.append(
                    Filled(resting.order_id, trade_id, resting.side, traded, price, resting.remaining, resting.quantity - resting.remaining, aggressor)
                )
                if not resting.remaining:
                    self._take_out(resting)
            self.last_price = price

    def _auction_self_trade(self, bid: _Resting, ask: _Resting) -> list[_Resting]:
        if self.self_trade is SelfTrade.CANCEL_BOTH:
            return [bid, ask]
        arrival = self._arrivals.get
        later, earlier = (bid, ask) if arrival(bid.order_id, -1) > arrival(ask.order_id, -1) else (ask, bid)
        return [later] if self.self_trade is SelfTrade.CANCEL_AGGRESSOR else [earlier]

    def _take_out(self, resting: _Resting) -> None:
        del self._index[resting.order_id]
        (self._bids if resting.side is _BUY else self._asks).remove(resting)

    def _rest(self, order: BookOrder, remaining: int, own: _BookSide) -> None:
        """Puts an order at the back of its level (submit inlines this: the hot path)."""
        assert order.price is not None  # only LIMIT orders rest
        self._index[order.order_id] = _Resting(order, remaining, own.level(order.price))

    def expire(self, time_in_force: TimeInForce = TimeInForce.DAY, reason: str = "end of the trading session") -> list[Event]:
        """Removes every resting order of one time in force (DAY at the session's end)."""
        events: list[Event] = []
        for resting in [r for r in self._index.values() if r.time_in_force is time_in_force]:
            del self._index[resting.order_id]
            (self._bids if resting.side is _BUY else self._asks).remove(resting)
            events.append(Expired(resting.order_id, resting.remaining, resting.quantity - resting.remaining, reason))
        return events

    # ------------------------------------------------------------ matching

    def _invalid(self, order: BookOrder) -> str | None:
        if order.quantity <= 0:
            return "quantity must be greater than zero"
        if order.order_id in self._index:
            return "an order with this id is already in the book"
        if order.type is _LIMIT:
            if order.price is None or order.price <= 0:
                return "a limit order needs a positive limit price"
        elif order.price is not None:
            return "a market order takes no limit price"
        if order.protection is not None and order.protection <= 0:
            return "the protection price must be positive"
        return None

    def _owner(self, order: BookOrder) -> str | None:
        """The owner whose self-trades this book prevents; None: no check for this order."""
        return None if self.self_trade is _NO_PREVENTION else order.owner

    def _available(self, opposite: _BookSide, bound: int | None, wanted: int, owner: str | None) -> int:
        """Quantity the order could trade now at acceptable prices, counted up to `wanted`
        (FOK's check). The owner's own orders do not count; when they would cancel the
        order itself, nothing behind them counts either."""
        total = 0
        floor = None if bound is None else opposite.sign * bound
        for key in reversed(opposite.keys):
            if floor is not None and key < floor:
                break
            for resting in opposite.levels[opposite.sign * key].orders():
                if owner is not None and resting.owner == owner:
                    if self.self_trade is _CANCEL_RESTING:
                        continue
                    return total
                total += resting.remaining
                if total >= wanted:
                    return total
        return total

    def _match(self, order: BookOrder, remaining: int, opposite: _BookSide, bound: int | None, events: list[Event]) -> int:
        """Trades `remaining` of `order` against the opposite side, best level first and
        FIFO within it; returns what is left to rest or cancel (0 when self-trade
        prevention cancelled it: its event is already out). The hot loop: everything it
        touches is a local."""
        keys, levels, sign = opposite.keys, opposite.levels, opposite.sign
        floor = 0 if bound is None else sign * bound  # the worst acceptable key
        bounded = bound is not None
        index, prefix = self._index, self.trade_prefix
        order_id, side, quantity = order.order_id, order.side, order.quantity
        owner = order.owner if self.self_trade is not _NO_PREVENTION else None  # _owner, inlined
        trades = self._trades
        traded_at = -1
        while remaining and keys:
            key = keys[-1]
            if bounded and key < floor:
                break
            price = sign * key
            level = levels[price]
            resting = level.head
            while resting is not None:
                if owner is not None and resting.owner == owner:  # a self-trade
                    after = resting.next
                    if self._prevent(resting, opposite, order, remaining, events):
                        remaining = 0
                        break
                    resting = after  # the resting order was cancelled: on to the next
                    continue
                left = resting.remaining
                traded = remaining if remaining < left else left
                remaining -= traded
                left -= traded
                resting.remaining = left
                trades += 1
                trade_id = f"{prefix}-{trades}"
                traded_at = price
                events.append(Filled(order_id, trade_id, side, traded, price, remaining, quantity - remaining, True))
                events.append(Filled(resting.order_id, trade_id, resting.side, traded, price, left, resting.quantity - left, False))
                if left:
                    break  # the incoming order is done; the resting one stays at the head
                # Filled: off the head of its level (the level itself goes below, if empty).
                del index[resting.order_id]
                resting = level.head = resting.next
                if resting is None:
                    level.tail = None
                else:
                    resting.prev = None
                if not remaining:
                    break
            if level.head is None:
                if price in levels:  # _prevent may already have dropped it
                    del levels[price]
                    keys.pop()
            elif not remaining:
                break
        self._trades = trades
        if traded_at >= 0:
            self.last_price = traded_at
        return remaining

    def _prevent(self, resting: _Resting, opposite: _BookSide, order: BookOrder, remaining: int, events: list[Event]) -> bool:
        """A self-trade about to happen: cancels what the book's mode says; True when the
        incoming order is cancelled (matching stops)."""
        mode = self.self_trade
        if mode is not _CANCEL_AGGRESSOR:  # the resting order goes
            del self._index[resting.order_id]
            opposite.remove(resting)
            events.append(
                Cancelled(resting.order_id, resting.remaining, resting.quantity - resting.remaining, SELF_TRADE_REASON)
            )
        if mode is not _CANCEL_RESTING:  # the incoming order goes
            events.append(Cancelled(order.order_id, remaining, order.quantity - remaining, SELF_TRADE_REASON))
            return True
        return False

    @staticmethod
    def _why_not_filled(order: BookOrder) -> str:
        if order.type is _MARKET:
            if order.protection is not None:
                return "MARKET: no more liquidity within the protection price"
            return "MARKET: no more liquidity in the book"
        return f"{order.time_in_force.value}: remainder not immediately fillable"
