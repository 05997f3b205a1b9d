"""Portfolio arithmetic: positions built from fills, valued at the latest prices.

A holding keeps its cost basis (what the open quantity cost, in cents) rather than an
average price, so the cost of what was bought is never lost to rounding: buys add their
exact value, a sale removes the sold share of the cost (rounded to the cent) and realises
the difference to its proceeds. The average price is derived for display.

Holdings are signed: the broker never lets a SELL exceed the free shares, but a projection
must accept events as they come, so a sale past zero opens a short instead of failing."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Mapping

from mybroker.money import cents
from mybroker.trading import OrderSide

ZERO = Decimal("0.00")


@dataclass(frozen=True)
class Fill:
    """One execution of one of a user's orders, from an OrderUpdated event's `lastFill`
    (subgraphs.reports.wire)."""

    execution_id: str
    order_id: str
    user_id: str
    ticker: str
    side: OrderSide
    quantity: int
    price: Decimal
    executed_at: datetime


@dataclass(frozen=True)
class Holding:
    quantity: int = 0  # signed: negative is short
    cost: Decimal = ZERO  # signed like quantity, in cents
    realized: Decimal = ZERO  # realised P&L of everything closed so far

    @property
    def average_price(self) -> Decimal:
        return ZERO if self.quantity == 0 else cents(abs(self.cost) / abs(self.quantity))


def apply_fill(holding: Holding, side: OrderSide, quantity: int, price: Decimal) -> Holding:
    if quantity <= 0:
        raise ValueError("a fill has a positive quantity")
    direction = 1 if side is OrderSide.BUY else -1
    held = holding.quantity
    if held == 0 or (held > 0) == (direction > 0):
        # Opening or adding: the average re-weights by quantity.
        return Holding(held + direction * quantity, holding.cost + direction * price * quantity, holding.realized)
    closed = min(quantity, abs(held))
    # The closed share of the cost, to the cent (all of it, exactly, when closing all).
    removed = cents(holding.cost * closed / abs(held))
    # Cash from closing (a sale's proceeds, or a cover's payment, negative) minus its cost.
    realized = holding.realized + (-direction * price * closed) - removed
    remaining = quantity - closed
    if remaining:
        # Crossed through zero: the rest opens a position on the other side at this price.
        return Holding(direction * remaining, direction * price * remaining, realized)
    return Holding(held + direction * closed, holding.cost - removed, realized)


@dataclass(frozen=True)
class PositionValue:
    ticker: str
    quantity: int
    average_price: Decimal
    cost_basis: Decimal
    market_value: Decimal
    unrealized_pnl: Decimal


@dataclass(frozen=True)
class PortfolioValue:
    positions: tuple[PositionValue, ...]
    market_value: Decimal
    cost_basis: Decimal
    unrealized_pnl: Decimal
    realized_pnl: Decimal


def value_position(ticker: str, holding: Holding, price: Decimal | None) -> PositionValue:
    # Without a quote the position is worth its average price, i.e. exactly its cost:
    # no P&L is invented from rounding the average.
    market_value = cents(holding.cost) if price is None else cents(price * holding.quantity)
    cost_basis = cents(holding.cost)
    return PositionValue(
        ticker=ticker,
        quantity=holding.quantity,
        average_price=holding.average_price,
        cost_basis=cost_basis,
        market_value=market_value,
        unrealized_pnl=market_value - cost_basis,
    )


def value_portfolio(holdings: Mapping[str, Holding], prices: Mapping[str, Decimal | None]) -> PortfolioValue:
    """Open positions (by ticker) valued at `prices`; realised P&L counts closed ones too."""
    positions = tuple(
        value_position(ticker, holding, prices.get(ticker))
        for ticker, holding in sorted(holdings.items())
        if holding.quantity != 0
    )
    return PortfolioValue(
        positions=positions,
        market_value=sum((p.market_value for p in positions), ZERO),
        cost_basis=sum((p.cost_basis for p in positions), ZERO),
        unrealized_pnl=sum((p.unrealized_pnl for p in positions), ZERO),
        realized_pnl=cents(sum((h.realized for h in holdings.values()), ZERO)),
    )
