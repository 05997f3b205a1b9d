"""The wallet's domain: cash, positions, reservations and the ledger that explains them.

Pure arithmetic on Decimals, no I/O. Every change of cash is a signed `LedgerEntry`
(money into available cash is positive), so `available` is always the sum of the ledger
and `blocked` the sum of what open reservations hold (docs/internals.md, money rules).

A trade's cash (BUY, SELL, FEE entries) settles at B3 on D+2: its entries carry their
settlement date, and `cash_view` says what is settled, what settles when, and what may be
withdrawn. Sale proceeds buy at once; only settled cash leaves the broker."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Iterable

from mybroker import cost_basis
from mybroker.day_end import DayEnd
from mybroker.errors import DomainError, ErrorCode, bad_input
from mybroker.fees import NO_FEES, FeeKind, FeeSchedule
from mybroker.money import CENT, cents, cents_up
from mybroker.trading import OrderSide as Side

CURRENCY = "BRL"
ZERO = Decimal("0.00")
# One deposit or withdrawal at most; a fat finger should not mint R$ 10^15.
MAX_TRANSFER = Decimal("10000000.00")
# Average prices keep more places than cash so that re-weighting does not drift (the rule
# is mybroker.cost_basis, shared with the portfolio).
AVERAGE_PRICE_PLACES = cost_basis.AVERAGE_PRICE_PLACES


class TransactionType(str, Enum):
    DEPOSIT = "DEPOSIT"
    WITHDRAWAL = "WITHDRAWAL"
    RESERVE = "RESERVE"
    RELEASE = "RELEASE"
    BUY = "BUY"
    SELL = "SELL"
    FEE = "FEE"
    # The trading day's end (subgraphs/wallet/day_end.py): the day trades' B3 fees at
    # day-trade rates less the swing-trade rates the fills were charged, one line per item
    # (fee_kind), usually a credit; settles with the day's trades.
    FEE_ADJUSTMENT = "FEE_ADJUSTMENT"
    # Corporate events (subgraphs/wallet/corporate_events.py): each line carries the event
    # id, the ticker and, but for FRACTION_CASH, the shares it concerns (`quantity`).
    DIVIDEND = "DIVIDEND"  # gross dividends credited (quantity: the shares entitled)
    JCP = "JCP"  # gross juros sobre capital próprio credited
    # Income tax withheld at source (negative): on a DIVIDEND or JCP payment (event_id set,
    # settled at once), or on the day's trades at the day's end (the "dedo-duro": no event,
    # settles with the day's trades).
    IRRF = "IRRF"
    SPLIT = "SPLIT"  # amount 0; quantity: the shares the split added
    REVERSE_SPLIT = "REVERSE_SPLIT"  # amount 0; quantity: the shares the grouping removed (negative)
    FRACTION_CASH = "FRACTION_CASH"  # what a reverse split pays for the fraction of a share left over


class ReservationStatus(str, Enum):
    OPEN = "OPEN"
    CLOSED = "CLOSED"


class SettlementError(ValueError):
    """An execution the reservation cannot account for (over-fill, fill after close): a bug
    upstream, so the message is retried and dead-lettered rather than silently absorbed."""


@dataclass(frozen=True)
class LedgerEntry:
    type: TransactionType
    amount: Decimal  # signed: money into available cash is positive
    order_id: str | None = None
    settles_on: date | None = None  # a trade's cash: its settlement day (D+2); None: at once
    # What a statement line needs to say "Compra PETR4 100 @ 31,45": the order's ticker (on
    # every entry of an order), and the fill's quantity and price (on BUY and SELL).
    ticker: str | None = None
    quantity: int | None = None
    price: Decimal | None = None
    fee_kind: FeeKind | None = None  # FEE: which cost (emolumentos, liquidação, brokerage, ISS)
    event_id: str | None = None  # the corporate event a DIVIDEND, JCP, IRRF, SPLIT... line comes from


@dataclass(frozen=True)
class PostedEntry:
    """A ledger entry as stored: what `Wallet.transactions` lists."""

    id: str
    type: TransactionType
    amount: Decimal
    order_id: str | None
    created_at: datetime
    settles_on: date | None = None
    ticker: str | None = None
    quantity: int | None = None
    price: Decimal | None = None
    fee_kind: FeeKind | None = None
    event_id: str | None = None


@dataclass(frozen=True)
class EntryFilter:
    """Which ledger entries a history page holds: any of the types and tickers (empty: all),
    posted from `since` (inclusive) until `until` (exclusive)."""

    types: tuple[TransactionType, ...] = ()
    tickers: tuple[str, ...] = ()
    since: datetime | None = None
    until: datetime | None = None


@dataclass(frozen=True)
class CashToSettle:
    """The trades' cash that settles on one day: `amount` net (sales in, purchases and fees
    out), and `balance`, the settled cash once it has (a projected balance)."""

    day: date
    amount: Decimal
    balance: Decimal


@dataclass(frozen=True)
class CashView:
    """The wallet's cash as of a day: `settled` at B3; `to_settle` by day, oldest first;
    `buying_power` (= available: sale proceeds buy at once); `withdrawable`, the available
    cash that does not come from sales still to settle."""

    settled: Decimal
    to_settle: tuple[CashToSettle, ...]
    buying_power: Decimal
    withdrawable: Decimal
    receivable: tuple[tuple[date, Decimal], ...]  # sale proceeds still to come in, by day


def cash_view(available: Decimal, blocked: Decimal, unsettled: Iterable[tuple[date, Decimal]]) -> CashView:
    """From the balances and the ledger's unsettled trade entries (settlement day, signed
    amount): the entries' cash is in `available` already, so settled cash is the wallet's
    total less what has yet to settle."""
    by_day: dict[date, Decimal] = {}
    receivable: dict[date, Decimal] = {}
    for day, amount in unsettled:
        by_day[day] = by_day.get(day, ZERO) + amount
        if amount > 0:
            receivable[day] = receivable.get(day, ZERO) + amount
    settled = available + blocked - sum(by_day.values(), ZERO)
    projected, balance = [], settled
    for day in sorted(by_day):
        balance += by_day[day]
        projected.append(CashToSettle(day, by_day[day], balance))
    incoming = sum(receivable.values(), ZERO)
    return CashView(
        settled=settled,
        to_settle=tuple(projected),
        buying_power=available,
        withdrawable=max(ZERO, available - incoming),
        receivable=tuple(sorted(receivable.items())),
    )


def check_transfer_amount(amount: Decimal) -> Decimal:
    """A deposit or withdrawal: positive, whole centavos, within MAX_TRANSFER."""
    if not amount.is_finite() or amount <= 0:
        raise bad_input("The amount must be greater than zero.")
    if amount != amount.quantize(CENT):
        raise bad_input("The amount may have at most two decimal places.")
    if amount > MAX_TRANSFER:
        raise bad_input(f"The amount may be at most {MAX_TRANSFER} per operation.")
    return amount.quantize(CENT)


@dataclass
class Position:
    ticker: str
    quantity: int = 0
    blocked_quantity: int = 0  # reserved by open SELL orders
    average_price: Decimal = Decimal("0")

    @property
    def free_quantity(self) -> int:
        return self.quantity - self.blocked_quantity

    @property
    def is_open(self) -> bool:
        return self.quantity > 0

    def add_bought(self, quantity: int, cost: Decimal) -> None:
        """Average price re-weighted by quantity; `cost` includes the fees, as the tax
        authority counts it (mybroker.cost_basis, the portfolio's rule too)."""
        self.average_price = cost_basis.reweighted(self.quantity, self.average_price, quantity, cost)
        self.quantity += quantity

    def block(self, quantity: int) -> None:
        if quantity > self.free_quantity:
            raise DomainError(
                ErrorCode.INSUFFICIENT_POSITION,
                f"You have {max(self.free_quantity, 0)} free {self.ticker} shares; this order needs {quantity}.",
            )
        self.blocked_quantity += quantity

    def unblock(self, quantity: int) -> None:
        self.blocked_quantity -= quantity

    def deliver(self, quantity: int) -> None:
        """Sold shares leave the position; they were blocked by the SELL order. The average
        price of what stays is unchanged; a closed position forgets it."""
        self.quantity -= quantity
        self.blocked_quantity -= quantity
        if self.quantity == 0:
            self.average_price = Decimal("0")


@dataclass
class Reservation:
    """What one order holds: cash for a BUY (price per share × quantity, plus what its fills
    may cost: mybroker.fees), shares for a SELL (and cash for its brokerage, when the plan
    charges one, so that a small sale's costs never overdraw). Shrinks with each fill;
    closes on a terminal status."""

    order_id: str
    user_id: str
    side: Side
    ticker: str
    price_per_share: Decimal
    quantity: int
    open_quantity: int
    amount: Decimal  # cash blocked at the start
    blocked_amount: Decimal  # cash still blocked
    status: ReservationStatus = ReservationStatus.OPEN
    traded_amount: Decimal = ZERO  # the value the order's fills have traded so far (its fees count on it)

    @property
    def is_open(self) -> bool:
        return self.status is ReservationStatus.OPEN

    def same_request(self, side: Side, ticker: str, quantity: int, price_per_share: Decimal) -> bool:
        if (self.side, self.ticker, self.quantity) != (side, ticker, quantity):
            return False
        return side is Side.SELL or self.price_per_share == cents_up(price_per_share)


@dataclass
class Wallet:
    id: str
    user_id: str
    available: Decimal = ZERO
    blocked: Decimal = ZERO
    currency: str = CURRENCY
    # Entries produced since this object was loaded; the service persists and publishes them.
    new_entries: list[LedgerEntry] = field(default_factory=list)

    # ------------------------------------------------------------ cash in and out

    def deposit(self, amount: Decimal) -> None:
        self._post(TransactionType.DEPOSIT, check_transfer_amount(amount))

    def withdraw(self, amount: Decimal, cash: CashView | None = None) -> None:
        """`cash`: the wallet's settlement view now; without it every cash is settled."""
        amount = check_transfer_amount(amount)
        if amount > self.available:
            raise DomainError(
                ErrorCode.INSUFFICIENT_FUNDS, f"You have R$ {self.available} available; cannot withdraw R$ {amount}."
            )
        if cash is not None and amount > cash.withdrawable:
            dates = ", ".join(f"R$ {value} on {day.strftime('%d/%m/%Y')}" for day, value in cash.receivable)
            raise DomainError(
                ErrorCode.UNSETTLED_FUNDS,
                f"You can withdraw R$ {cash.withdrawable} now; the rest comes from sales that settle at B3 on D+2 ({dates}).",
            )
        self._post(TransactionType.WITHDRAWAL, -amount)

    # ------------------------------------------------------------ reservations

    def reserve(
        self,
        order_id: str,
        side: Side,
        ticker: str,
        quantity: int,
        price_per_share: Decimal | None,
        position: Position,
        fees: FeeSchedule = NO_FEES,
    ) -> Reservation:
        """Check and block in one step: a BUY blocks cash, a SELL blocks free shares."""
        if not order_id:
            raise bad_input("A reservation needs an order id.")
        if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity <= 0:
            raise bad_input("The quantity must be a positive whole number of shares.")
        if position.ticker != ticker:
            raise ValueError(f"position {position.ticker} given for a {ticker} reservation")
        if side is Side.SELL:
            # The sale's B3 fees come out of its proceeds; a brokerage may exceed a small
            # sale's, so its cash is blocked until the first fill pays it.
            amount = sum(fees.brokerage(), ZERO)
            self._check_funds(amount, "This order needs R$ {amount} for its brokerage")
            position.block(quantity)
            if amount:
                self._post(TransactionType.RESERVE, -amount, order_id, ticker=ticker)
                self.blocked += amount
            return Reservation(order_id, self.user_id, side, ticker, ZERO, quantity, quantity, amount, amount)
        if price_per_share is None or not price_per_share.is_finite() or price_per_share <= 0:
            raise bad_input("A BUY reservation needs a positive price per share.")
        # Prices move in centavos; a computed cap (last price + collar) is rounded up, never down.
        price_per_share = cents_up(price_per_share)
        value = price_per_share * quantity
        # Value plus every cost of filling it in full: the most the fills can take (fees.py).
        amount = value + fees.still_to_pay(ZERO, value)
        self._check_funds(amount, "This order needs R$ {amount}")
        self._post(TransactionType.RESERVE, -amount, order_id, ticker=ticker)
        self.blocked += amount
        return Reservation(order_id, self.user_id, side, ticker, price_per_share, quantity, quantity, amount, amount)

    def _check_funds(self, amount: Decimal, need: str) -> None:
        if amount > self.available:
            raise DomainError(
                ErrorCode.INSUFFICIENT_FUNDS, need.format(amount=amount) + f"; you have R$ {self.available} available."
            )

    def settle_fill(
        self,
        reservation: Reservation,
        position: Position,
        quantity: int,
        price: Decimal,
        fees: FeeSchedule = NO_FEES,
        settles_on: date | None = None,
    ) -> None:
        """One execution of the reservation's order, at the executed price; its cash
        settles at B3 on `settles_on` (D+2 of the trading day)."""
        if not reservation.is_open:
            raise SettlementError(f"order {reservation.order_id}: fill after its reservation closed")
        if quantity <= 0 or quantity > reservation.open_quantity:
            raise SettlementError(
                f"order {reservation.order_id}: fill of {quantity} with {reservation.open_quantity} open"
            )
        if not price.is_finite() or price <= 0:
            raise SettlementError(f"order {reservation.order_id}: fill at price {price}")
        traded = cents(price * quantity)
        costs = fees.fill_costs(reservation.traded_amount, traded)
        reservation.traded_amount += traded
        reservation.open_quantity -= quantity
        order_id = reservation.order_id
        if reservation.side is Side.BUY:
            # This fill is paid from the block, which keeps what the open shares may still
            # cost (their value and their fees, counted on the order's cumulative value, so
            # the block always holds them: fees.py); the rest is released at once.
            remaining = reservation.price_per_share * reservation.open_quantity
            if costs.total > reservation.blocked_amount - traded - remaining:
                # Only a fill above the reserved price gets here (B3 never makes one).
                raise SettlementError(f"order {order_id}: fill of {traded} + costs {costs.total} exceeds its block")
            keep = min(
                remaining + fees.still_to_pay(reservation.traded_amount, remaining),
                reservation.blocked_amount - traded - costs.total,
            )
            self._release(reservation, reservation.blocked_amount - keep)
            self._post(TransactionType.BUY, -traded, order_id, settles_on=settles_on, ticker=reservation.ticker, quantity=quantity, price=price)
            position.add_bought(quantity, traded + costs.total)
        else:
            position.deliver(quantity)
            # The brokerage the block held is paid now (first fill): the block goes back.
            self._release(reservation, reservation.blocked_amount)
            self._post(TransactionType.SELL, traded, order_id, settles_on=settles_on, ticker=reservation.ticker, quantity=quantity, price=price)
        for kind, amount in costs.items():
            self._post(TransactionType.FEE, -amount, order_id, settles_on=settles_on, ticker=reservation.ticker, fee_kind=kind)

    def set_terms(
        self,
        reservation: Reservation,
        quantity: int,
        price_per_share: Decimal | None,
        position: Position | None,
        fees: FeeSchedule = NO_FEES,
    ) -> None:
        """New terms for an open order (a replace): `quantity` is the order's new total and
        `price_per_share` what a BUY's open shares may cost. What the reservation blocks
        becomes exactly what those terms need: the excess is released at once, and more is
        blocked or refused (INSUFFICIENT_FUNDS / INSUFFICIENT_POSITION, nothing changed).
        Setting the same terms twice changes nothing, so a redelivered request is harmless."""
        if not reservation.is_open:
            raise bad_input(f"Order {reservation.order_id} holds nothing any more; its terms cannot change.")
        filled = reservation.quantity - reservation.open_quantity
        open_quantity = quantity - filled
        if open_quantity <= 0:
            raise bad_input(f"The new quantity must be above the {filled} shares already filled.")
        if reservation.side is Side.SELL:
            if position is None:
                raise ValueError(f"order {reservation.order_id}: a SELL's terms need its position")
            extra_shares = open_quantity - reservation.open_quantity
            if extra_shares > 0:
                position.block(extra_shares)
            else:
                position.unblock(-extra_shares)
        else:
            if price_per_share is None or not price_per_share.is_finite() or price_per_share <= 0:
                raise bad_input("A BUY needs a positive price per share.")
            price_per_share = cents_up(price_per_share)
            value = price_per_share * open_quantity
            need = value + fees.still_to_pay(reservation.traded_amount, value)
            extra = need - reservation.blocked_amount
            if extra > self.available:
                raise DomainError(
                    ErrorCode.INSUFFICIENT_FUNDS,
                    f"These terms need R$ {extra} more; you have R$ {self.available} available.",
                )
            if extra > 0:
                self._post(TransactionType.RESERVE, -extra, reservation.order_id, ticker=reservation.ticker)
                self.blocked += extra
                reservation.blocked_amount += extra
            else:
                self._release(reservation, -extra)
            reservation.price_per_share = price_per_share
        reservation.quantity = quantity
        reservation.open_quantity = open_quantity

    def release(self, reservation: Reservation, position: Position | None) -> None:
        """Closes the reservation and frees whatever it still holds (terminal status or
        compensation). Releasing a closed reservation changes nothing."""
        if not reservation.is_open:
            return
        self._release(reservation, reservation.blocked_amount)
        if reservation.side is Side.SELL and reservation.open_quantity:
            if position is None:
                raise ValueError(f"order {reservation.order_id}: a SELL release needs its position")
            position.unblock(reservation.open_quantity)
        reservation.open_quantity = 0
        reservation.status = ReservationStatus.CLOSED

    # ------------------------------------------------------------ the trading day's end

    def close_trading_day(self, end: DayEnd, settles_on: date) -> None:
        """The day's end of this wallet's trades that settle on `settles_on`: the fees'
        difference item by item (negative items give money back) and the IRRF withheld,
        each settling with the trades. Nothing to post on a day with neither."""
        for kind, difference in end.adjustment.items():
            self._post(TransactionType.FEE_ADJUSTMENT, -difference, settles_on=settles_on, fee_kind=kind)
        if end.irrf:
            self._post(TransactionType.IRRF, -end.irrf, settles_on=settles_on)

    # ------------------------------------------------------------ corporate events

    def receive_income(
        self, kind: TransactionType, ticker: str, entitled: int, gross: Decimal, withheld: Decimal, event_id: str
    ) -> None:
        """A dividend or JCP payment on `entitled` shares: the gross in, and the income tax
        withheld at source out, as its own line (IRRF) when there is any. Settled at once."""
        if kind not in (TransactionType.DIVIDEND, TransactionType.JCP):
            raise ValueError(f"{kind} is not an income payment")
        if entitled <= 0 or gross <= 0 or withheld < 0 or withheld > gross:
            raise ValueError(f"income of {gross} on {entitled} shares withholding {withheld}")
        self._post(kind, gross, ticker=ticker, quantity=entitled, event_id=event_id)
        if withheld:
            self._post(TransactionType.IRRF, -withheld, ticker=ticker, quantity=entitled, event_id=event_id)

    def split_position(
        self, position: Position, entitled: int, new: int, old: int, fraction_price: Decimal | None, event_id: str
    ) -> cost_basis.Split:
        """A split or reverse split of the `entitled` shares (those held at the close of the
        record date) of `position`: the quantity and the average change, the cost stays
        (mybroker.cost_basis.split); a reverse split's fraction of a share is paid in cash
        at `fraction_price` per new share. The shares an open SELL order blocks must be
        none (corporate_events.py says why)."""
        if position.blocked_quantity:
            raise ValueError(f"{position.ticker}: {position.blocked_quantity} shares are blocked by open SELL orders")
        result = cost_basis.split(position.quantity, position.average_price, entitled, new, old)
        position.quantity, position.average_price = result.quantity, result.average_price
        kind = TransactionType.SPLIT if new > old else TransactionType.REVERSE_SPLIT
        self._post(kind, ZERO, ticker=position.ticker, quantity=result.added, event_id=event_id)
        if result.fraction_numerator and fraction_price is not None:
            cash = cents(fraction_price * result.fraction_numerator / old)
            if cash > 0:
                self._post(TransactionType.FRACTION_CASH, cash, ticker=position.ticker, event_id=event_id)
        return result

    # ------------------------------------------------------------ ledger

    def _release(self, reservation: Reservation, amount: Decimal) -> None:
        if amount <= 0:
            return
        reservation.blocked_amount -= amount
        self.blocked -= amount
        self._post(TransactionType.RELEASE, amount, reservation.order_id, ticker=reservation.ticker)

    def _post(
        self,
        kind: TransactionType,
        amount: Decimal,
        order_id: str | None = None,
        *,
        settles_on: date | None = None,
        ticker: str | None = None,
        quantity: int | None = None,
        price: Decimal | None = None,
        fee_kind: FeeKind | None = None,
        event_id: str | None = None,
    ) -> None:
        self.available += amount
        self.new_entries.append(LedgerEntry(kind, amount, order_id, settles_on, ticker, quantity, price, fee_kind, event_id))
