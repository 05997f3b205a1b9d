"""What must hold after the chaos run, once the platform is quiet: pure checks of one
snapshot (tests/unit/chaos tests them; tests/chaos/cluster.py reads the snapshot).

Three independent witnesses are compared:
- the exchange: its journal's fills (every execution id B3 produced) and its books as the
  journal rebuilds them (which orders rest, with how many shares left);
- the broker: the orders service's orders with their executions, and the wallet's
  reservations, ledger and settled fills, and what a trader reads of the wallet;
- the traders: what they deposited and withdrew, and which order ids they were answered.

Every finding falls in one class, each of which must be empty:
- lost: something one side has and the other does not (an acknowledged order the broker
  has not, an order resting at B3 that the broker has ended or never heard of, a fill of
  B3's the broker or the wallet never applied);
- stuck: an order that is not terminal and not resting at B3 (PENDING, a cancel or replace
  never answered, OPEN at the broker only), or money held for an order that is not live;
- duplicated: a fill applied more than once (per execution id, in the orders service and in
  the wallet's ledger), or an execution B3 never produced;
- money: cash, blocked cash or positions that do not follow from the deposits,
  withdrawals, fees and B3's fills."""
from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, ROUND_HALF_EVEN, Decimal
from typing import Iterable, Mapping

from mybroker.fees import NO_FEES, FeeSchedule

CENT = Decimal("0.01")
LIVE = frozenset({"OPEN", "PARTIALLY_FILLED"})
TERMINAL = frozenset({"FILLED", "CANCELLED", "REJECTED", "EXPIRED"})
CLASSES = ("lost", "stuck", "duplicated", "money")


def cents(amount: Decimal) -> Decimal:
    """The nearest centavo, half to even: how the platform rounds a traded value and a fee."""
    return amount.quantize(CENT, rounding=ROUND_HALF_EVEN)


def cents_up(amount: Decimal) -> Decimal:
    """Rounded up to the centavo: what a BUY blocks for its price and its fee allowance."""
    return amount.quantize(CENT, rounding=ROUND_CEILING)


def standard_ticker(ticker: str) -> str:
    """The position an odd-lot ticker lands in (PETR4F -> PETR4)."""
    return ticker[:-1] if ticker.endswith("F") and ticker[-2:-1].isdigit() else ticker


@dataclass(frozen=True)
class ExchangeFill:
    execution_id: str
    order_id: str
    side: str  # BUY | SELL
    quantity: int
    price: Decimal

    @property
    def value(self) -> Decimal:
        return cents(self.price * self.quantity)


@dataclass(frozen=True)
class BrokerOrder:
    id: str
    user_id: str
    ticker: str
    side: str
    type: str
    quantity: int
    limit_price: Decimal | None
    status: str  # as stored: PENDING, OPEN, PARTIALLY_FILLED or terminal
    pending: str | None  # a cancel or replace asked of B3 and not answered
    filled_quantity: int
    execution_ids: tuple[str, ...] = ()
    reason: str | None = None  # why it was cancelled, rejected or expired


@dataclass(frozen=True)
class Reservation:
    order_id: str
    user_id: str
    side: str
    ticker: str
    open_quantity: int
    blocked_amount: Decimal
    is_open: bool


@dataclass(frozen=True)
class LedgerEntry:
    user_id: str
    type: str  # DEPOSIT, WITHDRAWAL, RESERVE, RELEASE, BUY, SELL, FEE, and a day's end: FEE_ADJUSTMENT, IRRF
    amount: Decimal  # signed: into available cash is positive
    order_id: str | None = None


@dataclass(frozen=True)
class WalletView:
    """What the trader reads: `me { wallet { available blocked positions } }`."""

    user_id: str
    available: Decimal
    blocked: Decimal
    positions: Mapping[str, tuple[int, int]]  # ticker -> (quantity, blocked quantity)


@dataclass
class Trader:
    """One trader's own record of what it did."""

    user_id: str
    deposits: list[Decimal] = field(default_factory=list)
    withdrawals: list[Decimal] = field(default_factory=list)
    acknowledged: set[str] = field(default_factory=set)  # order ids placeOrder answered


@dataclass
class Snapshot:
    traders: list[Trader]
    orders: list[BrokerOrder]
    exchange_fills: list[ExchangeFill]
    exchange_orders: set[str]  # every order id B3 received a NewOrder for
    resting: Mapping[str, int]  # order id -> shares left, for orders resting in B3's books
    reservations: list[Reservation]
    ledger: list[LedgerEntry]
    settled_fills: list[tuple[str, str]]  # the wallet's (execution id, order id)
    wallets: list[WalletView]
    fees: FeeSchedule = NO_FEES  # the platform's schedule (mybroker/fees.py)


@dataclass
class Report:
    findings: dict[str, list[str]] = field(default_factory=lambda: {name: [] for name in CLASSES})
    orders: int = 0
    fills: int = 0

    def add(self, kind: str, what: str) -> None:
        self.findings[kind].append(what)

    def count(self, kind: str) -> int:
        return len(self.findings[kind])

    @property
    def ok(self) -> bool:
        return not any(self.findings.values())

    def line(self, faults: int) -> str:
        counts = " ".join(f"{kind}={self.count(kind)}" for kind in CLASSES)
        return f"chaos: orders={self.orders} fills={self.fills} faults={faults} {counts}"

    def details(self, limit: int = 20) -> str:
        lines = []
        for kind in CLASSES:
            for what in self.findings[kind][:limit]:
                lines.append(f"  {kind}: {what}")
            if len(self.findings[kind]) > limit:
                lines.append(f"  {kind}: ... {len(self.findings[kind]) - limit} more")
        return "\n".join(lines)


def check(snapshot: Snapshot) -> Report:
    report = Report(orders=len(snapshot.orders), fills=len(snapshot.exchange_fills))
    orders = {order.id: order for order in snapshot.orders}
    users = {trader.user_id for trader in snapshot.traders}
    fills_by_order: dict[str, list[ExchangeFill]] = defaultdict(list)
    for fill in snapshot.exchange_fills:
        fills_by_order[fill.order_id].append(fill)
    _orders_against_the_exchange(snapshot, orders, fills_by_order, report)
    _fills_applied_once(snapshot, orders, fills_by_order, report)
    _reservations(snapshot, orders, report)
    _money(snapshot, orders, users, fills_by_order, report)
    return report


def _orders_against_the_exchange(
    snapshot: Snapshot, orders: dict[str, BrokerOrder], fills: dict[str, list[ExchangeFill]], report: Report
) -> None:
    for trader in snapshot.traders:
        for order_id in sorted(trader.acknowledged - orders.keys()):
            report.add("lost", f"order {order_id} was acknowledged to {trader.user_id} but the broker has no such order")
    for order in snapshot.orders:
        where = f"order {order.id} ({order.side} {order.type} {order.quantity} {order.ticker})"
        if order.status == "PENDING":
            report.add("stuck", f"{where} is still PENDING")
        elif order.pending is not None:
            report.add("stuck", f"{where} still waits for the answer to its {order.pending} request ({order.status})")
        elif order.status in LIVE and order.id not in snapshot.resting:
            report.add("stuck", f"{where} reads {order.status} but B3 does not hold it")
        elif order.status in LIVE:
            exchange_filled = sum(fill.quantity for fill in fills.get(order.id, ()))
            left = snapshot.resting[order.id]
            if left != order.quantity - exchange_filled:
                report.add("stuck", f"{where}: B3 rests {left} shares, the broker expects {order.quantity - exchange_filled}")
        elif order.status not in TERMINAL:
            report.add("stuck", f"{where} has the unknown status {order.status}")
        if order.status in TERMINAL and order.id in snapshot.resting:
            report.add("lost", f"{where} is {order.status} at the broker but still rests in B3's book")
    for order_id in sorted(snapshot.exchange_orders - orders.keys()):
        report.add("lost", f"B3 received order {order_id}, which the broker does not have")


def _fills_applied_once(
    snapshot: Snapshot, orders: dict[str, BrokerOrder], fills: dict[str, list[ExchangeFill]], report: Report
) -> None:
    exchange_ids = {fill.execution_id for fill in snapshot.exchange_fills}
    for order in snapshot.orders:
        where = f"order {order.id}"
        applied = Counter(order.execution_ids)
        for execution_id, times in applied.items():
            if times > 1:
                report.add("duplicated", f"{where}: execution {execution_id} applied {times} times by orders")
            if execution_id not in exchange_ids:
                report.add("duplicated", f"{where}: execution {execution_id} was never produced by B3")
        expected = {fill.execution_id for fill in fills.get(order.id, ())}
        for execution_id in sorted(expected - applied.keys()):
            report.add("lost", f"{where}: B3's execution {execution_id} was never applied by orders")
        exchange_filled = sum(fill.quantity for fill in fills.get(order.id, ()))
        if order.filled_quantity > exchange_filled:
            report.add("duplicated", f"{where}: filled {order.filled_quantity} at the broker, {exchange_filled} at B3")
        elif order.filled_quantity < exchange_filled:
            report.add("lost", f"{where}: filled {order.filled_quantity} at the broker, {exchange_filled} at B3")
    for order_id, order_fills in fills.items():
        if order_id not in orders:
            report.add("lost", f"B3 filled order {order_id} ({len(order_fills)} fills), which the broker does not have")
    # The wallet: one settled row per B3 execution, and as many BUY/SELL ledger entries
    # per order as B3 filled it, for the same value (two entries for one fill: applied twice).
    settled = Counter(execution_id for execution_id, _ in snapshot.settled_fills)
    for execution_id, times in settled.items():
        if times > 1:
            report.add("duplicated", f"the wallet settled execution {execution_id} {times} times")
        elif execution_id not in exchange_ids:
            report.add("duplicated", f"the wallet settled execution {execution_id}, which B3 never produced")
    for execution_id in sorted(exchange_ids - settled.keys()):
        report.add("lost", f"the wallet never settled B3's execution {execution_id}")
    trades: dict[str, list[LedgerEntry]] = defaultdict(list)
    for entry in snapshot.ledger:
        if entry.type in ("BUY", "SELL") and entry.order_id is not None:
            trades[entry.order_id].append(entry)
    for order_id in sorted(fills.keys() | trades.keys()):
        entries, order_fills = trades.get(order_id, []), fills.get(order_id, [])
        if len(entries) > len(order_fills):
            report.add("duplicated", f"order {order_id}: {len(entries)} trade entries in the ledger for {len(order_fills)} fills at B3")
        elif len(entries) < len(order_fills):
            report.add("lost", f"order {order_id}: {len(entries)} trade entries in the ledger for {len(order_fills)} fills at B3")
        else:
            booked = sum((abs(entry.amount) for entry in entries), Decimal("0"))
            traded = sum((fill.value for fill in order_fills), Decimal("0"))
            if booked != traded:
                report.add("money", f"order {order_id}: the ledger booked R$ {booked} of trades, B3 traded R$ {traded}")


def _reservations(snapshot: Snapshot, orders: dict[str, BrokerOrder], report: Report) -> None:
    """Money is held exactly for live orders: an open reservation with no live order
    behind it is money stuck; a live order without one could spend money twice."""
    open_ones = {r.order_id: r for r in snapshot.reservations if r.is_open}
    for reservation in open_ones.values():
        order = orders.get(reservation.order_id)
        if order is None:
            report.add("stuck", f"reservation {reservation.order_id} holds money for an order that does not exist")
        elif order.status in TERMINAL:
            report.add("stuck", f"reservation {reservation.order_id} holds money for an order that is {order.status}")
    for order in snapshot.orders:
        if order.status in LIVE and order.id not in open_ones:
            report.add("money", f"order {order.id} is {order.status} with no open reservation behind it")


# The lines a trading day's end posts; a run that spans 18:00 in Brasília sees them.
DAY_END_LINES = frozenset({"FEE_ADJUSTMENT", "IRRF"})


def _money(
    snapshot: Snapshot,
    orders: dict[str, BrokerOrder],
    users: set[str],
    fills: dict[str, list[ExchangeFill]],
    report: Report,
) -> None:
    """Per trader, from B3's fills and the trader's own transfers alone: total cash, what
    is blocked, and each position with its blocked shares."""
    schedule = snapshot.fees
    wallets = {wallet.user_id: wallet for wallet in snapshot.wallets}
    expected_cash: dict[str, Decimal] = defaultdict(Decimal)
    expected_blocked: dict[str, Decimal] = defaultdict(Decimal)
    expected_shares: dict[str, Counter] = defaultdict(Counter)
    expected_blocked_shares: dict[str, Counter] = defaultdict(Counter)
    for trader in snapshot.traders:
        expected_cash[trader.user_id] += sum(trader.deposits, Decimal("0")) - sum(trader.withdrawals, Decimal("0"))
    for order in snapshot.orders:
        ticker = standard_ticker(order.ticker)
        filled, traded = 0, Decimal("0.00")
        for fill in fills.get(order.id, ()):
            filled += fill.quantity
            traded += fill.value
            signed = fill.value if fill.side == "SELL" else -fill.value
            expected_cash[order.user_id] += signed
            expected_shares[order.user_id][ticker] += fill.quantity if fill.side == "BUY" else -fill.quantity
        # An order's fills together pay the costs of its total traded value.
        expected_cash[order.user_id] -= schedule.order_costs(traded).total if traded else Decimal("0")
        if order.status in LIVE:
            left = order.quantity - filled
            if order.side == "BUY" and order.limit_price is not None:
                value = cents_up(order.limit_price) * left
                expected_blocked[order.user_id] += value + schedule.still_to_pay(traded, value)
            elif order.side == "SELL":
                expected_blocked_shares[order.user_id][ticker] += left
    ledger_cash: dict[str, Decimal] = defaultdict(Decimal)
    for entry in snapshot.ledger:
        ledger_cash[entry.user_id] += entry.amount
        if entry.type in DAY_END_LINES:
            # A trading day that ended during the run: the wallet settled its final costs
            # and the IRRF withheld (subgraphs/wallet/day_end.py, unit- and e2e-tested
            # against the brokerage note). Cash moved by them as the ledger says.
            expected_cash[entry.user_id] += entry.amount
    for user_id in sorted(users):
        wallet = wallets.get(user_id)
        if wallet is None:
            report.add("money", f"trader {user_id}: no wallet to read")
            continue
        total = wallet.available + wallet.blocked
        if total != expected_cash[user_id]:
            report.add("money", f"trader {user_id}: cash R$ {total} (available + blocked), expected R$ {expected_cash[user_id]}")
        if wallet.blocked != expected_blocked[user_id]:
            report.add("money", f"trader {user_id}: R$ {wallet.blocked} blocked, live orders need R$ {expected_blocked[user_id]}")
        if ledger_cash[user_id] != wallet.available:
            report.add("money", f"trader {user_id}: R$ {wallet.available} available, the ledger sums to R$ {ledger_cash[user_id]}")
        tickers = set(wallet.positions) | set(expected_shares[user_id]) | set(expected_blocked_shares[user_id])
        for ticker in sorted(tickers):
            quantity, blocked = wallet.positions.get(ticker, (0, 0))
            want, want_blocked = expected_shares[user_id][ticker], expected_blocked_shares[user_id][ticker]
            if quantity != want:
                report.add("money", f"trader {user_id}: {quantity} {ticker} shares, B3's fills give {want}")
            if blocked != want_blocked:
                report.add("money", f"trader {user_id}: {blocked} {ticker} shares blocked, live SELL orders need {want_blocked}")


def acknowledged_total(traders: Iterable[Trader]) -> int:
    return sum(len(trader.acknowledged) for trader in traders)
