"""Portfolio arithmetic: positions built from fills and their costs, valued at the latest
prices.

A holding is the average price with costs, as the wallet and the tax authority count it
(mybroker.cost_basis, one rule for both): purchases add their value and their costs (B3's
fees, brokerage, ISS: mybroker.fees) to the average, a sale realises its proceeds less its
costs less the average cost of what it sold, and leaves the average of the rest unchanged.

Holdings are signed: the broker never lets a SELL exceed the free shares, but a projection
must accept events as they come, so a sale past zero opens a short instead of failing.

Corporate events come from the wallet, which applies them (CorporateEventApplied): a split
or reverse split re-weights the holding by the same rule as the wallet's position
(mybroker.cost_basis.split), a reverse split's fraction realising its cash less its cost;
dividends and JCP are income received, listed beside the positions, never in their cost."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Mapping, Sequence

from mybroker import cost_basis
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


def apply_split(holding: Holding, entitled: int, new: int, old: int, fraction_cash: Decimal = ZERO) -> Holding:
    """The holding after a split of the `entitled` shares the wallet counted at the close of
    the record date (`new` for `old`); `fraction_cash`: what a reverse split paid for the
    fraction of a share, realised against its cost. A short or closed projection (events
    out of order) has nothing to split."""
    if holding.quantity <= 0:
        return holding
    result = cost_basis.split(holding.quantity, holding.average_price, min(entitled, holding.quantity), new, old)
    realized = holding.realized + (fraction_cash - result.fraction_cost if result.fraction_numerator else ZERO)
    return Holding(result.quantity, result.average_price, realized)


@dataclass(frozen=True)
class IncomeReceived:
    """A dividend or JCP payment the wallet credited: gross, the IRRF withheld, net."""

    event_id: str
    ticker: str
    kind: str  # DIVIDEND or JCP
    record_date: date
    paid_on: date
    quantity: int  # the shares entitled at the close of the record date
    gross: Decimal
    withheld: Decimal

    @property
    def net(self) -> Decimal:
        return self.gross - self.withheld


@dataclass(frozen=True)
class PositionValue:
    ticker: str
    quantity: int
    average_price: Decimal
    cost_basis: Decimal
    market_value: Decimal
    unrealized_pnl: Decimal
    income_received: Decimal = ZERO  # dividends and JCP of this ticker, net of IRRF


@dataclass(frozen=True)
class PortfolioValue:
    positions: tuple[PositionValue, ...]
    market_value: Decimal
    cost_basis: Decimal
    unrealized_pnl: Decimal
    realized_pnl: Decimal
    income: tuple[IncomeReceived, ...] = ()  # newest payment first

    @property
    def income_received(self) -> Decimal:
        """Dividends and JCP received, net of the IRRF withheld."""
        return sum((payment.net for payment in self.income), ZERO)


def value_position(ticker: str, holding: Holding, price: Decimal | None, income_received: Decimal = ZERO) -> PositionValue:
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
        income_received=income_received,
    )


def value_portfolio(
    holdings: Mapping[str, Holding], prices: Mapping[str, Decimal | None], income: Sequence[IncomeReceived] = ()
) -> PortfolioValue:
    """Open positions (by ticker) valued at `prices`; realised P&L counts closed ones too;
    `income`: the dividends and JCP received (each position shows its ticker's)."""
    by_ticker: dict[str, Decimal] = {}
    for payment in income:
        by_ticker[payment.ticker] = by_ticker.get(payment.ticker, ZERO) + payment.net
    positions = tuple(
        value_position(ticker, holding, prices.get(ticker), by_ticker.get(ticker, ZERO))
        for ticker, holding in sorted(holdings.items())
        if holding.quantity != 0
    )
    return PortfolioValue(
        positions=positions,
        market_value=sum((p.market_value for p in positions), ZERO),
        cost_basis=sum((p.cost_basis for p in positions), ZERO),
        unrealized_pnl=sum((p.unrealized_pnl for p in positions), ZERO),
        realized_pnl=cents(sum((h.realized for h in holdings.values()), ZERO)),
        income=tuple(sorted(income, key=lambda payment: (payment.paid_on, payment.event_id), reverse=True)),
    )
