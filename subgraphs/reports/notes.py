"""The brokerage note (nota de corretagem): one per trader and B3 trading day with trades,
laid out as the SINACOR notes brokers issue (../shared/docs/B3.md, "Brokerage note").

Pure arithmetic on the fills reports records. The costs are the ones the wallet charged,
counted the same way (mybroker.fees): each fill pays B3's fees on its order's running
traded value less what the order's earlier fills paid, and the brokerage with its ISS on
the order's first fill, at swing-trade rates (the day-trade difference is the day's end's
to post, not the note's yet). So `fill_costs` walks every fill of the orders, earlier days'
too, in execution order, and a note sums the items of its day's fills.

IRRF ("dedo-duro") is 0.005% of the day's swing-trade sales (a sale matched by a purchase
of the same asset on the same day is a day trade and is left out of the base), and is not
withheld when it is R$ 1.00 or less (Receita Federal, "Bolsa de valores - Isenções": "não
retido, pois inferior a R$ 1,00"). The net "líquido para" the settlement date is the
sales less the purchases less every cost and the IRRF withheld."""
from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Iterable, Mapping, Sequence

from mybroker.fees import Costs, FeeSchedule
from mybroker.money import cents
from mybroker.trading import OrderSide
from subgraphs.reports.domain import Fill

ZERO = Decimal("0.00")
MARKET = "1-BOVESPA"
IRRF_SWING_RATE = Decimal("0.00005")  # 0.005% of swing-trade sales
IRRF_NOT_WITHHELD_UP_TO = Decimal("1.00")


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
        return self.operations_net - self.costs - self.irrf


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
    user_id: str, trade_date: date, settlement_date: date, fills: Sequence[Fill], costs: Mapping[str, Costs]
) -> BrokerageNote:
    """The note of `fills` (the trader's fills of `trade_date`), with their `costs`."""
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
    irrf_base = swing_sales(ordered)
    irrf = cents(irrf_base * IRRF_SWING_RATE)
    return BrokerageNote(
        number=note_number(user_id, trade_date),
        user_id=user_id,
        trade_date=trade_date,
        settlement_date=settlement_date,
        trades=trades,
        sales=sum((t.value for t in trades if t.side is OrderSide.SELL), ZERO),
        purchases=sum((t.value for t in trades if t.side is OrderSide.BUY), ZERO),
        settlement_fee=sum((c.liquidacao for c in item), ZERO),
        trading_fee=sum((c.emolumentos for c in item), ZERO),
        brokerage=sum((c.brokerage for c in item), ZERO),
        iss=sum((c.iss for c in item), ZERO),
        irrf_base=irrf_base,
        irrf=irrf if irrf > IRRF_NOT_WITHHELD_UP_TO else ZERO,
    )


def swing_sales(fills: Sequence[Fill]) -> Decimal:
    """The day's sales that are not day trades: per asset (PETR4F's shares are PETR4's), the
    quantity sold beyond what was bought that day, at the day's average sale price."""
    bought: dict[str, int] = defaultdict(int)
    sold: dict[str, int] = defaultdict(int)
    sold_value: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for fill in fills:
        if fill.side is OrderSide.BUY:
            bought[fill.ticker] += fill.quantity
        else:
            sold[fill.ticker] += fill.quantity
            sold_value[fill.ticker] += fill.value
    total = ZERO
    for ticker, quantity in sold.items():
        swing = quantity - min(quantity, bought[ticker])
        total += sold_value[ticker] if swing == quantity else cents(sold_value[ticker] * swing / quantity)
    return total
