"""A trader's trading day at its end: which of the day's trades were day trades, what they
finally cost, and the income tax withheld at source on them (issue 15, "Costs": a fill
carries a provisional fee, the brokerage note settles the final one).

Pure arithmetic on the day's trades, no I/O, shared by the two parts that must agree to the
centavo: the wallet, which posts the day's end to the ledger from its own BUY, SELL and FEE
lines (subgraphs/wallet/day_end.py), and the brokerage note, which shows it from the fills
reports recorded (subgraphs/reports/notes.py). Both hand in the same sums per asset and
side, so both get the same figures (docs/design.md, "The trading day's end").

- **Day trade**: per asset (PETR4F's shares are PETR4's), the quantity both bought and sold
  on the day. Each side's day-trade part is its value less its swing part, the swing part
  rounded half-even to the centavo (the rest of the shares at the side's average price), so
  no centavo is lost; the same split as the income tax's (subgraphs/reports/tax.py).
- **Final fees**: the fills were charged B3's swing-trade rates (mybroker.fees); the
  day-traded value of each asset (both sides) pays the day-trade rates instead. The
  difference per asset is `fees.day_trade_adjustment` on that value (negative: given back),
  the brokerage and its ISS unchanged.
- **IRRF ("dedo-duro")**: 0.005% of the day's swing-trade sales, not withheld when R$ 1.00
  or less (Receita Federal, "Bolsa de valores - Isenções"); and 1% of the day's positive
  day-trade result, the day's day trades netted whatever the asset, final costs included
  (Lei 9.959/2000, art. 8; RIR/2018, art. 851). The income tax's table carries the same
  rates (tax.RULES_2004; a test holds them equal)."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from typing import Iterable

from mybroker.fees import Costs, FeeSchedule, day_trade_adjustment
from mybroker.money import cents
from mybroker.trading import OrderSide

ZERO = Decimal("0.00")
IRRF_SWING_RATE = Decimal("0.00005")  # 0.005% of swing-trade sales
IRRF_NOT_WITHHELD_UP_TO = Decimal("1.00")  # a day's swing IRRF this small is not withheld
IRRF_DAY_TRADE_RATE = Decimal("0.01")  # 1% of the day's positive day-trade result


@dataclass(frozen=True)
class DayTrade:
    """A trade of the day, or several of one asset and side together: `value` is price x
    quantity in centavos, `costs` what the fills were charged (provisional, swing rates)."""

    ticker: str  # the asset: PETR4 for a fill on PETR4F
    side: OrderSide
    quantity: int
    value: Decimal
    costs: Decimal


@dataclass(frozen=True)
class AssetDay:
    """One asset's day trade: the quantity bought and sold that day, the value of both sides'
    day-trade parts, the fees' difference and the result with the final costs."""

    ticker: str
    quantity: int
    value: Decimal  # purchases and sales of the day-traded quantity together
    adjustment: Costs  # final fees less provisional ones on `value` (negative items: given back)
    result: Decimal  # day-trade sales less purchases less their final costs


@dataclass(frozen=True)
class DayEnd:
    """A trader's day at its end."""

    day_trades: tuple[AssetDay, ...]  # by ticker, only assets day-traded
    swing_sales: Decimal  # the swing IRRF's base
    swing_irrf: Decimal  # 0.005% of it; 0 when R$ 1.00 or less
    day_trade_result: Decimal  # the day's day trades netted, final costs included
    day_trade_irrf: Decimal  # 1% of the result when positive

    @property
    def adjustment(self) -> Costs:
        """What the day's end adds to the fees charged on the fills (negative: given back)."""
        return Costs(
            emolumentos=sum((a.adjustment.emolumentos for a in self.day_trades), ZERO),
            liquidacao=sum((a.adjustment.liquidacao for a in self.day_trades), ZERO),
        )

    @property
    def day_trade_irrf_base(self) -> Decimal:
        return max(self.day_trade_result, ZERO)

    @property
    def irrf(self) -> Decimal:
        return self.swing_irrf + self.day_trade_irrf


@dataclass
class _Side:
    quantity: int = 0
    value: Decimal = ZERO
    costs: Decimal = ZERO

    def add(self, trade: DayTrade) -> None:
        self.quantity += trade.quantity
        self.value += trade.value
        self.costs += trade.costs

    def day_part(self, matched: int) -> tuple[Decimal, Decimal]:
        """The value and costs of `matched` of its shares: the whole less the swing part."""
        rest = self.quantity - matched
        return self.value - _share(self.value, rest, self.quantity), self.costs - _share(self.costs, rest, self.quantity)

    def swing_value(self, matched: int) -> Decimal:
        return _share(self.value, self.quantity - matched, self.quantity)


def _share(amount: Decimal, part: int, whole: int) -> Decimal:
    """`part` of `whole` shares' `amount`, half-even to the centavo (all of it when all)."""
    if part == whole:
        return amount
    return cents(amount * part / whole)


def close_day(trades: Iterable[DayTrade], schedule: FeeSchedule) -> DayEnd:
    """The day's end of one trader's `trades` of one trading day, charged by `schedule`."""
    sides: dict[tuple[str, OrderSide], _Side] = defaultdict(_Side)
    for trade in trades:
        if trade.quantity <= 0:
            raise ValueError("a trade has a positive quantity")
        sides[(trade.ticker, trade.side)].add(trade)
    day_trades: list[AssetDay] = []
    swing_sales = ZERO
    for ticker in sorted({ticker for ticker, _ in sides}):
        bought, sold = sides.get((ticker, OrderSide.BUY), _Side()), sides.get((ticker, OrderSide.SELL), _Side())
        matched = min(bought.quantity, sold.quantity)
        swing_sales += sold.swing_value(matched)
        if not matched:
            continue
        buy_value, buy_costs = bought.day_part(matched)
        sell_value, sell_costs = sold.day_part(matched)
        adjustment = day_trade_adjustment(schedule, buy_value + sell_value)
        result = (sell_value - sell_costs) - (buy_value + buy_costs) - adjustment.total
        day_trades.append(AssetDay(ticker, matched, buy_value + sell_value, adjustment, result))
    swing_irrf = cents(swing_sales * IRRF_SWING_RATE)
    net = sum((a.result for a in day_trades), ZERO)
    return DayEnd(
        day_trades=tuple(day_trades),
        swing_sales=swing_sales,
        swing_irrf=swing_irrf if swing_irrf > IRRF_NOT_WITHHELD_UP_TO else ZERO,
        day_trade_result=net,
        day_trade_irrf=cents(net * IRRF_DAY_TRADE_RATE) if net > 0 else ZERO,
    )
