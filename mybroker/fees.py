"""What a trade costs: B3's fees on cash equities and the broker's brokerage with its ISS.

One versioned, dated table (`B3_FEE_TABLES`, newest last) and pure arithmetic on Decimals,
used by the wallet (what a fill charges and what a BUY reserves), orders (`orderPreview`)
and reports (the average price with costs), so every part counts the same centavos.

**The rates, and what could be checked (2026-12-07).**

- `B3-2025-08` (the default): B3's English fee page for the spot market, "Equities and
  Investment Funds Fees / Spot"
  (https://www.b3.com.br/en_us/products-and-services/fee-schedules/listed-equities-and-derivatives/equities/equities-and-investment-funds-fees/spot/),
  read through the project's search copy, which carries no date: investors in general pay
  a trading fee (emolumentos) of 0.003660% and a settlement fee (liquidação) of 0.0275%
  (0.031160% in all) of each trade's value; day trades, in B3's lowest tier for individuals
  (up to R$ 4 million of day-trade volume in the month), 0.003660% and 0.0200%. The page
  mentions B3's "progressive method for all customers", the 2025 restructuring, so we date
  the table from that restructuring: 1 August 2025, as a broker's summary of B3's
  Comunicado Externo 053/2024-VPC (26/12/2024) says; we did not read the communiqué itself,
  so the effective date is the least sure figure here. Higher tiers (a trader above R$ 4
  million a month) pay less; the broker charges every trader the first tier.
- `B3-legacy`: the figures of the project's B3 notes (../shared/docs/B3.md, "Fees"):
  0.005% trading and 0.025% settlement, 0.018% settlement on day trades. B3's block-trading
  fee page still shows 0.0050% + 0.0250% for individuals. Kept as the version before
  the restructuring; its start date is not known to us (`date.min`).

Day trades are known only at the day's end (a buy and a sale of the same ticker on the same
day), so a fill is charged the swing-trade rates: `FeeSchedule.fill_costs(..., day_trade=
False)`. The day-end difference (`day_trade_adjustment`) is mybroker.day_end's: the note
shows it and the wallet posts it as FEE_ADJUSTMENT lines when the day is over.

**Rounding.** Each fee is rounded half-even to the centavo. An order's fills together pay
the fees on the order's cumulative traded value (each fill pays the fees on the value so far
less what the earlier fills paid), so splitting an order into many fills neither adds nor
loses a centavo, and a BUY's reservation of value + `order_costs(value)` always covers its
fills (the fees grow with the value).

**Brokerage** is per order, charged on the order's first fill, from the trader's plan
(`BrokeragePlan`, default R$ 0.00 as most Brazilian brokers now charge), with ISS (a
municipal tax, 2-5%; 5% by default) on it."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import Enum

from mybroker.money import cents

ZERO = Decimal("0.00")
PERCENT = Decimal("0.01")


class FeeKind(str, Enum):
    """The items of a trade's costs, as a brokerage note lists them."""

    EMOLUMENTOS = "EMOLUMENTOS"  # B3's trading fee
    LIQUIDACAO = "LIQUIDACAO"  # B3's settlement fee
    CORRETAGEM = "CORRETAGEM"  # the broker's brokerage
    ISS = "ISS"  # municipal tax on the brokerage


@dataclass(frozen=True)
class B3FeeTable:
    """B3's cash-equity fees as fractions of a trade's value, for each side of the trade."""

    version: str
    effective_from: date
    source: str
    trading_swing: Decimal  # emolumentos
    settlement_swing: Decimal  # taxa de liquidação
    trading_day_trade: Decimal
    settlement_day_trade: Decimal

    def rates(self, day_trade: bool) -> tuple[Decimal, Decimal]:
        if day_trade:
            return self.trading_day_trade, self.settlement_day_trade
        return self.trading_swing, self.settlement_swing


B3_LEGACY = B3FeeTable(
    version="B3-legacy",
    effective_from=date.min,
    source="../shared/docs/B3.md 'Fees'; B3's block-trading fee page (0.0050% + 0.0250% for individuals); start date unknown",
    trading_swing=Decimal("0.005") * PERCENT,
    settlement_swing=Decimal("0.025") * PERCENT,
    trading_day_trade=Decimal("0.005") * PERCENT,
    settlement_day_trade=Decimal("0.018") * PERCENT,
)

B3_2025 = B3FeeTable(
    version="B3-2025-08",
    effective_from=date(2025, 8, 1),
    source=(
        "b3.com.br Equities and Investment Funds Fees / Spot (investors in general; day trade tier "
        "up to R$ 4 million for individuals), checked 2026-12-07; effective date per Comunicado Externo "
        "053/2024-VPC as summarised by a broker, not read at B3"
    ),
    trading_swing=Decimal("0.003660") * PERCENT,
    settlement_swing=Decimal("0.0275") * PERCENT,
    trading_day_trade=Decimal("0.003660") * PERCENT,
    settlement_day_trade=Decimal("0.0200") * PERCENT,
)

B3_FEE_TABLES: tuple[B3FeeTable, ...] = (B3_LEGACY, B3_2025)  # oldest first


def b3_fee_table(on: date) -> B3FeeTable:
    """The table in force on a trade day."""
    current = B3_FEE_TABLES[0]
    for table in B3_FEE_TABLES:
        if table.effective_from <= on:
            current = table
    return current


@dataclass(frozen=True)
class BrokeragePlan:
    """What the broker charges per order executed (on its first fill), and the ISS on it."""

    name: str = "zero"
    per_order: Decimal = ZERO
    iss_rate: Decimal = Decimal("0.05")


@dataclass(frozen=True)
class Costs:
    """A trade's costs, item by item, each in centavos."""

    emolumentos: Decimal = ZERO
    liquidacao: Decimal = ZERO
    brokerage: Decimal = ZERO
    iss: Decimal = ZERO

    @property
    def total(self) -> Decimal:
        return self.emolumentos + self.liquidacao + self.brokerage + self.iss

    def items(self) -> tuple[tuple[FeeKind, Decimal], ...]:
        """The non-zero items, in a note's order: what the ledger posts as FEE lines."""
        every = (
            (FeeKind.EMOLUMENTOS, self.emolumentos),
            (FeeKind.LIQUIDACAO, self.liquidacao),
            (FeeKind.CORRETAGEM, self.brokerage),
            (FeeKind.ISS, self.iss),
        )
        return tuple((kind, amount) for kind, amount in every if amount != 0)


NO_COSTS = Costs()


@dataclass(frozen=True)
class FeeSchedule:
    """The fees one trader pays: B3's table and the broker's plan. `enabled=False` charges
    nothing (tests about something else, a simulation without costs)."""

    table: B3FeeTable = B3_2025
    plan: BrokeragePlan = BrokeragePlan()
    enabled: bool = True

    def b3_fees(self, value: Decimal, day_trade: bool = False) -> tuple[Decimal, Decimal]:
        """Emolumentos and liquidação on a traded value, each to the centavo."""
        if not self.enabled:
            return ZERO, ZERO
        trading, settlement = self.table.rates(day_trade)
        return cents(value * trading), cents(value * settlement)

    def brokerage(self) -> tuple[Decimal, Decimal]:
        """Brokerage of one order and its ISS."""
        if not self.enabled:
            return ZERO, ZERO
        per_order = cents(self.plan.per_order)
        return per_order, cents(per_order * self.plan.iss_rate)

    def fill_costs(self, traded_before: Decimal, traded: Decimal, day_trade: bool = False) -> Costs:
        """What one fill of an order costs: B3's fees on the order's cumulative traded value
        less those its earlier fills (worth `traded_before`) paid, and the brokerage on its
        first fill. Fills are charged as swing trades (day_trade=False) until the day ends."""
        before = self.b3_fees(traded_before, day_trade)
        after = self.b3_fees(traded_before + traded, day_trade)
        brokerage, iss = self.brokerage() if traded_before == 0 else (ZERO, ZERO)
        return Costs(after[0] - before[0], after[1] - before[1], brokerage, iss)

    def order_costs(self, value: Decimal, day_trade: bool = False) -> Costs:
        """What an order of `value` costs executed in full: the sum of its fills' costs,
        however many (the preview's figures)."""
        return self.fill_costs(ZERO, value, day_trade)

    def still_to_pay(self, traded_before: Decimal, value: Decimal) -> Decimal:
        """The most the fills of `value` more of an order may cost, given what it has traded:
        what a BUY keeps blocked for them (the fees only grow with the value)."""
        if value <= 0:
            return ZERO
        return self.fill_costs(traded_before, value).total


NO_FEES = FeeSchedule(enabled=False)


def day_trade_adjustment(schedule: FeeSchedule, day_traded_value: Decimal) -> Costs:
    """What the day's end gives back (negative items) when `day_traded_value` of the trader's
    trades turn out day trades: the day-trade fees less the swing fees charged on the fills.
    The brokerage is the same either way."""
    swing = schedule.b3_fees(day_traded_value, day_trade=False)
    day = schedule.b3_fees(day_traded_value, day_trade=True)
    return Costs(day[0] - swing[0], day[1] - swing[1])
