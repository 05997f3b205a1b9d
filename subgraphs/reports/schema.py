"""The reports subgraph's GraphQL types: it adds `User.portfolio` and references assets.

Its one root field is identity's `me`, shared (its key only), so the router answers
`me { portfolio }` here alone; otherwise it reaches `portfolio` through a User entity fetch."""
from __future__ import annotations

import base64
import datetime as dt
from decimal import Decimal
from enum import Enum
from typing import Annotated

import strawberry
from strawberry.federation.schema_directives import Key
from strawberry.federation.types import FieldSet

from mybroker.graphql import GraphQLContext, federation_schema
from subgraphs.reports import domain, notes, tax
from subgraphs.reports.note_pdf import note_pdf
from subgraphs.reports.service import ReportsService

# The context SubgraphGraphQL builds, with this subgraph's service: what resolvers get as `info`.
Info = strawberry.Info[GraphQLContext[ReportsService], None]


@strawberry.federation.type(keys=[Key(fields=FieldSet("ticker"), resolvable=False)])
class Asset:
    ticker: strawberry.ID


@strawberry.type
class PortfolioPosition:
    asset: Asset
    quantity: int
    average_price: Decimal
    market_value: Decimal
    unrealized_pnl: Decimal
    income_received: Decimal = strawberry.field(description="dividends and JCP received on this asset, net of IRRF")

    @classmethod
    def from_domain(cls, value: domain.PositionValue) -> "PortfolioPosition":
        return cls(
            asset=Asset(ticker=strawberry.ID(value.ticker)),
            quantity=value.quantity,
            average_price=value.average_price,
            market_value=value.market_value,
            unrealized_pnl=value.unrealized_pnl,
            income_received=value.income_received,
        )


@strawberry.enum(description="DIVIDEND (dividendos) or JCP (juros sobre capital próprio)")
class IncomeKind(Enum):
    DIVIDEND = "DIVIDEND"
    JCP = "JCP"


@strawberry.type(description="a dividend or JCP payment credited to the wallet (proventos recebidos)")
class IncomePayment:
    corporate_event_id: strawberry.ID = strawberry.field(description="the event (Asset.corporateEvents)")
    asset: Asset
    kind: IncomeKind
    record_date: dt.date = strawberry.field(description="data com: the shares held at its close were paid")
    paid_on: dt.date
    quantity: int = strawberry.field(description="the shares entitled")
    gross: Decimal
    withheld: Decimal = strawberry.field(description="IRRF withheld at source")
    net: Decimal

    @classmethod
    def from_domain(cls, payment: domain.IncomeReceived) -> "IncomePayment":
        return cls(
            corporate_event_id=strawberry.ID(payment.event_id), asset=Asset(ticker=strawberry.ID(payment.ticker)),
            kind=IncomeKind(payment.kind), record_date=payment.record_date, paid_on=payment.paid_on,
            quantity=payment.quantity, gross=payment.gross, withheld=payment.withheld, net=payment.net,
        )


@strawberry.type
class Portfolio:
    positions: list[PortfolioPosition]
    market_value: Decimal
    cost_basis: Decimal
    unrealized_pnl: Decimal
    realized_pnl: Decimal
    income_received: Decimal = strawberry.field(description="dividends and JCP received, net of the IRRF withheld")
    income: list[IncomePayment] = strawberry.field(description="the dividends and JCP received, newest payment first")

    @classmethod
    def from_domain(cls, value: domain.PortfolioValue) -> "Portfolio":
        return cls(
            positions=[PortfolioPosition.from_domain(p) for p in value.positions],
            market_value=value.market_value,
            cost_basis=value.cost_basis,
            unrealized_pnl=value.unrealized_pnl,
            realized_pnl=value.realized_pnl,
            income_received=value.income_received,
            income=[IncomePayment.from_domain(payment) for payment in value.income],
        )


@strawberry.enum(description="C: compra (a purchase); V: venda (a sale)")
class NoteOperation(Enum):
    C = "C"
    V = "V"


@strawberry.enum(description="D: debited to the client; C: credited")
class DebitCredit(Enum):
    D = "D"
    C = "C"


@strawberry.enum(description="the trade's market type: VISTA (round lots) or FRACIONARIO (the odd-lot market, tickers ending in F)")
class NoteTradeType(Enum):
    VISTA = "VISTA"
    FRACIONARIO = "FRACIONARIO"


@strawberry.type(description="one line of a brokerage note: the day's fills of one side, ticker and price")
class BrokerageNoteTrade:
    operation: NoteOperation
    market: str = strawberry.field(description='B3\'s market, "1-BOVESPA"')
    type: NoteTradeType
    ticker: str = strawberry.field(description="as traded: PETR4F on the fractional market")
    quantity: int
    price: Decimal
    value: Decimal = strawberry.field(description="price x quantity")
    debit_credit: DebitCredit

    @classmethod
    def from_domain(cls, trade: notes.NoteTrade) -> "BrokerageNoteTrade":
        return cls(
            operation=NoteOperation(trade.operation),
            market=trade.market,
            type=NoteTradeType(trade.kind),
            ticker=trade.ticker,
            quantity=trade.quantity,
            price=trade.price,
            value=trade.value,
            debit_credit=DebitCredit(trade.debit_credit),
        )


@strawberry.type(description="a nota de corretagem: one trader's trades of one B3 trading day, with their costs")
class BrokerageNote:
    note: strawberry.Private[notes.BrokerageNote]
    number: str = strawberry.field(description="the note's number, stable for the trader and day")
    trade_date: dt.date = strawberry.field(description="data do pregão")
    settlement_date: dt.date = strawberry.field(description="D+2 business days at B3: when the net settles")
    trades: list[BrokerageNoteTrade]
    sales: Decimal = strawberry.field(description="resumo dos negócios: vendas à vista")
    purchases: Decimal = strawberry.field(description="resumo dos negócios: compras à vista")
    total_traded: Decimal = strawberry.field(description="resumo dos negócios: valor das operações (purchases and sales)")
    operations_net: Decimal = strawberry.field(description="valor líquido das operações (sales less purchases), unsigned")
    operations_net_debit_credit: DebitCredit
    settlement_fee: Decimal = strawberry.field(description="taxa de liquidação (B3)")
    trading_fee: Decimal = strawberry.field(description="emolumentos (B3)")
    brokerage: Decimal = strawberry.field(description="corretagem (the broker's fee)")
    iss: Decimal = strawberry.field(description="ISS on the brokerage")
    irrf_base: Decimal = strawberry.field(description="IRRF base: the day's swing-trade sales")
    irrf: Decimal = strawberry.field(description="IRRF withheld: 0.005% of the base, none when R$ 1.00 or less")
    day_trade_irrf_base: Decimal = strawberry.field(
        description="IRRF day trade base: the day's day-trade result (sales less purchases less final costs, every asset netted), when positive"
    )
    day_trade_irrf: Decimal = strawberry.field(description="IRRF day trade withheld: 1% of its base")
    day_trade_fee_adjustment: Decimal = strawberry.field(
        description="the day trades' B3 fees at day-trade rates less the swing-trade rates the fills were charged, "
        "signed (negative: given back); in settlementFee and tradingFee already, and the wallet's FEE_ADJUSTMENT lines once the day ends"
    )
    net: Decimal = strawberry.field(description="líquido para the settlement date, unsigned")
    net_debit_credit: DebitCredit

    @strawberry.field(description="the note as a PDF (Brazilian Portuguese, laid out like a SINACOR note), base64")
    def pdf_base64(self, info: Info) -> str:
        return base64.b64encode(note_pdf(self.note)).decode("ascii")

    @strawberry.field(description="a short-lived link (a few minutes) to the note as CSV, for its owner: GET it from the router")
    def csv_url(self, info: Info) -> str:
        return info.context.service.note_link(info.context.caller, self.note, "csv")

    @strawberry.field(description="a short-lived link (a few minutes) to the note as PDF, for its owner: GET it from the router")
    def pdf_url(self, info: Info) -> str:
        return info.context.service.note_link(info.context.caller, self.note, "pdf")

    @classmethod
    def from_domain(cls, note: notes.BrokerageNote) -> "BrokerageNote":
        return cls(
            note=note,
            number=note.number,
            trade_date=note.trade_date,
            settlement_date=note.settlement_date,
            trades=[BrokerageNoteTrade.from_domain(t) for t in note.trades],
            sales=note.sales,
            purchases=note.purchases,
            total_traded=note.total_traded,
            operations_net=abs(note.operations_net),
            operations_net_debit_credit=DebitCredit(notes.side_of(note.operations_net)),
            settlement_fee=note.settlement_fee,
            trading_fee=note.trading_fee,
            brokerage=note.brokerage,
            iss=note.iss,
            irrf_base=note.irrf_base,
            irrf=note.irrf,
            day_trade_irrf_base=note.day_trade_irrf_base,
            day_trade_irrf=note.day_trade_irrf,
            day_trade_fee_adjustment=note.fee_adjustment.total,
            net=abs(note.net),
            net_debit_credit=DebitCredit(notes.side_of(note.net)),
        )


# ------------------------------------------------------------------ income tax

AssetType = strawberry.enum(tax.AssetCategory, name="AssetType")  # the assets subgraph's, value for value
TradeKind = strawberry.enum(
    tax.TradeKind, name="TradeKind", description="SWING_TRADE (operações comuns) or DAY_TRADE (bought and sold on the same B3 trading day)"
)
TaxSheet = strawberry.enum(
    tax.TaxSheet, name="TaxSheet", description="the worksheet whose losses and IRRF stay apart: COMMON (stocks, ETFs, BDRs) or FII"
)


@strawberry.type(description="one category's trades of one kind in the month")
class TaxCategoryResult:
    category: AssetType
    trade_kind: TradeKind
    sales: Decimal = strawberry.field(description="gross sales of the month (price x quantity)")
    result: Decimal = strawberry.field(description="net gain (positive) or loss (negative), costs included, average price with costs")
    exempt: bool = strawberry.field(description="stocks in swing trade with the month's sales of R$ 20,000.00 or less")
    exempt_gain: Decimal = strawberry.field(description="the part of the gain left untaxed by the exemption")
    rate: Decimal = strawberry.field(description="the rate of its kind, as a fraction (0.15)")
    irrf: Decimal = strawberry.field(description="IRRF withheld at source this month (0.005% of swing sales, 1% of day-trade gains)")

    @classmethod
    def from_domain(cls, item: tax.CategoryResult) -> "TaxCategoryResult":
        return cls(
            category=item.category, trade_kind=item.kind, sales=item.sales, result=item.result, exempt=item.exempt,
            exempt_gain=item.exempt_gain, rate=item.rate, irrf=item.irrf,
        )


@strawberry.type(description="one loss pool's month (a sheet and a kind): losses offset only gains of the same pool")
class TaxLossPool:
    sheet: TaxSheet
    trade_kind: TradeKind
    categories: list[AssetType]
    rate: Decimal
    result: Decimal = strawberry.field(description="the categories' results together, exempt gains left out")
    loss_carried_in: Decimal = strawberry.field(description="losses of earlier months still to offset")
    loss_used: Decimal
    loss_carried_out: Decimal = strawberry.field(description="losses left for later months")
    taxable_base: Decimal
    tax_due: Decimal = strawberry.field(description="taxable base x rate, half-even to the centavo, before IRRF")

    @classmethod
    def from_domain(cls, pool: tax.PoolAssessment) -> "TaxLossPool":
        return cls(
            sheet=pool.sheet, trade_kind=pool.kind, categories=[c for c in tax.CATEGORIES if tax.SHEET_OF[c] is pool.sheet],
            rate=pool.rate, result=pool.result, loss_carried_in=pool.loss_carried_in, loss_used=pool.loss_used,
            loss_carried_out=pool.loss_carried_out, taxable_base=pool.taxable, tax_due=pool.tax_due,
        )


@strawberry.type(description="one sheet's IRRF: deducted from its tax, the rest carried to later months of the same year")
class TaxWithholding:
    sheet: TaxSheet
    withheld: Decimal = strawberry.field(description="withheld this month")
    carried_in: Decimal = strawberry.field(description="left from earlier months of the year")
    deducted: Decimal
    carried_out: Decimal

    @classmethod
    def from_domain(cls, account: tax.IrrfAccount) -> "TaxWithholding":
        return cls(sheet=account.sheet, withheld=account.withheld, carried_in=account.carried_in, deducted=account.deducted, carried_out=account.carried_out)


DarfRecord = tax.Darf  # the domain's, named apart: `tax` is a field of the type below


@strawberry.type(description="the DARF of a month's gains (code 6015)")
class Darf:
    code: str
    period: str = strawberry.field(description="the month assessed, YYYY-MM")
    due_date: dt.date = strawberry.field(description="the last B3 business day of the next month")
    tax: Decimal = strawberry.field(description="this month's tax after IRRF")
    carried_in: Decimal = strawberry.field(description="earlier DARFs under R$ 10.00, added to this one")
    amount: Decimal = strawberry.field(description="what to pay by dueDate; 0.00 when the total is under R$ 10.00")
    carried_to_next: Decimal = strawberry.field(description="a total under R$ 10.00, added to the next month's DARF")

    @classmethod
    def from_domain(cls, darf: DarfRecord) -> "Darf":
        return cls(
            code=darf.code, period=f"{darf.period:%Y-%m}", due_date=darf.due_date, tax=darf.tax, carried_in=darf.carried_in,
            amount=darf.amount, carried_to_next=darf.carried_to_next,
        )


@strawberry.type(description="the income tax (IR) of one month's trades, as the Receita's variable-income worksheets lay it out")
class TaxReport:
    month: str = strawberry.field(description="YYYY-MM")
    rules: str = strawberry.field(description="the version of the tax rules applied")
    categories: list[TaxCategoryResult] = strawberry.field(description="every category (STOCK, FII, ETF, BDR) in swing and day trade")
    pools: list[TaxLossPool]
    withholding: list[TaxWithholding]
    tax_due: Decimal = strawberry.field(description="the pools' tax together, before IRRF")
    irrf_deducted: Decimal
    darf: Darf

    @classmethod
    def from_domain(cls, report: tax.MonthlyTaxReport) -> "TaxReport":
        return cls(
            month=f"{report.month:%Y-%m}", rules=report.rules, categories=[TaxCategoryResult.from_domain(c) for c in report.categories],
            pools=[TaxLossPool.from_domain(p) for p in report.pools], withholding=[TaxWithholding.from_domain(a) for a in report.irrf],
            tax_due=report.tax_due, irrf_deducted=report.irrf_deducted, darf=Darf.from_domain(report.darf),
        )


@strawberry.type(description='one line of "bens e direitos": an asset held on 31 December, at cost with costs')
class TaxYearPosition:
    asset: Asset
    category: AssetType
    quantity: int = strawberry.field(description="held on 31 December of the year")
    average_price: Decimal = strawberry.field(description="average price with costs (kept to six places, shown to the centavo)")
    cost: Decimal = strawberry.field(description="situação em 31/12 of the year")
    cost_previous_year: Decimal = strawberry.field(description="situação em 31/12 of the year before")

    @classmethod
    def from_domain(cls, line: tax.YearEndPosition) -> "TaxYearPosition":
        return cls(
            asset=Asset(ticker=strawberry.ID(line.ticker)), category=line.category, quantity=line.quantity,
            average_price=line.average_price, cost=line.cost, cost_previous_year=line.cost_previous_year,
        )


@strawberry.type(description="a year for the annual return: positions at cost and each month's tax")
class TaxYearSummary:
    year: int
    positions: list[TaxYearPosition] = strawberry.field(description="held on 31 December of the year or of the year before")
    months: list[TaxReport] = strawberry.field(description="January to December, or to this month in the current year")


@strawberry.federation.type(keys=["id"])
class User:
    id: strawberry.ID

    @classmethod
    def resolve_reference(cls, id: strawberry.ID) -> "User":
        return cls(id=id)

    @strawberry.field
    async def portfolio(self, info: Info) -> Portfolio:
        return Portfolio.from_domain(await info.context.service.portfolio(info.context.caller, self.id))

    @strawberry.field(description="the caller's brokerage notes, one per trading day with trades, newest first; from and to included (default: the year to today), at most 366 days")
    async def brokerage_notes(
        self, info: Info, from_: Annotated[dt.date | None, strawberry.argument(name="from")] = None, to: dt.date | None = None
    ) -> list[BrokerageNote]:
        found = await info.context.service.brokerage_notes(info.context.caller, self.id, from_, to)
        return [BrokerageNote.from_domain(note) for note in found]

    @strawberry.field(description="the caller's brokerage note of one trading day; null without trades that day")
    async def brokerage_note(self, info: Info, date: dt.date) -> BrokerageNote | None:
        note = await info.context.service.brokerage_note(info.context.caller, self.id, date)
        return None if note is None else BrokerageNote.from_domain(note)


    @strawberry.field(description='the caller\'s income tax of one month, "YYYY-MM" (up to this month), with what earlier months carry into it')
    async def tax_report(self, info: Info, month: str) -> TaxReport:
        return TaxReport.from_domain(await info.context.service.tax_report(info.context.caller, self.id, month))

    @strawberry.field(description="the caller's year for the annual return: positions on 31 December at cost and each month's tax; up to this year")
    async def tax_year_summary(self, info: Info, year: int) -> TaxYearSummary:
        positions, months = await info.context.service.tax_year(info.context.caller, self.id, year)
        return TaxYearSummary(
            year=year, positions=[TaxYearPosition.from_domain(p) for p in positions], months=[TaxReport.from_domain(m) for m in months]
        )


@strawberry.type
class Query:
    @strawberry.federation.field(shareable=True, description="the caller; null without a valid token")
    def me(self, info: Info) -> User | None:
        # identity's `me`, its key only (docs/design.md, "`me` in one hop").
        user_id = info.context.caller.user_id
        return None if user_id is None else User(id=strawberry.ID(user_id))


schema = federation_schema(query=Query, types=[User])
