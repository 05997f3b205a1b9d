"""The brokerage note (nota de corretagem): one per trader and B3 trading day with trades,
laid out as the SINACOR notes brokers issue (../shared/docs/B3.md, "Brokerage note").

Pure arithmetic on the fills reports records. The provisional costs are the ones the wallet
charged, counted the same way (mybroker.fees): each fill pays B3's fees on its order's
running traded value less what the order's earlier fills paid, and the brokerage with its
ISS on the order's first fill, at swing-trade rates. So `fill_costs` walks every fill of the
orders, earlier days' too, in execution order. The note shows the final costs: those items
plus the day's end (mybroker.day_end: the day-traded value at day-trade rates), which the
wallet posts as FEE_ADJUSTMENT lines when the day is over (subgraphs/wallet/day_end.py).
A note of a day still open shows the day as if it ended now.

IRRF ("dedo-duro") is 0.005% of the day's swing-trade sales (a sale matched by a purchase
of the same asset on the same day is a day trade and is left out of the base), and is not
withheld when it is R$ 1.00 or less (Receita Federal, "Bolsa de valores - Isenções": "não
retido, pois inferior a R$ 1,00"); on day trades, 1% of the day's positive result. The
wallet posts them as an IRRF line with the day's end. The net "líquido para" the settlement
date is the sales less the purchases less every final cost and the IRRF withheld: the
wallet's cash change of the day, its day-end lines included."""
from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Iterable, Mapping, Sequence

from mybroker.day_end import DayEnd, DayTrade, close_day
from mybroker.fees import Costs, FeeSchedule
from mybroker.trading import OrderSide
from subgraphs.reports.domain import Fill

ZERO = Decimal("0.00")
MARKET = "1-BOVESPA"


@dataclass(frozen=True)
class NoteTrade:
    """One line of the note: a side, ticker and price's fills of the day together."""

    side: OrderSide
    market: str
    kind: str  # VISTA, or FRACIONARIO on the fractional market (PETR4F)
    ticker: str  # as traded: PETR4F on the fractional market
    quantity: int
    price: Decimal
    value: Decimal

    @property
    def operation(self) -> str:
        """C (compra) or V (venda)."""
        return "C" if self.side is OrderSide.BUY else "V"

    @property
    def debit_credit(self) -> str:
        """A purchase is debited to the client, a sale credited."""
        return "D" if self.side is OrderSide.BUY else "C"


@dataclass(frozen=True)
class BrokerageNote:
    number: str
    user_id: str
    trade_date: date
    settlement_date: date
    trades: tuple[NoteTrade, ...]
    sales: Decimal  # vendas à vista
    purchases: Decimal  # compras à vista
    settlement_fee: Decimal  # taxa de liquidação
    trading_fee: Decimal  # emolumentos
    brokerage: Decimal  # corretagem
    iss: Decimal
    irrf_base: Decimal  # swing-trade sales
    irrf: Decimal  # withheld (0 when R$ 1.00 or less)
    day_trade_irrf_base: Decimal = ZERO  # the day's day-trade result, when positive
    day_trade_irrf: Decimal = ZERO  # 1% of it
    # The day-trade part of settlement_fee and trading_fee (final less provisional; negative:
    # given back), posted by the wallet as FEE_ADJUSTMENT lines at the day's end.
    fee_adjustment: Costs = Costs()

    @property
    def total_traded(self) -> Decimal:
        """Valor das operações: purchases and sales together."""
        return self.sales + self.purchases

    @property
    def operations_net(self) -> Decimal:
        """Valor líquido das operações, signed: positive is a credit to the client."""
        return self.sales - self.purchases

    @property
    def costs(self) -> Decimal:
        return self.settlement_fee + self.trading_fee + self.brokerage + self.iss

    @property
    def net(self) -> Decimal:
        """Líquido para the settlement date, signed: positive is a credit."""
        return self.operations_net - self.costs - self.irrf - self.day_trade_irrf


def side_of(amount: Decimal) -> str:
    """D/C of a signed amount (zero is a credit of nothing)."""
    return "D" if amount < 0 else "C"


def note_number(user_id: str, trade_date: date) -> str:
    """Stable per trader and day: the same note always has the same number, and reads as the
    numeric numbers brokers print (nine digits)."""
    digest = hashlib.sha256(f"{user_id}:{trade_date.isoformat()}".encode()).digest()
    return f"{int.from_bytes(digest[:8], 'big') % 10**9:09d}"


def fill_costs(fills: Iterable[Fill], schedule: FeeSchedule) -> dict[str, Costs]:
    """Each fill's costs (by execution id) as the wallet charged them: on its order's traded
    value so far, in execution order. `fills` must hold every earlier fill of each order."""
    costs: dict[str, Costs] = {}
    traded: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for fill in sorted(fills, key=lambda f: (f.executed_at, f.execution_id)):
        costs[fill.execution_id] = schedule.fill_costs(traded[fill.order_id], fill.value)
        traded[fill.order_id] += fill.value
    return costs


def brokerage_note(
    user_id: str, trade_date: date, settlement_date: date, fills: Sequence[Fill], costs: Mapping[str, Costs],
    schedule: FeeSchedule,
) -> BrokerageNote:
    """The note of `fills` (the trader's fills of `trade_date`), with the provisional `costs`
    the wallet charged them and the day's end by `schedule` (the wallet's)."""
    if not fills:
        raise ValueError("a brokerage note needs trades")
    if any(fill.user_id != user_id for fill in fills):
        raise ValueError("a brokerage note is one trader's")
    ordered = sorted(fills, key=lambda f: (f.executed_at, f.execution_id))
    lines: dict[tuple[OrderSide, str, Decimal], list[Fill]] = {}
    for fill in ordered:
        lines.setdefault((fill.side, fill.market_ticker, fill.price), []).append(fill)
    trades = tuple(
        NoteTrade(
            side=side,
            market=MARKET,
            kind="FRACIONARIO" if ticker != group[0].ticker else "VISTA",
            ticker=ticker,
            quantity=sum(f.quantity for f in group),
            price=price,
            value=sum((f.value for f in group), ZERO),
        )
        for (side, ticker, price), group in lines.items()
    )
    item = [costs[fill.execution_id] for fill in ordered]
    end = day_end(ordered, costs, schedule)
    return BrokerageNote(
        number=note_number(user_id, trade_date),
        user_id=user_id,
        trade_date=trade_date,
        settlement_date=settlement_date,
        trades=trades,
        sales=sum((t.value for t in trades if t.side is OrderSide.SELL), ZERO),
        purchases=sum((t.value for t in trades if t.side is OrderSide.BUY), ZERO),
        settlement_fee=sum((c.liquidacao for c in item), end.adjustment.liquidacao),
        trading_fee=sum((c.emolumentos for c in item), end.adjustment.emolumentos),
        brokerage=sum((c.brokerage for c in item), ZERO),
        iss=sum((c.iss for c in item), ZERO),
        irrf_base=end.swing_sales,
        irrf=end.swing_irrf,
        day_trade_irrf_base=end.day_trade_irrf_base,
        day_trade_irrf=end.day_trade_irrf,
        fee_adjustment=end.adjustment,
    )


def day_end(fills: Sequence[Fill], costs: Mapping[str, Costs], schedule: FeeSchedule) -> DayEnd:
    """The day's end of one trader's fills of one day, with the costs the wallet charged them:
    the figures the wallet posts (mybroker.day_end, the same sums per asset and side)."""
    return close_day(
        (DayTrade(f.ticker, f.side, f.quantity, f.value, costs[f.execution_id].total) for f in fills), schedule
    )


def swing_sales(fills: Sequence[Fill]) -> Decimal:
    """The day's sales that are not day trades: per asset (PETR4F's shares are PETR4's), the
    quantity sold beyond what was bought that day, at the day's average sale price."""
    return close_day((DayTrade(f.ticker, f.side, f.quantity, f.value, ZERO) for f in fills), FeeSchedule(enabled=False)).swing_sales
