"""Orders in the broker's words: the order request a trader makes, the order's life as B3
reports it (a state machine), and the prices a reservation blocks. Pure: no I/O.

    PENDING --ACCEPTED--> OPEN --FILL--> PARTIALLY_FILLED --FILL--> FILLED
    PENDING / OPEN / PARTIALLY_FILLED --> CANCELLED | EXPIRED
    PENDING --> REJECTED
    OPEN / PARTIALLY_FILLED --REPLACED--> the same status, new quantity and/or limit price
    OPEN (a STOP or STOP_LIMIT waiting) --TRIGGERED--> OPEN, `triggered_at` set; fills follow

FILLED, CANCELLED, REJECTED and EXPIRED are terminal: nothing changes them again.

A cancel or replace the trader asked for is a request under way (`pending`) beside the
state above, not a state of its own: fills may still arrive while B3 decides, and B3's
answer (CANCELLED, REPLACED, or a refusal) ends it. Clients read it as PENDING_CANCEL or
PENDING_REPLACE (`display_status`)."""
from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from enum import Enum

from mybroker.errors import DomainError, ErrorCode, bad_input
from mybroker.money import CENT, cents, cents_up, format_money
from mybroker.trading import STOPS, ExecType, OrderSide, OrderType, RejectCode, TimeInForce  # noqa: F401 - ExecType, RejectCode: the wire's, re-read here
# B3's word about one order (docs/internals.md, broker.executions): the wire's type itself,
# so the broker reads one shape of report.
from mybroker.wire import ExecutionReport  # noqa: F401 - re-exported


class OrderStatus(str, Enum):
    PENDING = "PENDING"
    OPEN = "OPEN"
    PARTIALLY_FILLED = "PARTIALLY_FILLED"
    FILLED = "FILLED"
    CANCELLED = "CANCELLED"
    REJECTED = "REJECTED"
    EXPIRED = "EXPIRED"
    # What clients read while a cancel or replace is under way at B3 (never stored).
    PENDING_CANCEL = "PENDING_CANCEL"
    PENDING_REPLACE = "PENDING_REPLACE"


class PendingRequest(str, Enum):
    """A request of the trader's that B3 has not answered yet."""

    CANCEL = "CANCEL"
    REPLACE = "REPLACE"


TERMINAL = frozenset({OrderStatus.FILLED, OrderStatus.CANCELLED, OrderStatus.REJECTED, OrderStatus.EXPIRED})
LIVE = frozenset({OrderStatus.PENDING, OrderStatus.OPEN, OrderStatus.PARTIALLY_FILLED})


@dataclass(frozen=True)
class OrderFilter:
    """Which orders a history page holds: any of the tickers, sides and statuses (empty:
    all), placed from `since` (inclusive) until `until` (exclusive)."""

    tickers: tuple[str, ...] = ()
    sides: tuple[OrderSide, ...] = ()
    statuses: tuple[OrderStatus, ...] = ()
    since: datetime | None = None
    until: datetime | None = None


# B3's word on an order it was asked about (ExecutionReport.order_status with ORDER_STATUS).
EXCHANGE_UNKNOWN = "UNKNOWN"
UNKNOWN_AT_EXCHANGE = "The exchange does not hold this order, so the broker ended it and released its reservation."


class InvalidTransition(Exception):
    """A report that does not fit the order's state; the order is left as it was."""


# Tickers are short upper-case alphanumerics (PETR4, BOVA11, PETR4F); anything else cannot
# be in the catalog, and must not reach a URL path unchecked.
_TICKER = re.compile(r"^[A-Z0-9]{1,12}$")
MAX_CLIENT_ORDER_ID = 64
# No B3 stock trades near this; the cap keeps a typo from becoming an absurd reservation.
MAX_PRICE = Decimal("1000000.00")


@dataclass(frozen=True)
class OrderRequest:
    """What a trader asks for in placeOrder, before the broker has looked anything up."""

    ticker: str
    side: OrderSide
    type: OrderType
    quantity: int
    limit_price: Decimal | None = None
    time_in_force: TimeInForce = TimeInForce.DAY
    client_order_id: str | None = None
    stop_price: Decimal | None = None  # STOP and STOP_LIMIT: the trigger

    def validated(self) -> "OrderRequest":
        """The request normalised, or BAD_USER_INPUT / UNKNOWN_ASSET for what no asset can fix."""
        ticker = (self.ticker or "").strip().upper()
        if not _TICKER.match(ticker):
            raise DomainError(ErrorCode.UNKNOWN_ASSET, f"Unknown asset {self.ticker!r}.")
        if self.quantity <= 0:
            raise bad_input("quantity must be greater than zero.")
        stop_price = self._validated_stop()
        if self.type in (OrderType.LIMIT, OrderType.STOP_LIMIT):
            if self.limit_price is None:
                raise bad_input(f"A {self.type.value} order needs a limitPrice.")
            if self.limit_price <= 0:
                raise bad_input("limitPrice must be greater than zero.")
            if self.limit_price > MAX_PRICE:
                raise bad_input(f"limitPrice must not exceed {MAX_PRICE}.")
            if self.limit_price != self.limit_price.quantize(CENT):
                raise bad_input("limitPrice has more than two decimal places.")
        elif self.limit_price is not None:
            raise bad_input(f"A {self.type.value} order takes no limitPrice.")
        client_order_id = self.client_order_id.strip() if self.client_order_id is not None else None
        if client_order_id is not None and not 0 < len(client_order_id) <= MAX_CLIENT_ORDER_ID:
            raise bad_input(f"clientOrderId must have 1 to {MAX_CLIENT_ORDER_ID} characters.")
        limit_price = self.limit_price.quantize(CENT) if self.limit_price is not None else None
        return OrderRequest(
            ticker, self.side, self.type, self.quantity, limit_price, self.time_in_force or TimeInForce.DAY, client_order_id,
            stop_price,
        )

    def _validated_stop(self) -> Decimal | None:
        """The stop price on the tick (R$ 0,01), required by STOP and STOP_LIMIT and refused
        elsewhere. A stop waits for its trigger, so only DAY and GTC make sense for it."""
        if self.type not in STOPS:
            if self.stop_price is not None:
                raise bad_input(f"Só ordens STOP e STOP_LIMIT têm stopPrice (a {self.type.value} order takes no stopPrice).")
            return None
        if self.stop_price is None:
            raise bad_input(f"Uma ordem {self.type.value} precisa de stopPrice, o preço de disparo (a {self.type.value} order needs a stopPrice).")
        if self.stop_price <= 0 or self.stop_price > MAX_PRICE:
            raise bad_input(f"stopPrice deve ser maior que zero e no máximo {MAX_PRICE} (stopPrice must be positive, at most {MAX_PRICE}).")
        if self.stop_price != self.stop_price.quantize(CENT):
            # The contract's rule for more than two decimals; B3's tick for stocks is R$ 0,01.
            raise bad_input(
                f"stopPrice {self.stop_price} fora do tick de R$ 0,01: use no máximo duas casas decimais "
                "(stopPrice is not a multiple of the R$ 0.01 tick)."
            )
        if self.time_in_force not in (TimeInForce.DAY, TimeInForce.GTC, None):
            raise bad_input(
                f"Uma ordem {self.type.value} aguarda o disparo: use DAY ou GTC, não {self.time_in_force.value} "
                "(a stop order waits for its trigger: DAY or GTC)."
            )
        return self.stop_price.quantize(CENT)


def check_stop(request: OrderRequest, last_price: Decimal | None) -> None:
    """A stop's trigger must be on the far side of the last price: a SELL's (stop-loss)
    below it, a BUY's above it; at or through it, B3 would trigger it at once (and refuses
    it, as home brokers do). STOP_PRICE_WRONG_SIDE otherwise."""
    if request.type not in STOPS:
        return
    assert request.stop_price is not None
    if last_price is None or last_price <= 0:
        raise bad_input("Ainda não há preço de mercado para este ativo; uma ordem stop precisa dele (no market price yet).")
    shown, last = format_money(request.stop_price), format_money(last_price)
    if request.side is OrderSide.SELL and request.stop_price >= last_price:
        raise DomainError(
            ErrorCode.STOP_PRICE_WRONG_SIDE,
            f"O preço de disparo de uma venda stop (R$ {shown}) deve ficar abaixo do último preço (R$ {last}) "
            f"(a SELL stopPrice must be below the last price {last}).",
        )
    if request.side is OrderSide.BUY and request.stop_price <= last_price:
        raise DomainError(
            ErrorCode.STOP_PRICE_WRONG_SIDE,
            f"O preço de disparo de uma compra stop (R$ {shown}) deve ficar acima do último preço (R$ {last}) "
            f"(a BUY stopPrice must be above the last price {last}).",
        )


@dataclass(frozen=True)
class OcoRequest:
    """placeOcoOrder: one position's take-profit (a LIMIT beyond the market) and stop-loss
    (a STOP, or a STOP_LIMIT with `stop_limit_price`) on the other side, same quantity."""

    ticker: str
    side: OrderSide
    quantity: int
    take_profit_price: Decimal
    stop_price: Decimal
    stop_limit_price: Decimal | None = None
    time_in_force: TimeInForce = TimeInForce.DAY
    client_order_id: str | None = None

    def legs(self) -> tuple[OrderRequest, OrderRequest]:
        """The two orders, each validated as placeOrder would (the clientOrderId on the
        take-profit: it names the pair)."""
        tif = self.time_in_force or TimeInForce.DAY
        if tif not in (TimeInForce.DAY, TimeInForce.GTC):
            raise bad_input(f"Uma ordem OCO aguarda o mercado: use DAY ou GTC, não {tif.value} (an OCO pair is DAY or GTC).")
        take_profit = OrderRequest(
            self.ticker, self.side, OrderType.LIMIT, self.quantity, self.take_profit_price, tif, self.client_order_id
        ).validated()
        kind = OrderType.STOP if self.stop_limit_price is None else OrderType.STOP_LIMIT
        stop_loss = OrderRequest(
            self.ticker, self.side, kind, self.quantity, self.stop_limit_price, tif, None, self.stop_price
        ).validated()
        return take_profit, stop_loss


def check_oco(take_profit: OrderRequest, stop_loss: OrderRequest, last_price: Decimal | None) -> None:
    """The pair brackets the last price: a SELL's take-profit above it and its stop below
    it (a BUY's the reverse: buy back cheaper, or stop out above). Otherwise the
    take-profit would fill at once (BAD_USER_INPUT) or the stop trigger at once
    (STOP_PRICE_WRONG_SIDE, check_stop's rule)."""
    check_stop(stop_loss, last_price)
    assert last_price is not None and take_profit.limit_price is not None
    shown, last = format_money(take_profit.limit_price), format_money(last_price)
    if take_profit.side is OrderSide.SELL and take_profit.limit_price <= last_price:
        raise bad_input(
            f"O alvo de ganho de uma venda OCO (R$ {shown}) deve ficar acima do último preço (R$ {last}) "
            f"(a SELL take-profit must be above the last price {last})."
        )
    if take_profit.side is OrderSide.BUY and take_profit.limit_price >= last_price:
        raise bad_input(
            f"O alvo de uma compra OCO (R$ {shown}) deve ficar abaixo do último preço (R$ {last}) "
            f"(a BUY take-profit must be below the last price {last})."
        )


def oco_price_per_share(take_profit: ReservationTerms, stop_loss: ReservationTerms) -> Decimal:
    """What the pair's one reservation blocks per share: a BUY pair the larger of the
    legs' prices (either may be the one that fills); a SELL pair blocks shares."""
    return max(take_profit.price_per_share, stop_loss.price_per_share)


def check_lot(quantity: int, lot_size: int, max_quantity: int | None = None) -> None:
    """The market's quantity rule: a multiple of the lot, and on a fractional market
    (PETR4F) at most `max_quantity` (lot - 1 of the standard ticker)."""
    if lot_size > 0 and quantity % lot_size:
        raise bad_input(f"quantity must be a multiple of the lot size ({lot_size}).")
    if max_quantity is not None and quantity > max_quantity:
        raise bad_input(f"The fractional market trades 1 to {max_quantity} shares; trade round lots on the standard ticker.")


@dataclass(frozen=True)
class ReservationTerms:
    """What the wallet blocks per share, and the protection price sent to B3 (MARKET only)."""

    price_per_share: Decimal
    protection_price: Decimal | None


def reservation_terms(request: OrderRequest, last_price: Decimal | None, collar: Decimal) -> ReservationTerms:
    """A LIMIT order reserves at its limit. A MARKET order has no price of its own, so it
    gets a protection price one collar away from the last trade: a BUY never pays more
    than what was reserved for it, and a SELL never sells below the collar. A stop holds
    its reservation from the start: a STOP_LIMIT as a LIMIT, a STOP as the MARKET order it
    becomes would at its trigger price (it triggers at a trade there), collar included."""
    if request.type in (OrderType.LIMIT, OrderType.STOP_LIMIT):
        assert request.limit_price is not None
        return ReservationTerms(request.limit_price, None)
    if request.type is OrderType.STOP:
        assert request.stop_price is not None
        last_price = request.stop_price
    if last_price is None or last_price <= 0:
        raise bad_input("There is no market price yet for this asset; place a LIMIT order instead.")
    if request.side is OrderSide.BUY:
        protection = cents_up(last_price * (1 + collar))
    else:
        protection = max(cents(last_price * (1 - collar)), CENT)
    return ReservationTerms(protection, protection)


@dataclass(frozen=True)
class Fill:
    """One execution of part of an order at B3."""

    execution_id: str
    quantity: int
    price: Decimal
    executed_at: datetime


@dataclass(frozen=True)
class MoneyEffect:
    """What a report does to the order's reservation, applied in the wallet before the
    order's new state is stored: settle `fill`, set the reservation to `terms` (quantity,
    price per share) after a replace, release what is left when the order `closed`."""

    fill: Fill | None = None
    terms: tuple[int, Decimal | None] | None = None
    closed: bool = False


@dataclass
class Order:
    id: str
    user_id: str
    ticker: str
    side: OrderSide
    type: OrderType
    time_in_force: TimeInForce
    quantity: int
    limit_price: Decimal | None
    created_at: datetime
    updated_at: datetime
    protection_price: Decimal | None = None
    client_order_id: str | None = None
    status: OrderStatus = OrderStatus.PENDING
    filled_quantity: int = 0
    # The exact sum of price x quantity over the fills; the average is derived from it, so
    # it never drifts with rounding however many fills there are.
    filled_value: Decimal = Decimal("0.00")
    # Why the order is as it is: why it ended CANCELLED, REJECTED or EXPIRED, or why B3
    # refused the trader's last cancel or replace.
    reason: str | None = None
    cancel_requested_at: datetime | None = None
    pending: PendingRequest | None = None
    stop_price: Decimal | None = None  # STOP and STOP_LIMIT: the trigger
    triggered_at: datetime | None = None  # when B3 triggered the stop (None: waiting, or not a stop)
    # An OCO leg: the other leg's id. The pair holds ONE reservation, under the take-profit's
    # id (`reservation_id`), and its group at B3 is that id too.
    oco_sibling_id: str | None = None

    @property
    def reservation_id(self) -> str:
        """The wallet reservation this order settles against: its own, or for an OCO
        stop-loss its take-profit's (the pair blocks the shares or the cash once)."""
        if self.oco_sibling_id is not None and self.type in STOPS:
            return self.oco_sibling_id
        return self.id

    @property
    def oco_group(self) -> str | None:
        return None if self.oco_sibling_id is None else self.reservation_id

    @classmethod
    def place(
        cls, order_id: str, user_id: str, request: OrderRequest, terms: ReservationTerms, at: datetime,
        oco_sibling_id: str | None = None,
    ) -> "Order":
        return cls(
            oco_sibling_id=oco_sibling_id,
            id=order_id,
            user_id=user_id,
            ticker=request.ticker,
            side=request.side,
            type=request.type,
            time_in_force=request.time_in_force,
            quantity=request.quantity,
            limit_price=request.limit_price,
            protection_price=terms.protection_price,
            client_order_id=request.client_order_id,
            created_at=at,
            updated_at=at,
            stop_price=request.stop_price,
        )

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL

    @property
    def leaves_quantity(self) -> int:
        return self.quantity - self.filled_quantity

    @property
    def average_price(self) -> Decimal | None:
        if not self.filled_quantity:
            return None
        return cents(self.filled_value / self.filled_quantity)

    @property
    def reject_reason(self) -> str | None:
        return self.reason if self.status is OrderStatus.REJECTED else None

    @property
    def display_status(self) -> OrderStatus:
        """The status clients read: a live order with a request under way says so."""
        if self.is_terminal or self.pending is None:
            return self.status
        return OrderStatus.PENDING_CANCEL if self.pending is PendingRequest.CANCEL else OrderStatus.PENDING_REPLACE

    def owned_by(self, user_id: str | None) -> bool:
        return user_id is not None and self.user_id == user_id

    # ---------------------------------------------------------------- transitions

    def _require(self, allowed: frozenset[OrderStatus], event: str) -> None:
        if self.status not in allowed:
            raise InvalidTransition(f"order {self.id}: {event} is not allowed when {self.status.value}")

    def accept(self, at: datetime) -> None:
        self._require(frozenset({OrderStatus.PENDING}), "ACCEPTED")
        self.status = OrderStatus.OPEN
        self.updated_at = at

    def trigger(self, at: datetime) -> None:
        """B3 triggered the stop: it now works as a MARKET (STOP) or LIMIT (STOP_LIMIT)
        order; its status stays OPEN until fills come. Once only."""
        self._require(frozenset({OrderStatus.OPEN}), "TRIGGERED")
        if self.type not in STOPS or self.triggered_at is not None:
            raise InvalidTransition(f"order {self.id}: TRIGGERED is only for a waiting stop")
        self.triggered_at = at
        self.updated_at = at

    def fill(self, fill: Fill) -> None:
        self._require(frozenset({OrderStatus.OPEN, OrderStatus.PARTIALLY_FILLED}), "FILL")
        if self.type in STOPS and self.triggered_at is None:
            raise InvalidTransition(f"order {self.id}: a stop fills only once triggered")
        if fill.quantity <= 0 or fill.price <= 0:
            raise InvalidTransition(f"order {self.id}: fill of {fill.quantity} at {fill.price} is not a fill")
        if fill.quantity > self.leaves_quantity:
            raise InvalidTransition(f"order {self.id}: fill of {fill.quantity} exceeds the {self.leaves_quantity} left")
        self.filled_quantity += fill.quantity
        self.filled_value += fill.price * fill.quantity
        self.status = OrderStatus.FILLED if self.filled_quantity == self.quantity else OrderStatus.PARTIALLY_FILLED
        if self.status is OrderStatus.FILLED:
            self.pending = None
        self.updated_at = fill.executed_at

    def cancel(self, reason: str | None, at: datetime) -> None:
        self._require(LIVE, "CANCELLED")
        self._end(OrderStatus.CANCELLED, reason, at)

    def expire(self, reason: str | None, at: datetime) -> None:
        self._require(LIVE, "EXPIRED")
        self._end(OrderStatus.EXPIRED, reason, at)

    def reject(self, reason: str | None, at: datetime) -> None:
        self._require(frozenset({OrderStatus.PENDING}), "REJECTED")
        self._end(OrderStatus.REJECTED, reason or "rejected by B3", at)

    def _end(self, status: OrderStatus, reason: str | None, at: datetime) -> None:
        self.status = status
        self.reason = reason
        self.pending = None
        self.updated_at = at

    def replace(self, quantity: int, limit_price: Decimal | None, at: datetime) -> None:
        """B3 replaced the order: a new total quantity (above what already filled) and/or
        limit price; its status does not change."""
        self._require(frozenset({OrderStatus.OPEN, OrderStatus.PARTIALLY_FILLED}), "REPLACED")
        if quantity <= self.filled_quantity:
            raise InvalidTransition(f"order {self.id}: replaced quantity {quantity} is not above the {self.filled_quantity} filled")
        self.quantity = quantity
        if limit_price is not None:
            self.limit_price = limit_price
        if self.pending is PendingRequest.REPLACE:
            self.pending = None
            self.reason = None
        self.updated_at = at

    def refused(self, report: "ExecutionReport") -> None:
        """B3 refused a cancel or replace. UNKNOWN_ORDER: B3 does not hold the order, so
        nothing of it can trade any more: the broker ends it. TOO_LATE: it is done at B3
        (its last reports are ahead of this one); the request is simply over."""
        if self.is_terminal:
            return
        if report.reject_code is RejectCode.UNKNOWN_ORDER:
            self._end(OrderStatus.CANCELLED, UNKNOWN_AT_EXCHANGE, report.time)
            return
        what = "cancel" if report.exec_type is ExecType.CANCEL_REJECTED else "replace"
        if (self.pending is PendingRequest.CANCEL) == (what == "cancel"):
            self.pending = None
        self.reason = f"The exchange refused the {what}: {report.reason}" if report.reason else f"The exchange refused the {what}."
        self.updated_at = report.time

    def status_answered(self, report: "ExecutionReport") -> bool:
        """B3's answer to a status request (reconciliation); True when it ended the order
        because B3 does not hold it."""
        if self.is_terminal or report.order_status != EXCHANGE_UNKNOWN:
            return False
        self._end(OrderStatus.CANCELLED, f"Reconciliation: {UNKNOWN_AT_EXCHANGE}", report.time)
        return True

    def check_replace(self, quantity: int | None, limit_price: Decimal | None) -> tuple[int, Decimal | None]:
        """Validates new terms for a resting order: a quantity above what filled (more or
        fewer shares: the wallet grows or shrinks the reservation), a limit price moved
        either way. Answers the new (quantity, limit price), or raises BAD_USER_INPUT."""
        if self.is_terminal:
            raise bad_input(f"The order is already {self.status.value}; there is nothing to replace.")
        if self.type is not OrderType.LIMIT:
            raise bad_input("Only LIMIT orders rest at B3 and can be replaced.")
        if self.oco_sibling_id is not None:
            raise bad_input(
                "Uma ordem OCO não pode ser alterada: cancele o par e envie outro (an OCO leg cannot be replaced)."
            )
        if self.pending is not None:
            raise bad_input(f"A {self.pending.value.lower()} of this order is under way at the exchange; wait for its answer.")
        if quantity is None and limit_price is None:
            raise bad_input("A replace needs a new quantity or a new limitPrice.")
        if quantity is not None and quantity <= self.filled_quantity:
            raise bad_input(f"quantity must be above the {self.filled_quantity} already filled; cancel the order instead.")
        if limit_price is not None:
            limit_price = OrderRequest(self.ticker, self.side, OrderType.LIMIT, 1, limit_price).validated().limit_price
        return (self.quantity if quantity is None else quantity), (self.limit_price if limit_price is None else limit_price)

    def cover_terms(self, quantity: int, limit_price: Decimal | None) -> tuple[int, Decimal | None]:
        """What the reservation must hold while a replace is under way: B3 may still fill
        the order on its old terms, or on the new ones, so the larger of each."""
        assert self.limit_price is not None and limit_price is not None
        return max(quantity, self.quantity), max(limit_price, self.limit_price)

    def request_replace(self, at: datetime) -> None:
        self.pending = PendingRequest.REPLACE
        self.updated_at = at

    def request_cancel(self, at: datetime) -> bool:
        """The trader asked to cancel; B3's report, not this, makes the order CANCELLED.
        False when a cancel is under way already: nothing more goes to B3."""
        if self.is_terminal:
            raise DomainError(ErrorCode.ORDER_NOT_CANCELLABLE, f"The order is already {self.status.value}.")
        if self.pending is PendingRequest.CANCEL:
            return False
        self.pending = PendingRequest.CANCEL
        self.cancel_requested_at = at
        self.updated_at = at
        return True

    def apply(self, report: ExecutionReport) -> Fill | None:
        """Applies one of B3's reports; returns the fill when it was one."""
        if report.order_id != self.id:
            raise InvalidTransition(f"report for {report.order_id} applied to order {self.id}")
        if report.exec_type is ExecType.ACCEPTED:
            self.accept(report.time)
        elif report.exec_type is ExecType.TRIGGERED:
            self.trigger(report.time)
        elif report.exec_type is ExecType.FILL:
            if not report.execution_id or report.quantity is None or report.price is None:
                raise InvalidTransition(f"order {self.id}: a FILL needs executionId, quantity and price")
            fill = Fill(report.execution_id, report.quantity, report.price, report.time)
            self.fill(fill)
            return fill
        elif report.exec_type is ExecType.CANCELLED:
            self.cancel(report.reason, report.time)
        elif report.exec_type is ExecType.EXPIRED:
            self.expire(report.reason, report.time)
        elif report.exec_type is ExecType.REJECTED:
            self.reject(report.reason, report.time)
        elif report.exec_type is ExecType.REPLACED:
            if report.quantity is None:
                raise InvalidTransition(f"order {self.id}: a REPLACED needs the new quantity")
            self.replace(report.quantity, report.price, report.time)
        elif report.exec_type in (ExecType.REPLACE_REJECTED, ExecType.CANCEL_REJECTED):
            self.refused(report)
        elif report.exec_type is ExecType.ORDER_STATUS:
            self.status_answered(report)
        return None

    def money_effect(self, report: ExecutionReport) -> MoneyEffect:
        """What `report` will do to the reservation, worked out on a copy (the order is
        unchanged); raises InvalidTransition for a report that does not fit."""
        after = replace(self)
        fill = after.apply(report)
        closed = after.is_terminal and not self.is_terminal
        terms = None
        if not after.is_terminal and report.exec_type is ExecType.REPLACED:
            terms = (after.quantity, after.reserved_price)
        elif not after.is_terminal and self.pending is PendingRequest.REPLACE and after.pending is None:
            # The replace was refused: the reservation goes back from its cover to the terms.
            terms = (after.quantity, after.reserved_price)
        return MoneyEffect(fill, terms, closed)

    @property
    def reserved_price(self) -> Decimal | None:
        """What the wallet reserves per open share: a LIMIT or STOP_LIMIT BUY its limit, a
        STOP BUY its protection (a SELL blocks shares)."""
        if self.side is not OrderSide.BUY:
            return None
        return self.protection_price if self.type is OrderType.STOP else self.limit_price
