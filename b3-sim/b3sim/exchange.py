"""The exchange's matching core: commands in, execution reports out.

Deterministic and without I/O: the same commands with the same times give the same
reports, which is what a journal will need to rebuild the books. One book per catalog
ticker; a market maker quotes a ladder around each ticker's reference price and re-quotes
on every new one. Broker orders trade with the maker and with each other; only broker
orders get reports (the maker is the exchange's own liquidity)."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Iterable, Union

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
    Side,
    TimeInForce,
)
from b3sim.market_maker import MakerPolicy, ladder
from mybroker.catalog import CatalogEntry
from mybroker.money import MoneyFormatError, cents, from_ticks, to_ticks

# The maker's order ids; a broker order may not use the prefix (it could cancel the maker's).
MAKER_PREFIX = "mm:"

ACCEPTED, FILL, CANCELLED, REJECTED, EXPIRED = "ACCEPTED", "FILL", "CANCELLED", "REJECTED", "EXPIRED"


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


@dataclass(frozen=True)
class CancelOrder:
    order_id: str
    ticker: str


@dataclass(frozen=True)
class ReferencePrice:
    """A new reference (last) price for a ticker, from the market data feed."""

    ticker: str
    price: Decimal


@dataclass(frozen=True)
class EndOfSession:
    """The trading session closed: DAY orders expire."""


Command = Union[NewOrder, CancelOrder, ReferencePrice, EndOfSession]


@dataclass(frozen=True)
class ExecutionReport:
    order_id: str
    exec_type: str
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


@dataclass
class _Market:
    book: Book
    lot_size: int
    reference: int | None = None
    maker_orders: list[str] = field(default_factory=list)


class Exchange:
    def __init__(self, catalog: Iterable[CatalogEntry], maker: MakerPolicy, *, session: str = "s"):
        """`session` makes trade ids unique across runs (books restart empty)."""
        self.maker = maker
        self.session = session
        self._markets = {
            entry.ticker: _Market(Book(entry.ticker, f"{entry.ticker}-{session}"), entry.lot_size) for entry in catalog
        }
        # Every broker order id ever received, with its ticker: a redelivered NewOrder must
        # not trade twice, and a cancel must find its book.
        self._orders: dict[str, str] = {}
        self._maker_seq = 0

    def book(self, ticker: str) -> Book | None:
        market = self._markets.get(ticker)
        return market.book if market else None

    def reference(self, ticker: str) -> int | None:
        market = self._markets.get(ticker)
        return market.reference if market else None

    def handle(self, command: Command, at: datetime) -> list[ExecutionReport]:
        if isinstance(command, NewOrder):
            return self.new_order(command, at)
        if isinstance(command, CancelOrder):
            return self.cancel_order(command, at)
        if isinstance(command, ReferencePrice):
            return self.update_reference(command, at)
        if isinstance(command, EndOfSession):
            return self.end_session(at)
        raise TypeError(f"not an exchange command: {command!r}")

    # ------------------------------------------------------------ commands

    def new_order(self, command: NewOrder, at: datetime) -> list[ExecutionReport]:
        if command.order_id in self._orders:
            return []  # a redelivery: the first one was handled
        self._orders[command.order_id] = command.ticker
        market = self._markets.get(command.ticker)
        reason = self._refusal(command, market)
        if reason is not None:
            return [ExecutionReport(command.order_id, REJECTED, at, 0, 0, reason=reason, ticker=command.ticker)]
        assert market is not None
        try:
            price = to_ticks(command.limit_price) if command.type is OrderType.LIMIT and command.limit_price is not None else None
            protection = to_ticks(command.protection_price) if command.protection_price is not None else None
        except MoneyFormatError as exc:
            return [ExecutionReport(command.order_id, REJECTED, at, 0, 0, reason=str(exc), ticker=command.ticker)]
        order = BookOrder(command.order_id, command.side, command.type, command.time_in_force, command.quantity, price, protection)
        return self._reports(market.book.submit(order), at)

    def cancel_order(self, command: CancelOrder, at: datetime) -> list[ExecutionReport]:
        """Cancels a resting broker order; an order that is not resting (filled, cancelled,
        never seen) is left alone, since a cancel can always cross a fill."""
        market = self._markets.get(self._orders.get(command.order_id, ""))
        if market is None:
            return []
        return self._reports(market.book.cancel(command.order_id), at)

    def update_reference(self, command: ReferencePrice, at: datetime) -> list[ExecutionReport]:
        """Moves the reference and re-quotes the maker: its old ladder is cancelled and the
        new one posted, which may trade with broker orders the market has moved through."""
        market = self._markets.get(command.ticker)
        if market is None or command.price <= 0:
            return []
        market.reference = to_ticks(cents(command.price))
        events: list[Event] = []
        for order_id in market.maker_orders:
            market.book.cancel(order_id, "re-quote")
        market.maker_orders.clear()
        for level in ladder(market.reference, market.lot_size, self.maker):
            self._maker_seq += 1
            order_id = f"{MAKER_PREFIX}{command.ticker}:{self._maker_seq}"
            market.maker_orders.append(order_id)
            events.extend(
                market.book.submit(BookOrder(order_id, level.side, OrderType.LIMIT, TimeInForce.GTC, level.quantity, level.price))
            )
        return self._reports(events, at)

    def end_session(self, at: datetime) -> list[ExecutionReport]:
        events: list[Event] = []
        for market in self._markets.values():
            events.extend(market.book.expire(TimeInForce.DAY))
        return self._reports(events, at)

    # ------------------------------------------------------------ helpers

    def _refusal(self, command: NewOrder, market: _Market | None) -> str | None:
        if command.order_id.startswith(MAKER_PREFIX):
            return "order ids starting with 'mm:' are reserved"
        if market is None:
            return f"unknown ticker {command.ticker!r}"
        if command.quantity <= 0:
            return "quantity must be greater than zero"
        if market.lot_size > 1 and command.quantity % market.lot_size:
            return f"quantity must be a multiple of the round lot ({market.lot_size})"
        if command.type is OrderType.LIMIT:
            if command.limit_price is None or command.limit_price <= 0:
                return "a LIMIT order needs a positive limit price"
        elif command.limit_price is not None:
            return "a MARKET order takes no limit price"
        if command.type is OrderType.MARKET and market.reference is None:
            return f"no reference price yet for {command.ticker}; MARKET orders are not accepted"
        return None

    def _reports(self, events: list[Event], at: datetime) -> list[ExecutionReport]:
        reports = []
        for event in events:
            if event.order_id.startswith(MAKER_PREFIX):
                continue
            ticker = self._orders.get(event.order_id)
            if isinstance(event, Filled):
                reports.append(
                    ExecutionReport(
                        event.order_id,
                        FILL,
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
            elif isinstance(event, Accepted):
                reports.append(ExecutionReport(event.order_id, ACCEPTED, at, event.quantity, 0, ticker=ticker))
            elif isinstance(event, Cancelled):
                reports.append(ExecutionReport(event.order_id, CANCELLED, at, 0, event.cumulative, reason=event.reason, ticker=ticker))
            elif isinstance(event, Expired):
                reports.append(ExecutionReport(event.order_id, EXPIRED, at, 0, event.cumulative, reason=event.reason, ticker=ticker))
            elif isinstance(event, Rejected):
                reports.append(ExecutionReport(event.order_id, REJECTED, at, 0, 0, reason=event.reason, ticker=ticker))
        return reports
