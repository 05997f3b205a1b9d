"""Portfolio arithmetic: positions built from fills and their costs, valued at the latest
prices.

A holding is the average price with costs, as the wallet and the tax authority count it
(mybroker.cost_basis, one rule for both): purchases add their value and their costs (B3's
fees, brokerage, ISS: mybroker.fees) to the average, a sale realises its proceeds less its
costs less the average cost of what it sold, and leaves the average of the rest unchanged.

Holdings are signed: the broker never lets a SELL exceed the free shares, but a projection
must accept events as they come, so a sale past zero opens a short instead of failing."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Mapping

from mybroker.cost_basis import Basis, apply_trade
from mybroker.money import cents
from mybroker.trading import OrderSide

ZERO = Decimal("0.00")

Holding = Basis  # quantity (signed), average price with costs (six places), realised P&L


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
    # The ticker the order traded on: PETR4F on B3's fractional market, whose shares are
    # PETR4's (`ticker`); None on fills recorded before it was kept (the same as `ticker`).
    traded_ticker: str | None = None

    @property
    def market_ticker(self) -> str:
        return self.traded_ticker or self.ticker

    @property
    def value(self) -> Decimal:
        return cents(self.price * self.quantity)


def apply_fill(holding: Holding, side: OrderSide, quantity: int, price: Decimal, costs: Decimal = ZERO) -> Holding:
    """The holding after a fill of `quantity` at `price` that cost `costs`."""
    return apply_trade(holding, side, quantity, cents(price * quantity), costs)


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
        average_price=holding.average_price,  # the wallet's figure (both shown to the centavo)
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
