"""The pure parts of `mybroker bench orders`: what each trader places, what its wallet must
hold afterwards, and the numbers of the report. No I/O here; bench/orders.py drives the
platform and feeds these.

- **The plan.** Every trader repeats one cycle of five orders: a MARKET BUY of one lot, a
  MARKET SELL of what was delivered, a LIMIT BUY far below the market that rests and is
  cancelled, a LIMIT BUY above the market (it trades at once), a LIMIT SELL below the
  market of what was delivered. `--orders-per-trader 2` is the BUY and its SELL.
- **The money.** A trader's ledger is what it deposited and every execution the platform
  reported on its orders. Cash must be deposits - bought value + sold value - fees, to the
  centavo, with nothing left blocked once every order is done; each position the bought
  minus the sold shares. The fees are the platform's schedule (mybroker/fees.py, from
  the same settings: Settings.fee_schedule): an order's fills together pay the costs of
  the order's total traded value (B3's fees each rounded half-even to the centavo, the
  brokerage and its ISS once), whatever the number of fills.
- **The numbers.** Percentiles are nearest-rank: the p-th percentile of n values is the
  ceil(p/100 x n)-th smallest, an observed value, never an interpolation."""
from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_FLOOR, Decimal
from enum import Enum

from mybroker.fees import NO_FEES, FeeSchedule
from mybroker.money import CENT, cents, cents_up

ZERO = Decimal("0.00")
LOT = 100
# Several liquid tickers, one per trader in turn, as a crowd of traders spreads over the market.
TICKERS = ("PETR4", "VALE3", "ITUB4", "BBDC4", "WEGE3")
# How far from the last price the LIMIT orders go: above/below it by enough to trade at once
# against the market maker's book, or far enough below it to rest.
MARKETABLE = Decimal("0.03")
AWAY = Decimal("0.10")

TERMINAL = frozenset({"FILLED", "CANCELLED", "REJECTED", "EXPIRED"})
# What counts an order as done for orders_per_s: it reached B3 and came back with an answer.
SEEN = frozenset({"FILLED", "CANCELLED", "REJECTED", "OPEN"})
# Business refusals a trader may meet and that are not errors of the platform.
REFUSED_SELL = "INSUFFICIENT_POSITION"


class Step(Enum):
    BUY_MARKET = "BUY MARKET"
    SELL_MARKET = "SELL MARKET (delivered)"
    BUY_LIMIT_AWAY = "BUY LIMIT away, cancelled"
    BUY_LIMIT = "BUY LIMIT marketable"
    SELL_LIMIT = "SELL LIMIT marketable (delivered)"

    @property
    def side(self) -> str:
        return "SELL" if self in (Step.SELL_MARKET, Step.SELL_LIMIT) else "BUY"

    @property
    def order_type(self) -> str:
        return "MARKET" if self in (Step.BUY_MARKET, Step.SELL_MARKET) else "LIMIT"

    @property
    def sells_delivered(self) -> bool:
        return self.side == "SELL"

    @property
    def rests(self) -> bool:
        """Placed away from the market: it rests OPEN and the trader cancels it."""
        return self is Step.BUY_LIMIT_AWAY


CYCLE = (Step.BUY_MARKET, Step.SELL_MARKET, Step.BUY_LIMIT_AWAY, Step.BUY_LIMIT, Step.SELL_LIMIT)


def order_plan(orders: int) -> list[Step]:
    """The steps of one trader, in order: the cycle repeated, cut at `orders`."""
    if orders < 0:
        raise ValueError("orders per trader must be 0 or more")
    return [CYCLE[i % len(CYCLE)] for i in range(orders)]


def ticker_for(trader: int) -> str:
    return TICKERS[trader % len(TICKERS)]


def limit_price(step: Step, last: Decimal) -> Decimal | None:
    """The LIMIT price for `step` given the last traded price; None for a MARKET order.
    Rounded away from the market for the marketable ones (they must trade), towards it
    for the resting one, and never below one centavo."""
    if step.order_type == "MARKET":
        return None
    if step is Step.BUY_LIMIT:
        return cents_up(last * (1 + MARKETABLE))
    factor = (1 - MARKETABLE) if step is Step.SELL_LIMIT else (1 - AWAY)
    return max(CENT, (last * factor).quantize(CENT, rounding=ROUND_FLOOR))


@dataclass(frozen=True)
class Fill:
    side: str
    ticker: str
    quantity: int
    price: Decimal


@dataclass
class Ledger:
    """What one trader put in and what the platform said it executed: the wallet it must see."""

    schedule: FeeSchedule = NO_FEES
    deposits: Decimal = ZERO
    fills: list[Fill] = field(default_factory=list)
    order_values: list[Decimal] = field(default_factory=list)  # each order's traded value

    def deposit(self, amount: Decimal) -> None:
        self.deposits += amount

    def add_executions(self, side: str, ticker: str, executions: Iterable[Mapping]) -> None:
        """Every execution of one order (it has ended)."""
        fills = [Fill(side, ticker, int(e["quantity"]), Decimal(e["price"])) for e in executions]
        self.fills.extend(fills)
        if fills:
            self.order_values.append(sum((cents(f.price * f.quantity) for f in fills), ZERO))

    def cash(self) -> Decimal:
        total = self.deposits - self.fees()
        for fill in self.fills:
            traded = cents(fill.price * fill.quantity)
            total += traded if fill.side == "SELL" else -traded
        return total

    def positions(self) -> dict[str, int]:
        held: dict[str, int] = {}
        for fill in self.fills:
            held[fill.ticker] = held.get(fill.ticker, 0) + (fill.quantity if fill.side == "BUY" else -fill.quantity)
        return {ticker: quantity for ticker, quantity in held.items() if quantity}

    def fees(self) -> Decimal:
        return sum((self.schedule.order_costs(value).total for value in self.order_values), ZERO)


def wallet_positions(wallet: Mapping) -> dict[str, int]:
    """{ticker: shares} of a `wallet { positions { asset { ticker } quantity } }` answer."""
    held: dict[str, int] = {}
    for position in wallet.get("positions") or []:
        if position["quantity"]:
            ticker = position["asset"]["ticker"]
            held[ticker] = held.get(ticker, 0) + int(position["quantity"])
    return held


def reflects(cash: Decimal, positions: Mapping[str, int], wallet: Mapping) -> bool:
    """Whether a wallet answer includes every fill behind (cash, positions): its cash,
    available plus blocked (a reservation moves money between the two, a fill changes the
    sum), and its shares."""
    total = Decimal(wallet["available"]) + Decimal(wallet["blocked"])
    return total == cash and wallet_positions(wallet) == dict(positions)


def money_problems(ledger: Ledger, wallet: Mapping) -> list[str]:
    """What is wrong with a trader's final wallet (every order done), in plain sentences;
    empty when cash and positions are what deposits, fills and fees make them."""
    problems = []
    available, blocked = Decimal(wallet["available"]), Decimal(wallet["blocked"])
    expected = ledger.cash()
    if available != expected:
        problems.append(f"available R$ {available}, expected R$ {expected} (deposits {ledger.deposits}, "
                        f"{len(ledger.fills)} fills, fees {ledger.fees()})")
    if blocked != ZERO:
        problems.append(f"R$ {blocked} still blocked with every order done")
    held, expected_positions = wallet_positions(wallet), ledger.positions()
    for ticker in sorted(set(held) | set(expected_positions)):
        if held.get(ticker, 0) != expected_positions.get(ticker, 0):
            problems.append(f"{ticker}: {held.get(ticker, 0)} shares, expected {expected_positions.get(ticker, 0)}")
    for position in wallet.get("positions") or []:
        if position.get("blockedQuantity"):
            problems.append(f"{position['asset']['ticker']}: {position['blockedQuantity']} shares still blocked")
    return problems


def error_codes(body: Mapping) -> list[str]:
    """The contract codes of a GraphQL answer's errors ("" for an error without one)."""
    return [str((error.get("extensions") or {}).get("code", "")) for error in body.get("errors") or []]


def is_refused_sell(side: str, body: Mapping) -> bool:
    """A SELL refused for want of free shares: the read-your-writes failure the bench counts
    apart (refused_sells), not a platform error."""
    codes = error_codes(body)
    return side == "SELL" and bool(codes) and all(code == REFUSED_SELL for code in codes)


def percentile(values: Sequence[float], p: float) -> float | None:
    """Nearest-rank percentile; None for no values."""
    if not values:
        return None
    if not 0 < p <= 100:
        raise ValueError("p must be in (0, 100]")
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 1)


@dataclass
class Measurements:
    """Everything the traders recorded, in seconds; `summary` makes the report's JSON."""

    place_latencies: list[float] = field(default_factory=list)
    fill_to_wallet: list[float] = field(default_factory=list)
    place_to_done: list[float] = field(default_factory=list)  # placeOrder answered -> first read done
    placed: int = 0
    seen: int = 0  # placed and then seen FILLED, CANCELLED, REJECTED or OPEN
    statuses: dict[str, int] = field(default_factory=dict)
    refused_sells: int = 0
    skipped_sells: int = 0  # nothing delivered to sell
    stale_reads: int = 0  # the read right after an order ended did not show it
    unreflected: int = 0  # fills the wallet never showed
    errors: int = 0
    error_samples: list[str] = field(default_factory=list)

    def error(self, what: str) -> None:
        self.errors += 1
        if len(self.error_samples) < 10:
            self.error_samples.append(what[:300])

    def summary(self, *, traders: int, seconds: float, money_ok: bool) -> dict:
        return {
            "orders_per_s": round(self.seen / seconds, 1) if seconds > 0 else 0.0,
            "place_p50_ms": _ms(percentile(self.place_latencies, 50)),
            "place_p99_ms": _ms(percentile(self.place_latencies, 99)),
            "fill_to_wallet_p99_ms": _ms(percentile(self.fill_to_wallet, 99)),
            "refused_sells": self.refused_sells,
            "errors": self.errors,
            "money_ok": money_ok,
            "traders": traders,
            "orders": self.placed,
            "seconds": round(seconds, 2),
            "fill_to_wallet_p50_ms": _ms(percentile(self.fill_to_wallet, 50)),
            "place_to_done_p50_ms": _ms(percentile(self.place_to_done, 50)),
            "place_to_done_p99_ms": _ms(percentile(self.place_to_done, 99)),
            "fills_never_in_wallet": self.unreflected,
            "stale_reads": self.stale_reads,
            "skipped_sells": self.skipped_sells,
            "statuses": dict(sorted(self.statuses.items())),
        }
