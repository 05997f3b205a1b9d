"""Income tax (IR) on an individual's B3 trades, month by month, as the Receita Federal's
"Renda Variável" worksheets lay it out: pure arithmetic on the trader's trades (with their
costs) and a dated table of rules, no I/O. The service hands it the fills and a business-day
test; the tests check it against months worked out by hand.

**The rules, and where they come from** (written 2026-12-07; the project's notes in
../shared/docs/B3.md "Income tax", checked against the texts named here, read through the
project's search copies of gov.br/receitafederal and of the laws):

- Rates: 15% on the month's net swing-trade gain on stocks, ETFs and BDRs (Lei 11.033/2004,
  art. 2, II); 20% on day trades; 20% on gains from selling FII quotas, swing or day trade
  (Lei 8.668/1993, art. 18, as amended by Lei 9.779/1999) - the rates the Receita's "Bolsa
  de valores" pages state. MP 1.303/2025 would have moved them to one 17.5% rate from 2026
  (its art. 74 revoked the day-trade articles of Lei 9.959/2000), but as we understand it
  the MP lapsed unvoted in October 2025, so the table keeps these rates; a later law is a
  new `TaxRules` row with its own `effective_from`.
- Exemption: a month's net gain on stocks in swing trade is exempt when that month's stock
  sales in swing trade total R$ 20,000.00 or less (Lei 11.033/2004, art. 3, I; IN RFB
  1.585/2015). Gross sale value, not net of costs; the month's stock results net first
  (one figure per month, not per trade). Not for ETFs, BDRs or FIIs, never for day trades.
- Losses (gov.br/receitafederal, "Bolsa de valores - Compensações"; Lei 8.981/1995, art.
  72, par. 5; IN RFB 1.585/2015): carried forward with no time limit, never back. Day-trade
  losses offset only day-trade gains, swing-trade losses only swing-trade gains; within each,
  stocks, ETFs and BDRs form one pool (losses "em outras operações realizadas em qualquer
  dos mercados"), and FIIs a pool of their own (their losses offset only FII gains). So four
  pools: COMMON and FII, each SWING_TRADE and DAY_TRADE. The Receita's IRPF program keeps a
  single column for FIIs; we keep their day trades apart as the day-trade rule says, which
  can only differ for a trader who day-trades FIIs at a loss and swing-trades them at a gain.
  An exempt month's stock gain stays out of the pool: it is declared as exempt income and
  uses no earlier loss. An exempt month's stock loss goes in and is carried (it is declared
  in "Renda Variável" and offsets later taxed gains), as brokers' and tax advisers' guides
  read the Receita's rules.
- IRRF withheld at source ("dedo-duro"), deducted from the tax due: 0.005% of swing-trade
  sales (Lei 11.033/2004, art. 2, par. 1), per trading day as the brokerage note computes it
  (subgraphs.reports.notes: not withheld when R$ 1.00 or less); 1% of the day's positive
  day-trade result, the day's day trades netted whatever the asset (Lei 9.959/2000, art. 8;
  RIR/2018, art. 851). It is deducted from the month's tax of its sheet (COMMON or FII), and
  what a month cannot use is carried to the next months (RIR/2018, art. 851, par. 4); what
  is left at the year's end goes to the annual return (par. 5), not into January.
- DARF: code 6015 (individuals, variable income), due on the last business day of the month
  after the gain. Business days are B3's (mybroker.calendar), which match the national bank
  holidays the Receita counts, except that B3 is closed on 24 and 31 December, when banks
  open little or not at all; a December deadline so falls on the 30th or earlier. A total
  under R$ 10.00 is not paid: it is added to the next month's DARF until the total reaches
  R$ 10.00, and then paid by that month's deadline (Lei 9.430/1996, art. 68, par. 1).

**Cost basis.** Swing trades follow mybroker.cost_basis (average price with costs, the same
rule as the wallet and the portfolio). Day trades are counted apart first, as the Receita
says ("resultado líquido auferido no dia, em operações com o mesmo ativo"): on each trading
day and asset, the quantity both bought and sold that day is a day trade, its result the
sales less the purchases of that quantity at the day's average prices, costs included; only
the rest of the day's buys or sells reach the position, so a day trade leaves the average
price of the shares held before unchanged (where the portfolio, which folds fills as they
come, may show another average that day). Costs are the ones the wallet charged each fill,
and a day trade's also the day's end's adjustment of its B3 fees to the day-trade rates
(`TaxDayTradeAdjustment`, mybroker.day_end: the wallet's FEE_ADJUSTMENT lines), so its
result, and the 1% IRRF on it, are the brokerage note's.

**Rounding.** Trade values, costs and results are in centavos; a day's value split between
day trade and swing trade rounds the swing part half-even to the centavo (as the note's
IRRF base) and gives the day trade the rest, so no centavo is lost. Tax = base x rate,
rounded half-even to the centavo (mybroker.money.cents), once per pool; IRRF split across
categories goes by the largest remainder so the parts add up to what was withheld."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from enum import Enum
from typing import Callable, Iterable, Mapping, Sequence

from mybroker import cost_basis
from mybroker.cost_basis import Basis, apply_trade
from mybroker.money import cents
from mybroker.trading import OrderSide

ZERO = Decimal("0.00")
PERCENT = Decimal("0.01")


class AssetCategory(str, Enum):
    STOCK = "STOCK"
    FII = "FII"
    ETF = "ETF"
    BDR = "BDR"


class TradeKind(str, Enum):
    SWING_TRADE = "SWING_TRADE"  # operações comuns
    DAY_TRADE = "DAY_TRADE"  # bought and sold on the same trading day


class TaxSheet(str, Enum):
    """The worksheet a category is assessed on: its losses and IRRF stay in it."""

    COMMON = "COMMON"  # stocks, ETFs, BDRs: "operações comuns / day-trade"
    FII = "FII"  # "fundos de investimento imobiliário"


SHEET_OF: Mapping[AssetCategory, TaxSheet] = {
    AssetCategory.STOCK: TaxSheet.COMMON,
    AssetCategory.ETF: TaxSheet.COMMON,
    AssetCategory.BDR: TaxSheet.COMMON,
    AssetCategory.FII: TaxSheet.FII,
}

CATEGORIES = tuple(AssetCategory)
KINDS = tuple(TradeKind)
POOLS: tuple[tuple[TaxSheet, TradeKind], ...] = tuple((sheet, kind) for sheet in TaxSheet for kind in TradeKind)


@dataclass(frozen=True)
class TaxRules:
    """The rules in force from `effective_from` (a month's first day)."""

    version: str
    effective_from: date
    source: str
    rates: Mapping[tuple[AssetCategory, TradeKind], Decimal]
    stock_swing_exemption: Decimal  # the month's stock swing-trade sales up to this are exempt
    irrf_swing_rate: Decimal  # of swing-trade sales
    irrf_day_trade_rate: Decimal  # of the day's positive day-trade result
    irrf_not_withheld_up_to: Decimal  # a day's swing IRRF this small is not withheld
    darf_minimum: Decimal  # a DARF below this is carried to the next month
    darf_code: str

    def rate(self, sheet: TaxSheet, kind: TradeKind) -> Decimal:
        """The one rate of a pool: every category in it must be taxed alike, or the table is wrong."""
        rates = {self.rates[(category, kind)] for category in CATEGORIES if SHEET_OF[category] is sheet}
        if len(rates) != 1:
            raise ValueError(f"{self.version}: the categories of {sheet.value} {kind.value} must share one rate")
        return rates.pop()


RULES_2004 = TaxRules(
    version="IR-2004",
    effective_from=date(2005, 1, 1),
    source=(
        "Lei 11.033/2004 arts. 2-3 (15%, R$ 20,000 exemption, 0.005% IRRF); Lei 9.959/2000 art. 8 and "
        "RIR/2018 art. 851 (day trade, 1% IRRF); Lei 8.981/1995 art. 72 (losses); Lei 8.668/1993 art. 18 (FII 20%); "
        "IN RFB 1.585/2015; Lei 9.430/1996 art. 68 (DARF under R$ 10); MP 1.303/2025 lapsed. Checked 2026-12-07."
    ),
    rates={
        (AssetCategory.STOCK, TradeKind.SWING_TRADE): Decimal("15") * PERCENT,
        (AssetCategory.ETF, TradeKind.SWING_TRADE): Decimal("15") * PERCENT,
        (AssetCategory.BDR, TradeKind.SWING_TRADE): Decimal("15") * PERCENT,
        (AssetCategory.STOCK, TradeKind.DAY_TRADE): Decimal("20") * PERCENT,
        (AssetCategory.ETF, TradeKind.DAY_TRADE): Decimal("20") * PERCENT,
        (AssetCategory.BDR, TradeKind.DAY_TRADE): Decimal("20") * PERCENT,
        (AssetCategory.FII, TradeKind.SWING_TRADE): Decimal("20") * PERCENT,
        (AssetCategory.FII, TradeKind.DAY_TRADE): Decimal("20") * PERCENT,
    },
    stock_swing_exemption=Decimal("20000.00"),
    irrf_swing_rate=Decimal("0.005") * PERCENT,
    irrf_day_trade_rate=Decimal("1") * PERCENT,
    irrf_not_withheld_up_to=Decimal("1.00"),
    darf_minimum=Decimal("10.00"),
    darf_code="6015",
)

TAX_RULES: tuple[TaxRules, ...] = (RULES_2004,)  # oldest first


def rules_for(month: date, table: Sequence[TaxRules] = TAX_RULES) -> TaxRules:
    """The rules in force in `month` (the first table's before any)."""
    current = table[0]
    for rules in table:
        if rules.effective_from <= month:
            current = rules
    return current


# ------------------------------------------------------------------ trades in


@dataclass(frozen=True)
class TaxTrade:
    """One fill as the tax sees it: on a B3 trading day, of an asset (PETR4 for PETR4F)."""

    day: date
    ticker: str
    category: AssetCategory
    side: OrderSide
    quantity: int
    value: Decimal  # price x quantity, to the centavo
    costs: Decimal  # what the wallet charged it (fees, brokerage, ISS)


@dataclass(frozen=True)
class TaxSplit:
    """A split or reverse split the wallet applied (docs/corporate-events.md): on `day`, its
    ex-date, before that day's trades, the position's shares become `new` for every `old`
    at the same cost (mybroker.cost_basis.split, the wallet's rule). A reverse split's
    fraction of a share leaves for `fraction_cash`: its result (the cash less the fraction's
    cost) is a swing-trade result of that day, but not a sale of the holder's (the company
    sells the grouped fractions at auction), so it adds nothing to the month's sales for the
    R$ 20,000 exemption nor to the dedo-duro, which the brokerage notes withhold."""

    day: date
    ticker: str
    category: AssetCategory
    entitled: int  # the shares the wallet counted at the close of the record date
    new: int
    old: int
    fraction_cash: Decimal = ZERO


@dataclass(frozen=True)
class TaxDayTradeAdjustment:
    """The day's end of one asset's day trade (mybroker.day_end): its B3 fees at day-trade
    rates less the swing-trade rates its fills were charged (`amount`, negative: given back),
    which the wallet posts as FEE_ADJUSTMENT lines. A cost of that day's day trade of the
    asset alone: the swing part of the day's trades paid the swing rates."""

    day: date
    ticker: str
    category: AssetCategory
    amount: Decimal


TaxItem = TaxTrade | TaxSplit | TaxDayTradeAdjustment  # what the tax is computed from


@dataclass(frozen=True)
class Realised:
    """What one asset's trades of one day realised, of one kind."""

    day: date
    ticker: str
    category: AssetCategory
    kind: TradeKind
    sales: Decimal  # gross sale value
    result: Decimal  # net of costs: positive a gain


def _share(amount: Decimal, part: int, whole: int) -> Decimal:
    return amount if part == whole else cents(amount * part / whole)


@dataclass
class _Day:
    bought: int = 0
    bought_value: Decimal = ZERO
    bought_costs: Decimal = ZERO
    sold: int = 0
    sold_value: Decimal = ZERO
    sold_costs: Decimal = ZERO


def _split(basis: Basis, split: TaxSplit) -> tuple[Basis, Decimal | None]:
    """The position after a split, and what a reverse split's fraction realised (None: no
    fraction). A short or empty position has nothing to split."""
    if basis.quantity <= 0:
        return basis, None
    result = cost_basis.split(basis.quantity, basis.average_price, min(split.entitled, basis.quantity), split.new, split.old)
    gain = split.fraction_cash - result.fraction_cost if result.fraction_numerator else None
    return Basis(result.quantity, result.average_price, basis.realized + (gain or ZERO)), gain


def realise(trades: Iterable[TaxItem]) -> tuple[list[Realised], dict[str, Basis]]:
    """Day trades apart, then the rest through the average price: what each day and asset
    realised, and the positions after the last trade. A split applies before its day's
    trades; a day's end adjustment is a cost of the day trade of its day and asset."""
    days: dict[tuple[date, str], _Day] = {}
    splits: dict[tuple[date, str], list[TaxSplit]] = defaultdict(list)
    adjustments: dict[tuple[date, str], Decimal] = defaultdict(lambda: ZERO)
    category: dict[str, AssetCategory] = {}
    for trade in trades:
        category[trade.ticker] = trade.category
        if isinstance(trade, TaxSplit):
            splits[(trade.day, trade.ticker)].append(trade)
            continue
        if isinstance(trade, TaxDayTradeAdjustment):
            adjustments[(trade.day, trade.ticker)] += trade.amount
            continue
        if trade.quantity <= 0:
            raise ValueError("a trade has a positive quantity")
        day = days.setdefault((trade.day, trade.ticker), _Day())
        if trade.side is OrderSide.BUY:
            day.bought += trade.quantity
            day.bought_value += trade.value
            day.bought_costs += trade.costs
        else:
            day.sold += trade.quantity
            day.sold_value += trade.value
            day.sold_costs += trade.costs
    positions: dict[str, Basis] = {}
    realised: list[Realised] = []
    for on, ticker in sorted(set(days) | set(splits)):
        for split in splits.get((on, ticker), ()):
            positions[ticker], gain = _split(positions.get(ticker, Basis()), split)
            if gain is not None:
                realised.append(Realised(on, ticker, category[ticker], TradeKind.SWING_TRADE, ZERO, gain))
        if (on, ticker) not in days:
            continue
        d = days[(on, ticker)]
        matched = min(d.bought, d.sold)
        if matched:
            # The swing part of each side, rounded; the day trade gets the rest (no centavo lost).
            buy_value = d.bought_value - _share(d.bought_value, d.bought - matched, d.bought)
            buy_costs = d.bought_costs - _share(d.bought_costs, d.bought - matched, d.bought)
            sell_value = d.sold_value - _share(d.sold_value, d.sold - matched, d.sold)
            sell_costs = d.sold_costs - _share(d.sold_costs, d.sold - matched, d.sold)
            result = (sell_value - sell_costs) - (buy_value + buy_costs) - adjustments.get((on, ticker), ZERO)
            realised.append(Realised(on, ticker, category[ticker], TradeKind.DAY_TRADE, sell_value, result))
        basis = positions.get(ticker, Basis())
        before = basis.realized
        if d.bought > matched:
            rest = d.bought - matched
            basis = apply_trade(basis, OrderSide.BUY, rest, _share(d.bought_value, rest, d.bought), _share(d.bought_costs, rest, d.bought))
            if basis.realized != before:  # covering a short (the broker allows none; a projection takes what comes)
                realised.append(Realised(on, ticker, category[ticker], TradeKind.SWING_TRADE, ZERO, basis.realized - before))
        elif d.sold > matched:
            rest = d.sold - matched
            value = _share(d.sold_value, rest, d.sold)
            basis = apply_trade(basis, OrderSide.SELL, rest, value, _share(d.sold_costs, rest, d.sold))
            realised.append(Realised(on, ticker, category[ticker], TradeKind.SWING_TRADE, value, basis.realized - before))
        positions[ticker] = basis
    return realised, positions


# ------------------------------------------------------------------ IRRF


def allocate(total: Decimal, weights: Mapping[AssetCategory, Decimal]) -> dict[AssetCategory, Decimal]:
    """`total` (centavos) split in proportion to positive `weights`, by the largest remainder,
    so the parts add up to `total` exactly."""
    positive = {key: weight for key, weight in weights.items() if weight > 0}
    whole = sum(positive.values(), ZERO)
    if total == 0 or whole == 0:
        return {}
    units = int(total / Decimal("0.01"))
    exact = {key: Decimal(units) * weight / whole for key, weight in positive.items()}
    floors = {key: int(value) for key, value in exact.items()}
    left = units - sum(floors.values())
    for key in sorted(exact, key=lambda k: (-(exact[k] - floors[k]), k.value))[:left]:
        floors[key] += 1
    return {key: Decimal(n) / 100 for key, n in floors.items() if n}


def irrf_by_category(realised: Sequence[Realised], rules_of: Callable[[date], TaxRules]) -> dict[tuple[date, AssetCategory, TradeKind], Decimal]:
    """What each day withheld at source, by category and kind."""
    by_day: dict[date, list[Realised]] = defaultdict(list)
    for item in realised:
        by_day[item.day].append(item)
    withheld: dict[tuple[date, AssetCategory, TradeKind], Decimal] = {}
    for on, items in by_day.items():
        rules = rules_of(_month_of(on))
        swing: dict[AssetCategory, Decimal] = defaultdict(lambda: ZERO)
        for item in items:
            if item.kind is TradeKind.SWING_TRADE:
                swing[item.category] += item.sales
        # The note's figure: per ticker the swing sales are already in centavos.
        irrf = cents(sum(swing.values(), ZERO) * rules.irrf_swing_rate)
        if irrf > rules.irrf_not_withheld_up_to:
            for category, amount in allocate(irrf, swing).items():
                withheld[(on, category, TradeKind.SWING_TRADE)] = amount
        # The day's day trades net against each other, whatever the asset (Lei 9.959/2000,
        # art. 8, par. 2); the 1% on a positive net goes to the categories that gained.
        day_trades: dict[AssetCategory, Decimal] = defaultdict(lambda: ZERO)
        for item in items:
            if item.kind is TradeKind.DAY_TRADE:
                day_trades[item.category] += item.result
        net = sum(day_trades.values(), ZERO)
        if net > 0:
            for category, amount in allocate(cents(net * rules.irrf_day_trade_rate), day_trades).items():
                withheld[(on, category, TradeKind.DAY_TRADE)] = amount
    return withheld


# ------------------------------------------------------------------ the month


@dataclass(frozen=True)
class CategoryResult:
    category: AssetCategory
    kind: TradeKind
    sales: Decimal  # gross sales of the month
    result: Decimal  # net gain (positive) or loss, costs included
    exempt: bool  # stock swing trade with the month's sales within the exemption
    exempt_gain: Decimal  # the part of `result` left untaxed
    rate: Decimal
    irrf: Decimal  # withheld at source this month

    @property
    def assessed(self) -> Decimal:
        """What goes into the pool: the result less an exempt gain (an exempt loss stays)."""
        return self.result - self.exempt_gain


@dataclass(frozen=True)
class PoolAssessment:
    """One loss pool's month: the net result, the loss used and carried, the tax."""

    sheet: TaxSheet
    kind: TradeKind
    rate: Decimal
    result: Decimal  # the pool's categories' assessed results together
    loss_carried_in: Decimal  # positive: losses of earlier months still to offset
    loss_used: Decimal
    loss_carried_out: Decimal
    taxable: Decimal
    tax_due: Decimal


@dataclass(frozen=True)
class IrrfAccount:
    """One sheet's withholding: deducted from its tax, the rest carried within the year."""

    sheet: TaxSheet
    withheld: Decimal
    carried_in: Decimal
    deducted: Decimal
    carried_out: Decimal


@dataclass(frozen=True)
class Darf:
    code: str
    period: date  # the month assessed (its first day)
    due_date: date  # last business day of the next month
    tax: Decimal  # this month's tax after IRRF
    carried_in: Decimal  # earlier months' DARFs under the minimum
    amount: Decimal  # what to pay by `due_date`; 0 below the minimum
    carried_to_next: Decimal  # below the minimum: added to next month's DARF


@dataclass(frozen=True)
class MonthlyTaxReport:
    month: date  # its first day
    rules: str  # the TaxRules version applied
    categories: tuple[CategoryResult, ...]
    pools: tuple[PoolAssessment, ...]
    irrf: tuple[IrrfAccount, ...]
    darf: Darf

    @property
    def tax_due(self) -> Decimal:
        return sum((pool.tax_due for pool in self.pools), ZERO)

    @property
    def irrf_deducted(self) -> Decimal:
        return sum((account.deducted for account in self.irrf), ZERO)

    def category(self, category: AssetCategory, kind: TradeKind) -> CategoryResult:
        return next(c for c in self.categories if (c.category, c.kind) == (category, kind))

    def pool(self, sheet: TaxSheet, kind: TradeKind) -> PoolAssessment:
        return next(p for p in self.pools if (p.sheet, p.kind) == (sheet, kind))


@dataclass(frozen=True)
class Carry:
    """What one month hands the next."""

    losses: Mapping[tuple[TaxSheet, TradeKind], Decimal] = field(default_factory=dict)
    irrf: Mapping[TaxSheet, Decimal] = field(default_factory=dict)
    irrf_year: int | None = None
    darf: Decimal = ZERO


def assess_month(
    month: date,
    realised: Sequence[Realised],
    withheld: Mapping[tuple[AssetCategory, TradeKind], Decimal],
    carry: Carry,
    due_date: date,
    rules: TaxRules = RULES_2004,
) -> tuple[MonthlyTaxReport, Carry]:
    """One month's report from what it realised and withheld, and what it hands on."""
    sales: dict[tuple[AssetCategory, TradeKind], Decimal] = defaultdict(lambda: ZERO)
    results: dict[tuple[AssetCategory, TradeKind], Decimal] = defaultdict(lambda: ZERO)
    for item in realised:
        if _month_of(item.day) != month:
            raise ValueError(f"{item.day} is not in {month:%Y-%m}")
        sales[(item.category, item.kind)] += item.sales
        results[(item.category, item.kind)] += item.result
    stock_swing = (AssetCategory.STOCK, TradeKind.SWING_TRADE)
    exempt = 0 < sales[stock_swing] <= rules.stock_swing_exemption
    categories = tuple(
        CategoryResult(
            category=category,
            kind=kind,
            sales=sales[(category, kind)],
            result=results[(category, kind)],
            exempt=exempt and (category, kind) == stock_swing,
            exempt_gain=max(results[(category, kind)], ZERO) if exempt and (category, kind) == stock_swing else ZERO,
            rate=rules.rates[(category, kind)],
            irrf=withheld.get((category, kind), ZERO),
        )
        for category in CATEGORIES
        for kind in KINDS
    )
    pools: list[PoolAssessment] = []
    losses: dict[tuple[TaxSheet, TradeKind], Decimal] = {}
    for sheet, kind in POOLS:
        result = sum((c.assessed for c in categories if SHEET_OF[c.category] is sheet and c.kind is kind), ZERO)
        carried_in = carry.losses.get((sheet, kind), ZERO)
        used = min(carried_in, result) if result > 0 else ZERO
        taxable = max(result, ZERO) - used
        carried_out = carried_in - used + max(-result, ZERO)
        rate = rules.rate(sheet, kind)
        pools.append(PoolAssessment(sheet, kind, rate, result, carried_in, used, carried_out, taxable, cents(taxable * rate)))
        losses[(sheet, kind)] = carried_out
    # IRRF left from earlier months of the same year only.
    earlier = carry.irrf if carry.irrf_year == month.year else {}
    accounts: list[IrrfAccount] = []
    for sheet in TaxSheet:
        month_withheld = sum((c.irrf for c in categories if SHEET_OF[c.category] is sheet), ZERO)
        available = month_withheld + earlier.get(sheet, ZERO)
        due = sum((p.tax_due for p in pools if p.sheet is sheet), ZERO)
        deducted = min(available, due)
        accounts.append(IrrfAccount(sheet, month_withheld, earlier.get(sheet, ZERO), deducted, available - deducted))
    tax = sum((p.tax_due for p in pools), ZERO) - sum((a.deducted for a in accounts), ZERO)
    total = tax + carry.darf
    below = total < rules.darf_minimum
    darf = Darf(
        code=rules.darf_code,
        period=month,
        due_date=due_date,
        tax=tax,
        carried_in=carry.darf,
        amount=ZERO if below else total,
        carried_to_next=total if below else ZERO,
    )
    report = MonthlyTaxReport(month, rules.version, categories, tuple(pools), tuple(accounts), darf)
    return report, Carry(losses, {a.sheet: a.carried_out for a in accounts}, month.year, darf.carried_to_next)


def monthly_reports(
    trades: Iterable[TaxItem],
    through: date,
    is_business_day: Callable[[date], bool],
    rules_of: Callable[[date], TaxRules] = rules_for,
) -> list[MonthlyTaxReport]:
    """Every month from the first trade's through `through`'s, in order: each month's
    carries (losses, IRRF, a small DARF) come from the ones before it."""
    last = _month_of(through)
    kept = [trade for trade in trades if _month_of(trade.day) <= last]
    if not kept:
        return []
    realised, _ = realise(kept)
    withheld = irrf_by_category(realised, rules_of)
    by_month: dict[date, list[Realised]] = defaultdict(list)
    for item in realised:
        by_month[_month_of(item.day)].append(item)
    month = min(_month_of(trade.day) for trade in kept)
    carry = Carry()
    reports: list[MonthlyTaxReport] = []
    while month <= last:
        month_withheld: dict[tuple[AssetCategory, TradeKind], Decimal] = defaultdict(lambda: ZERO)
        for (on, category, kind), amount in withheld.items():
            if _month_of(on) == month:
                month_withheld[(category, kind)] += amount
        due = darf_due_date(month, is_business_day)
        report, carry = assess_month(month, by_month.get(month, []), month_withheld, carry, due, rules_of(month))
        reports.append(report)
        month = next_month(month)
    return reports


def monthly_report(
    trades: Iterable[TaxItem], month: date, is_business_day: Callable[[date], bool], rules_of: Callable[[date], TaxRules] = rules_for
) -> MonthlyTaxReport:
    """One month's report, carries from every month before it; a month before any trade
    reports nothing to pay."""
    month = _month_of(month)
    reports = monthly_reports(trades, month, is_business_day, rules_of)
    if reports:
        return reports[-1]
    report, _ = assess_month(month, [], {}, Carry(), darf_due_date(month, is_business_day), rules_of(month))
    return report


def year_reports(
    trades: Sequence[TaxItem], year: int, through: date, is_business_day: Callable[[date], bool], rules_of: Callable[[date], TaxRules] = rules_for
) -> list[MonthlyTaxReport]:
    """The reports of `year`'s months up to `through`'s (a past year: all twelve)."""
    last = min(_month_of(through), date(year, 12, 1))
    if last < date(year, 1, 1):
        return []
    found = {report.month: report for report in monthly_reports(trades, last, is_business_day, rules_of)}
    reports = []
    month = date(year, 1, 1)
    while month <= last:
        if month in found:
            reports.append(found[month])
        else:  # before the first trade: nothing carried, nothing due
            reports.append(assess_month(month, [], {}, Carry(), darf_due_date(month, is_business_day), rules_of(month))[0])
        month = next_month(month)
    return reports


# ------------------------------------------------------------------ the year


@dataclass(frozen=True)
class YearEndPosition:
    """One line of "bens e direitos": an asset held at cost (average price with costs)."""

    ticker: str
    category: AssetCategory
    quantity: int
    average_price: Decimal
    cost: Decimal  # on 31 December of the year
    cost_previous_year: Decimal  # on 31 December of the year before


def year_end_positions(trades: Sequence[TaxItem], year: int) -> list[YearEndPosition]:
    """Assets held on 31 December of `year` or of the year before, at cost, by ticker."""
    category = {trade.ticker: trade.category for trade in trades}
    _, now = realise([t for t in trades if t.day <= date(year, 12, 31)])
    _, before = realise([t for t in trades if t.day <= date(year - 1, 12, 31)])
    lines = []
    for ticker in sorted(set(now) | set(before)):
        held, earlier = now.get(ticker, Basis()), before.get(ticker, Basis())
        if held.quantity == 0 and earlier.quantity == 0:
            continue
        lines.append(YearEndPosition(ticker, category[ticker], held.quantity, held.average_price, held.cost, earlier.cost))
    return lines


# ------------------------------------------------------------------ dates


def _month_of(day: date) -> date:
    return day.replace(day=1)


def next_month(month: date) -> date:
    return date(month.year + 1, 1, 1) if month.month == 12 else date(month.year, month.month + 1, 1)


def darf_due_date(month: date, is_business_day: Callable[[date], bool]) -> date:
    """The last business day of the month after `month`."""
    day = next_month(next_month(_month_of(month))) - timedelta(days=1)
    while not is_business_day(day):
        day -= timedelta(days=1)
    return day
