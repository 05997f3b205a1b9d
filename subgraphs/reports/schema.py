"""The reports subgraph's GraphQL types: it adds `User.portfolio` and references assets.

It owns no root field, so its Query holds only the federation machinery (`_entities`,
`_service`); the router reaches `portfolio` through a User entity fetch."""
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
from subgraphs.reports import domain, notes
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

    @classmethod
    def from_domain(cls, value: domain.PositionValue) -> "PortfolioPosition":
        return cls(
            asset=Asset(ticker=strawberry.ID(value.ticker)),
            quantity=value.quantity,
            average_price=value.average_price,
            market_value=value.market_value,
            unrealized_pnl=value.unrealized_pnl,
        )


@strawberry.type
class Portfolio:
    positions: list[PortfolioPosition]
    market_value: Decimal
    cost_basis: Decimal
    unrealized_pnl: Decimal
    realized_pnl: Decimal

    @classmethod
    def from_domain(cls, value: domain.PortfolioValue) -> "Portfolio":
        return cls(
            positions=[PortfolioPosition.from_domain(p) for p in value.positions],
            market_value=value.market_value,
            cost_basis=value.cost_basis,
            unrealized_pnl=value.unrealized_pnl,
            realized_pnl=value.realized_pnl,
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
            net=abs(note.net),
            net_debit_credit=DebitCredit(notes.side_of(note.net)),
        )


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


schema = federation_schema(types=[User])
