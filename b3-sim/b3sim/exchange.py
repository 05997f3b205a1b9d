"""The exchange's matching core: commands in, execution reports out.

Deterministic and without I/O: the same commands with the same times give the same
reports, which is what a journal needs to rebuild the books. One book per catalog
ticker, and for each ticker traded in round lots a fractional book (`PETR4F`, 1 to lot-1
shares); a market maker quotes a ladder around each ticker's reference price in both and
re-quotes on every new one. Broker orders trade with the maker and with each other; only
broker orders get reports (the maker is the exchange's own liquidity).

The exchange's rules (`Rules`): a price band around the reference, self-trade prevention
between one account's orders, and the session phase (b3sim.session). Outside OPEN nothing
matches: auction phases collect LIMIT orders and uncross them at one price when the
phase ends; CLOSED rejects new orders. The rules and the maker's policy come in as values
(b3sim.config makes them of the settings): the core reads no configuration.

Stop orders (STOP, STOP_LIMIT) wait outside their book (b3sim.stops) until a trade there
at or through their stop price, while the market is OPEN; then they enter the book in
the same command, as a protected MARKET or a LIMIT order, after the trades of that
command so far. What they trade may trigger more stops (a cascade), all in one command,
so a replay of the journal triggers the same stops at the same trades.

OCO (one cancels the other): orders naming the same `oco_group` (two at most, of one
account, book and side, at most one of them in the book) are one instruction; the first
fill or trigger of either cancels the other in the same command, before anything else
can trade it, and a cancel of either cancels both."""
from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Iterable, Sequence, cast

from b3sim.book import (
    Accepted,
    Book,
    BookOrder,
    Cancelled,
    Event,
    Expired,
    Filled,
    OrderType,
    Rejected,
    Replaced,
    SelfTrade,
    Side,
    TimeInForce,
)
from b3sim.market_maker import MakerPolicy, ladder
from b3sim.session import AUCTIONS, Phase
from b3sim.stops import Stops, Triggered
from mybroker.catalog import CatalogEntry, fractional_ticker
from mybroker.money import MoneyFormatError, cents, from_ticks, to_ticks
from mybroker.trading import STOPS, ExecType, RejectCode

OCO_REASON = "OCO: the other order of the group executed"

# What a command makes happen: the book's events and the stops' triggers.
Happened = Event | Triggered

# The maker's order ids; a broker order may not use the prefix (it could cancel the maker's).
MAKER_PREFIX = "mm:"

# What a report says happened (ExecType) and why a cancel or replace was refused
# (RejectCode) are the shared enums of mybroker.trading: REPLACED carries the order's new
# total (`quantity`) and limit (`price`); REPLACE_REJECTED a `reason` (the order is
# unchanged); CANCEL_REJECTED a `reject_code`: UNKNOWN_ORDER when the exchange never saw the
# order (or forgot it), TOO_LATE when it knew it and it is done already. A rule refusing a
# resting order's replace (price band, lot) has no code. ORDER_STATUS answers an
# OrderStatusRequest (`order_status`). Neither refusal nor answer changes the order.

# What an ORDER_STATUS says of the order.
RESTING, DONE, UNKNOWN = "RESTING", "DONE", "UNKNOWN"
# Finished order ids the exchange remembers (oldest forgotten first): enough to tell a
# cancel that crossed a fill (TOO_LATE) from an order it never saw (UNKNOWN_ORDER).
KNOWN_DONE = 1_000_000


@dataclass(frozen=True)
class NewOrder:
    order_id: str
    ticker: str
    side: Side
    type: OrderType
    time_in_force: TimeInForce
    quantity: int
    limit_price: Decimal | None = None
    protection_price: Decimal | None = None
    # The broker's account (user id) that owns the order: self-trade prevention compares it.
    account: str | None = None
    # STOP and STOP_LIMIT: the trigger (a SELL's below the last trade, a BUY's above).
    stop_price: Decimal | None = None
    # OCO: the orders naming one group cancel each other when one executes (fill or trigger).
    oco_group: str | None = None


@dataclass(frozen=True)
class CancelOrder:
    order_id: str
    ticker: str


@dataclass(frozen=True)
class ReplaceOrder:
    """A new total quantity and/or limit price for a resting order (None: unchanged)."""

    order_id: str
    ticker: str
    quantity: int | None = None
    limit_price: Decimal | None = None


@dataclass(frozen=True)
class SessionPhase:
    """The session moved to `phase` (the app sends it from the calendar's clock)."""

    phase: Phase


@dataclass(frozen=True)
class ReferencePrice:
    """A new reference (last) price for a ticker, from the market data feed."""

    ticker: str
    price: Decimal


@dataclass(frozen=True)
class EndOfSession:
    """The trading session closed: DAY orders expire. In the continuous mode (no session
    calendar, the market never closes) b3-sim's day roll sends one when the trading day
    changes (b3sim.session_clock.DayRoll), naming the day that begins."""

    trading_day: date | None = None


@dataclass(frozen=True)
class OrderStatusRequest:
    """Does the exchange hold this order? Answered by one ORDER_STATUS report; changes nothing."""

    order_id: str
    ticker: str


@dataclass(frozen=True)
class RulesChanged:
    """The exchange's rules as configured now (b3sim.worker journals it at start when they
    differ from the journal's): from here on they apply, and resting orders that no longer
    fit them (a LIMIT outside a narrower price band) are cancelled, with a reason."""

    price_band_percent: Decimal
    self_trade: SelfTrade


Command = NewOrder | CancelOrder | ReplaceOrder | ReferencePrice | SessionPhase | EndOfSession | OrderStatusRequest | RulesChanged


@dataclass(frozen=True)
class Rules:
    # A LIMIT order more than this percent from the reference is rejected; 0: no band.
    price_band_percent: Decimal = Decimal("0")
    self_trade: SelfTrade = SelfTrade.NONE
    phase: Phase = Phase.OPEN  # the phase the exchange starts in


@dataclass(frozen=True)
class ExecutionReport:
    order_id: str
    exec_type: ExecType
    time: datetime
    leaves_quantity: int
    cumulative_quantity: int
    execution_id: str | None = None
    quantity: int | None = None
    price: Decimal | None = None
    reason: str | None = None
    # For the journal: the order's ticker (every report) and, on a FILL, its side and the
    # trade both sides share. Not sent on the wire.
    ticker: str | None = None
    side: Side | None = None
    trade_id: str | None = None
    # CANCEL_REJECTED / REPLACE_REJECTED: UNKNOWN_ORDER or TOO_LATE (None: a rule refused it).
    reject_code: RejectCode | None = None
    order_status: str | None = None  # ORDER_STATUS: RESTING, DONE or UNKNOWN


@dataclass
class _Market:
    book: Book
    lot_size: int
    # The fractional book of a round-lot ticker trades 1..max_quantity shares; counterpart
    # is the other book of the pair (refusals name it).
    max_quantity: int | None = None
    counterpart: str | None = None
    reference: int | None = None
    maker_orders: list[str] = field(default_factory=list)
    stops: Stops = field(default_factory=Stops)  # broker stop orders waiting for a trade


class Exchange:
    def __init__(
        self,
        catalog: Iterable[CatalogEntry],
        maker: MakerPolicy,
        *,
        session: str = "s",
        rules: Rules = Rules(),
        known_done: int = KNOWN_DONE,
    ):
        """`session` makes trade ids unique across runs (books restart empty);
        `known_done`: how many finished order ids are remembered."""
        self.maker = maker
        self.session = session
        self.rules = rules
        # Whether a RulesChanged has set the rules (b3sim.worker journals one at the first start,
        # so a replay runs under the rules of the time, not the ones configured now).
        self.rules_journaled = False
        self.phase = rules.phase
        # The trading day the last EndOfSession began (None before the first): the day roll
        # compares it with the calendar's, so a restart after the roll still expires.
        self.trading_day: date | None = None
        self._markets: dict[str, _Market] = {}
        # A reference price moves the ticker's books: its own and its fractional one; and a
        # book takes its reference from its ticker's quote (`quoted_by`).
        self._books_of: dict[str, list[str]] = {}
        self._quoted_by: dict[str, str] = {}
        for entry in catalog:
            self._markets[entry.ticker] = _Market(self._new_book(entry.ticker), entry.lot_size)
            self._books_of[entry.ticker] = [entry.ticker]
            if entry.lot_size > 1:
                odd = fractional_ticker(entry.ticker)
                self._markets[entry.ticker].counterpart = odd
                self._markets[odd] = _Market(self._new_book(odd), 1, entry.lot_size - 1, entry.ticker)
                self._books_of[entry.ticker].append(odd)
        self._quoted_by = {book: quoted for quoted, books in self._books_of.items() for book in books}
        # The live broker orders (resting, or in an auction), with their book's ticker: a
        # cancel must find its book. An order leaves it on the report that finishes it
        # (`_reports`) for `_done`, insertion-ordered and bounded; a redelivered NewOrder
        # found in either must not trade twice.
        self._orders: dict[str, str] = {}
        self._done: OrderedDict[str, str] = OrderedDict()
        self._known_done = known_done
        self._maker_seq = 0
        # OCO groups: the live orders of each group, and each grouped order's group. A group
        # whose first order executed or ended is closed: an order naming it later is refused.
        self._groups: dict[str, list[str]] = {}
        self._group_of: dict[str, str] = {}
        self._closed_groups: OrderedDict[str, None] = OrderedDict()

    def _new_book(self, ticker: str) -> Book:
        return Book(ticker, f"{ticker}-{self.session}", self.rules.self_trade)

    def book(self, ticker: str) -> Book | None:
        market = self._markets.get(ticker)
        return market.book if market else None

    def quoted_by(self, ticker: str) -> str:
        """The ticker whose quotes set this book's reference (`PETR4` for `PETR4F`)."""
        return self._quoted_by.get(ticker, ticker)

    def order_ticker(self, order_id: str) -> str | None:
        """The book of a live broker order; None when it is not live."""
        return self._orders.get(order_id)

    def reference(self, ticker: str) -> int | None:
        market = self._markets.get(ticker)
        return market.reference if market else None

    def handle(self, command: Command, at: datetime) -> list[ExecutionReport]:
        if isinstance(command, NewOrder):
            return self.new_order(command, at)
        if isinstance(command, CancelOrder):
            return self.cancel_order(command, at)
        if isinstance(command, ReplaceOrder):
            return self.replace_order(command, at)
        if isinstance(command, ReferencePrice):
            return self.update_reference(command, at)
        if isinstance(command, SessionPhase):
            return self.change_phase(command, at)
        if isinstance(command, EndOfSession):
            return self.end_session(at, command.trading_day)
        if isinstance(command, OrderStatusRequest):
            return self.order_status(command, at)
        if isinstance(command, RulesChanged):
            return self.change_rules(command, at)
        raise TypeError(f"not an exchange command: {command!r}")

    # ------------------------------------------------------------ commands

    def new_order(self, command: NewOrder, at: datetime) -> list[ExecutionReport]:
        if command.order_id in self._orders or command.order_id in self._done:
            return []  # a redelivery: the first one was handled
        market = self._markets.get(command.ticker)
        # The book's own ticker string: a million remembered ids share a few tickers.
        self._orders[command.order_id] = market.book.ticker if market is not None else command.ticker
        reason = self._refusal(command, market)
        if reason is None and command.oco_group is not None:
            assert market is not None
            reason = self._oco_refusal(command, market)
            if reason is None:
                self._join(command.order_id, command.oco_group)
        if reason is None and command.type in STOPS:
            assert market is not None
            return self._new_stop(command, market, at)
        price = protection = None
        if reason is None:
            assert market is not None
            try:
                price = to_ticks(command.limit_price) if command.type is OrderType.LIMIT and command.limit_price is not None else None
                protection = to_ticks(command.protection_price) if command.protection_price is not None else None
            except MoneyFormatError as exc:
                reason = str(exc)
            else:
                reason = self._outside_band(price, market)
        if reason is not None:
            self._finished(command.order_id)
            return [ExecutionReport(command.order_id, ExecType.REJECTED, at, 0, 0, reason=reason, ticker=command.ticker)]
        assert market is not None
        order = BookOrder(
            command.order_id, command.side, command.type, command.time_in_force, command.quantity, price, protection, command.account
        )
        if self.phase is Phase.OPEN:
            events = market.book.submit(order)
            return self._reports(self._trigger(market, events) if market.stops.waiting or self._group_of else events, at)
        return self._reports(market.book.add_to_auction(order), at)

    def _oco_refusal(self, command: NewOrder, market: _Market) -> str | None:
        group = command.oco_group
        assert group is not None
        if group in self._closed_groups:
            return f"OCO group {group!r} is closed: an order of it executed or ended"
        legs = self._groups.get(group, [])
        if len(legs) >= 2:
            return f"OCO group {group!r} already holds two orders"
        for leg in legs:
            other = self._leg(leg)
            if other is None or self._orders.get(leg) != market.book.ticker or other.owner != command.account:
                return f"OCO group {group!r} belongs to another account or ticker"
            # Two exits of one position: the same side (they could trade with each other
            # otherwise), and at most one of them in the book (one sweep could fill both).
            if other.side is not command.side:
                return f"the orders of OCO group {group!r} must be on the same side"
            if leg not in market.stops and command.type not in STOPS:
                return f"OCO group {group!r} pairs one order in the book with a stop, not two in the book"
        return None

    def _leg(self, order_id: str) -> BookOrder | None:
        """A live grouped order as its book (or its stop) holds it."""
        market = self._markets.get(self._orders.get(order_id, ""))
        if market is None:
            return None
        stop = market.stops.waiting.get(order_id)
        return stop.order if stop is not None else market.book.order(order_id)

    def _join(self, order_id: str, group: str) -> None:
        self._groups.setdefault(group, []).append(order_id)
        self._group_of[order_id] = group

    def _close_group(self, order_id: str, reason: str) -> list[Happened]:
        """Closes the group of `order_id` (it executed or ended): its other live orders are
        cancelled, with `reason`."""
        group = self._group_of.pop(order_id, None)
        if group is None:
            return []
        self._closed_groups[group] = None
        if len(self._closed_groups) > self._known_done:
            self._closed_groups.popitem(last=False)
        events: list[Happened] = []
        for leg in self._groups.pop(group, []):
            if leg == order_id:
                continue
            self._group_of.pop(leg, None)
            market = self._markets.get(self._orders.get(leg, ""))
            if market is None:
                continue
            stop = market.stops.remove(leg)
            if stop is not None:
                events.append(Cancelled(leg, stop.order.quantity, 0, reason))
            else:
                events.extend(market.book.cancel(leg, reason))
        return events

    def _new_stop(self, command: NewOrder, market: _Market, at: datetime) -> list[ExecutionReport]:
        """Accepts a stop order to wait for its trigger, or rejects it: a stop price that is
        not on the tick, or on the wrong side of the last trade (it would trigger at once)."""
        reason = None
        stop = price = protection = None
        try:
            stop = to_ticks(command.stop_price) if command.stop_price is not None else None
            price = to_ticks(command.limit_price) if command.limit_price is not None else None
            protection = to_ticks(command.protection_price) if command.protection_price is not None else None
        except MoneyFormatError as exc:
            reason = str(exc)
        if reason is None:
            reason = self._stop_refusal(command, stop, market) or self._outside_band(price, market)
        if reason is not None:
            self._finished(command.order_id)
            return [ExecutionReport(command.order_id, ExecType.REJECTED, at, 0, 0, reason=reason, ticker=command.ticker)]
        assert stop is not None
        limit = command.type is OrderType.STOP_LIMIT
        enters = BookOrder(
            command.order_id, command.side, OrderType.LIMIT if limit else OrderType.MARKET, command.time_in_force,
            command.quantity, price if limit else None, None if limit else protection, command.account,
        )
        market.stops.add(enters, stop)
        return [ExecutionReport(command.order_id, ExecType.ACCEPTED, at, command.quantity, 0, ticker=market.book.ticker)]

    def _stop_refusal(self, command: NewOrder, stop: int | None, market: _Market) -> str | None:
        if stop is None or stop <= 0:
            return f"a {command.type.value} order needs a positive stop price"
        if command.time_in_force not in (TimeInForce.DAY, TimeInForce.GTC):
            return f"a {command.type.value} order waits for its trigger: DAY or GTC, not {command.time_in_force.value}"
        last = market.book.last_price if market.book.last_price is not None else market.reference
        if last is None:
            return f"no last price yet for {command.ticker}; stop orders are not accepted"
        if command.side is Side.SELL and stop >= last:
            return f"a SELL stop price must be below the last price {from_ticks(last)} (it would trigger at once)"
        if command.side is Side.BUY and stop <= last:
            return f"a BUY stop price must be above the last price {from_ticks(last)} (it would trigger at once)"
        return None

    def _trigger(self, market: _Market, book_events: list[Event]) -> list[Happened]:
        """Appends to a book action's events the stops its trades trigger: each enters the
        book once the action is over (its Accepted was reported when it arrived), at the end
        of the events so far, and what it trades may trigger more, until no trade triggers
        anything. Only while OPEN: an auction's uncross before CLOSED triggers nothing (GTC
        stops wait). OCO, in any phase: a fill closes its group as soon as the action that
        made it is over, before any stop that action triggered enters, and a trigger closes
        its group at once; the other order of the group is cancelled."""
        stops, group_of = market.stops, self._group_of
        events = cast(list[Happened], book_events)  # the same list, grown in place
        if group_of:
            self._close_filled_groups(events, 0)
        start = 0
        while start < len(events) and stops.waiting and self.phase is Phase.OPEN:
            end = len(events)
            for k in range(start, end):
                event = events[k]
                if not (isinstance(event, Filled) and event.aggressor and stops.waiting and stops.might_trigger(event.price)):
                    continue  # each trade yields two fills; its aggressor's stands for it
                gone: set[str] = set()  # OCO siblings of a stop this trade triggered first
                for stop in stops.triggered_by(event.price):
                    if stop.order_id in gone:
                        events.append(Cancelled(stop.order_id, stop.order.quantity, 0, OCO_REASON))
                        continue
                    events.append(Triggered(stop.order_id, stop.order.quantity, event.price, event.trade_id))
                    if group_of and stop.order_id in group_of:  # its OCO sibling goes before it trades
                        gone.update(self._groups.get(group_of[stop.order_id], ()))
                        events.extend(self._close_group(stop.order_id, OCO_REASON))
                    entered = len(events)
                    events.extend(e for e in market.book.submit(stop.order) if type(e) is not Accepted)
                    if group_of:
                        self._close_filled_groups(events, entered)
            start = end
        return events

    def _close_filled_groups(self, events: list[Happened], start: int) -> None:
        """Closes the OCO group of every grouped order filled in events[start:] (what closing
        appends are cancels, not fills)."""
        group_of = self._group_of
        k = start
        while k < len(events):
            event = events[k]
            k += 1
            if isinstance(event, Filled) and event.order_id in group_of:
                events.extend(self._close_group(event.order_id, OCO_REASON))

    def cancel_order(self, command: CancelOrder, at: datetime) -> list[ExecutionReport]:
        """Cancels a resting broker order. A cancel of an order that is not resting is
        answered CANCEL_REJECTED: TOO_LATE when the exchange knew it (a cancel can always
        cross a fill; its last reports went before this one), UNKNOWN_ORDER when it never
        saw it or has forgotten it, so the broker can end an order the exchange will
        never trade."""
        market = self._markets.get(self._orders.get(command.order_id, ""))
        if market is not None:
            stop = market.stops.remove(command.order_id)
            events: list[Happened] = (
                [Cancelled(stop.order_id, stop.order.quantity, 0, "cancelled on request")] if stop is not None
                else list(market.book.cancel(command.order_id))
            )
            if events and self._group_of:  # an OCO is one instruction: its other order goes too
                events.extend(self._close_group(command.order_id, "OCO: the other order of the group was cancelled"))
            reports = self._reports(events, at)
            if reports:
                return reports
        code, reason = self._not_resting(command.order_id)
        return [ExecutionReport(command.order_id, ExecType.CANCEL_REJECTED, at, 0, 0, reason=reason, ticker=command.ticker, reject_code=code)]

    def order_status(self, command: OrderStatusRequest, at: datetime) -> list[ExecutionReport]:
        """Whether the exchange holds the order (RESTING, with what is left and what
        filled), knew it and it is done (DONE), or does not know it (UNKNOWN)."""
        order_id = command.order_id
        ticker = self._orders.get(order_id)
        market = self._markets.get(ticker or "")
        leaves = market.book.remaining(order_id) if market is not None else None
        if market is not None and order_id in market.stops:  # waiting for its trigger: held
            quantity = market.stops.waiting[order_id].order.quantity
            return [ExecutionReport(order_id, ExecType.ORDER_STATUS, at, quantity, 0, ticker=ticker, order_status=RESTING)]
        if leaves is not None:
            assert market is not None
            total = market.book.quantity(order_id)
            assert total is not None  # resting, so it has a quantity
            cumulative = total - leaves
            return [ExecutionReport(order_id, ExecType.ORDER_STATUS, at, leaves, cumulative, ticker=ticker, order_status=RESTING)]
        status = DONE if order_id in self._done or ticker is not None else UNKNOWN
        return [ExecutionReport(order_id, ExecType.ORDER_STATUS, at, 0, 0, ticker=ticker or command.ticker, order_status=status)]

    def _not_resting(self, order_id: str) -> tuple[RejectCode, str]:
        """Why a cancel or replace finds no resting order: its reject code and reason."""
        if order_id in self._done or order_id in self._orders:
            return RejectCode.TOO_LATE, "the order is not resting at the exchange (filled, cancelled, expired or rejected)"
        return RejectCode.UNKNOWN_ORDER, f"unknown order {order_id!r}: the exchange never received it, or has forgotten it"

    def _finished(self, order_id: str) -> None:
        """Moves a broker order from the live ones to the remembered finished ones."""
        ticker = self._orders.pop(order_id, None)
        if ticker is None:
            return
        if self._group_of and order_id in self._group_of:  # ended otherwise (expired, rejected): the group is spent
            group = self._group_of.pop(order_id)
            legs = self._groups.get(group, [])
            if order_id in legs:
                legs.remove(order_id)
            if not legs:
                self._groups.pop(group, None)
                self._closed_groups[group] = None
        done = self._done
        done[order_id] = ticker
        if len(done) > self._known_done:
            done.popitem(last=False)  # O(1), unlike deleting a plain dict's first key

    def replace_order(self, command: ReplaceOrder, at: datetime) -> list[ExecutionReport]:
        """Replaces a resting broker order (Book.replace: a lower quantity keeps its place,
        a new price or a larger quantity loses it). A replace the exchange cannot apply
        answers REPLACE_REJECTED and leaves the order as it was."""
        ticker = self._orders.get(command.order_id)
        market = self._markets.get(ticker or "")
        reason: str | None
        if market is None:
            code, reason = self._not_resting(command.order_id)
            return [ExecutionReport(command.order_id, ExecType.REPLACE_REJECTED, at, 0, 0, reason=reason, ticker=command.ticker, reject_code=code)]
        if command.order_id in market.stops:
            reason = "a stop order waiting for its trigger cannot be replaced; cancel it and place a new one"
            return [ExecutionReport(command.order_id, ExecType.REPLACE_REJECTED, at, 0, 0, reason=reason, ticker=ticker)]
        reason = self._replace_refusal(command, market)
        price = None
        if reason is None and command.limit_price is not None:
            assert market is not None
            try:
                price = to_ticks(command.limit_price)
            except MoneyFormatError as exc:
                reason = str(exc)
            else:
                reason = self._outside_band(price, market)
        if reason is None:
            assert market is not None
            events = market.book.replace(command.order_id, command.quantity, price, match=self.phase is Phase.OPEN)
            if events:
                return self._reports(self._trigger(market, events) if market.stops.waiting or self._group_of else events, at)
            code, reason = self._not_resting(command.order_id)
            return [ExecutionReport(command.order_id, ExecType.REPLACE_REJECTED, at, 0, 0, reason=reason, ticker=ticker, reject_code=code)]
        return [ExecutionReport(command.order_id, ExecType.REPLACE_REJECTED, at, 0, 0, reason=reason, ticker=ticker)]

    def update_reference(self, command: ReferencePrice, at: datetime) -> list[ExecutionReport]:
        """Moves the reference of a ticker (and of its fractional book) and re-quotes the
        maker there: its old ladder is cancelled and the new one posted, which may trade with
        broker orders the market has moved through. Outside OPEN the ladder only rests, and
        takes part in the auction's uncross like any other order."""
        if command.price <= 0:
            return []
        reference = to_ticks(cents(command.price))
        events: list[Happened] = []
        for ticker in self._books_of.get(command.ticker, ()):
            market = self._markets[ticker]
            market.reference = reference
            posted: list[Event] = []
            for order_id in market.maker_orders:
                market.book.cancel(order_id, "re-quote")
            market.maker_orders.clear()
            post = market.book.submit if self.phase is Phase.OPEN else market.book.add_to_auction
            for level in ladder(reference, market.lot_size, self.maker):
                self._maker_seq += 1
                order_id = f"{MAKER_PREFIX}{ticker}:{self._maker_seq}"
                market.maker_orders.append(order_id)
                posted.extend(post(BookOrder(order_id, level.side, OrderType.LIMIT, TimeInForce.GTC, level.quantity, level.price)))
            events.extend(self._trigger(market, posted) if market.stops.waiting or self._group_of else posted)
        return self._reports(events, at)

    def change_phase(self, command: SessionPhase, at: datetime) -> list[ExecutionReport]:
        """Moves the session to a new phase. Whenever matching resumes (OPEN) or the day
        closes after a phase without matching, every book is uncrossed at its auction price;
        on CLOSED, DAY orders expire."""
        old, new = self.phase, Phase(command.phase)
        if new is old:
            return []
        self.phase = new
        events: list[Happened] = []
        if old is not Phase.OPEN and new not in AUCTIONS:
            for market in self._markets.values():
                uncrossed = market.book.uncross(market.reference if market.reference is not None else market.book.last_price)
                events.extend(self._trigger(market, uncrossed) if market.stops.waiting or self._group_of else uncrossed)
        if new is Phase.CLOSED:
            for market in self._markets.values():
                events.extend(self._expire_day(market))
        return self._reports(events, at)

    @staticmethod
    def _expire_day(market: _Market, reason: str = "end of the trading session") -> list[Event]:
        """DAY orders end: those resting in the book and the stops still waiting."""
        events = market.book.expire(TimeInForce.DAY, reason)
        events.extend(Expired(stop.order_id, stop.order.quantity, 0, reason) for stop in market.stops.expire(TimeInForce.DAY))
        return events

    def change_rules(self, command: RulesChanged, at: datetime) -> list[ExecutionReport]:
        """Applies new rules. A resting LIMIT order outside the new price band around its
        ticker's reference is cancelled (the band refuses it from now on, and a replace
        could not bring it back); self-trade prevention applies to the next matches."""
        self.rules = Rules(Decimal(command.price_band_percent), SelfTrade(command.self_trade), self.rules.phase)
        self.rules_journaled = True
        events: list[Event] = []
        for market in self._markets.values():
            market.book.self_trade = self.rules.self_trade
            for order_id, price in market.book.resting():
                if order_id.startswith(MAKER_PREFIX):
                    continue
                reason = self._outside_band(price, market)
                if reason is not None:
                    events.extend(market.book.cancel(order_id, f"the exchange's price band changed: {reason}"))
        return self._reports(events, at)

    def end_session(self, at: datetime, trading_day: date | None = None) -> list[ExecutionReport]:
        if trading_day is not None:
            self.trading_day = trading_day
        events: list[Event] = []
        for market in self._markets.values():
            events.extend(self._expire_day(market))
        return self._reports(events, at)

    # ------------------------------------------------------------ helpers

    def _refusal(self, command: NewOrder, market: _Market | None) -> str | None:
        if command.order_id.startswith(MAKER_PREFIX):
            return "order ids starting with 'mm:' are reserved"
        if market is None:
            return f"unknown ticker {command.ticker!r}"
        if self.phase is Phase.CLOSED:
            return "the market is closed (session phase CLOSED); orders are accepted from the pre-opening"
        reason = self._quantity_refusal(command.quantity, command.ticker, market)
        if reason is not None:
            return reason
        if command.type in (OrderType.LIMIT, OrderType.STOP_LIMIT):
            if command.limit_price is None or command.limit_price <= 0:
                return f"a {command.type.value} order needs a positive limit price"
        elif command.limit_price is not None:
            return f"a {command.type.value} order takes no limit price"
        if command.type not in STOPS and command.stop_price is not None:
            return f"a {command.type.value} order takes no stop price"
        if command.type is OrderType.MARKET and market.reference is None:
            return f"no reference price yet for {command.ticker}; MARKET orders are not accepted"
        # Stops wait outside the book, so an auction takes them too; they trigger once it is OPEN.
        if self.phase in AUCTIONS and command.type not in STOPS and (command.type is not OrderType.LIMIT or command.time_in_force in (TimeInForce.IOC, TimeInForce.FOK)):
            return f"only LIMIT DAY or GTC orders are accepted during the {self.phase.value} auction"
        return None

    def _replace_refusal(self, command: ReplaceOrder, market: _Market) -> str | None:
        if self.phase is Phase.CLOSED:
            return "the market is closed (session phase CLOSED)"
        if command.quantity is None and command.limit_price is None:
            return "a replace needs a new quantity or a new limit price"
        if command.quantity is not None:
            reason = self._quantity_refusal(command.quantity, market.book.ticker, market)
            if reason is not None:
                return reason
        if command.limit_price is not None and command.limit_price <= 0:
            return "the limit price must be positive"
        return None

    @staticmethod
    def _quantity_refusal(quantity: int, ticker: str, market: _Market) -> str | None:
        if quantity <= 0:
            return "quantity must be greater than zero"
        if market.max_quantity is not None and quantity > market.max_quantity:
            return (
                f"the fractional market {ticker} trades 1 to {market.max_quantity} shares; "
                f"trade round lots on {market.counterpart}"
            )
        if market.lot_size > 1 and quantity % market.lot_size:
            hint = f"; trade fewer than {market.lot_size} shares on {market.counterpart}" if market.counterpart else ""
            return f"quantity must be a multiple of the round lot ({market.lot_size}){hint}"
        return None

    def _outside_band(self, price: int | None, market: _Market) -> str | None:
        """Why a LIMIT price is outside the price band around the reference; None when it is
        inside, or when there is no band or no reference yet."""
        band = self.rules.price_band_percent
        if price is None or not band or market.reference is None:
            return None
        reference, band_bps = market.reference, int(band * 100)
        low = -(-reference * (10_000 - band_bps) // 10_000)  # rounded inwards: the edges are inside
        high = reference * (10_000 + band_bps) // 10_000
        if low <= price <= high:
            return None
        return (
            f"limit price {from_ticks(price)} is outside the {band}% price band around the reference "
            f"{from_ticks(reference)} ({from_ticks(low)} to {from_ticks(high)})"
        )

    def _reports(self, events: Sequence[Happened], at: datetime) -> list[ExecutionReport]:
        reports = []
        for event in events:
            if event.order_id.startswith(MAKER_PREFIX):
                continue
            ticker = self._orders.get(event.order_id)
            if isinstance(event, Filled):
                if not event.leaves:
                    self._finished(event.order_id)
                reports.append(
                    ExecutionReport(
                        event.order_id,
                        ExecType.FILL,
                        at,
                        event.leaves,
                        event.cumulative,
                        # Both sides of a trade share its id; each fill needs its own.
                        execution_id=f"{event.trade_id}-{'A' if event.aggressor else 'P'}",
                        quantity=event.quantity,
                        price=from_ticks(event.price),
                        ticker=ticker,
                        side=event.side,
                        trade_id=event.trade_id,
                    )
                )
            elif isinstance(event, Replaced):
                reports.append(
                    ExecutionReport(
                        event.order_id, ExecType.REPLACED, at, event.leaves, event.cumulative,
                        quantity=event.quantity, price=from_ticks(event.price), ticker=ticker,
                    )
                )
            elif isinstance(event, Accepted):
                reports.append(ExecutionReport(event.order_id, ExecType.ACCEPTED, at, event.quantity, 0, ticker=ticker))
            elif isinstance(event, Cancelled):
                self._finished(event.order_id)
                reports.append(ExecutionReport(event.order_id, ExecType.CANCELLED, at, 0, event.cumulative, reason=event.reason, ticker=ticker))
            elif isinstance(event, Expired):
                self._finished(event.order_id)
                reports.append(ExecutionReport(event.order_id, ExecType.EXPIRED, at, 0, event.cumulative, reason=event.reason, ticker=ticker))
            elif isinstance(event, Rejected):
                self._finished(event.order_id)
                reports.append(ExecutionReport(event.order_id, ExecType.REJECTED, at, 0, 0, reason=event.reason, ticker=ticker))
            elif isinstance(event, Triggered):
                reports.append(
                    ExecutionReport(
                        event.order_id, ExecType.TRIGGERED, at, event.quantity, 0,
                        price=from_ticks(event.price), ticker=ticker, trade_id=event.trade_id,
                    )
                )
        return reports

