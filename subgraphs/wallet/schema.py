"""The wallet's part of the API: `User.wallet`, deposits and withdrawals.

There is no Query field of our own: federation's `_entities` reaches `User.wallet`."""
from __future__ import annotations

import asyncio
import datetime as dt
from datetime import datetime
from decimal import Decimal

import strawberry

from mybroker.calendar import BRASILIA
from mybroker.fees import FeeKind as FeeItem
from mybroker.graphql import GraphQLContext, federation_schema
from mybroker.pagination import encode_cursor
from subgraphs.wallet import corporate_events, domain, statement
from subgraphs.wallet.domain import PostedEntry
from subgraphs.wallet.service import WalletService

# The context SubgraphGraphQL builds, with this subgraph's service: what resolvers get as `info`.
Info = strawberry.Info[GraphQLContext[WalletService], None]

# The domain's enum is the API's: one list of kinds, no mapping to keep in step.
WalletTransactionType = strawberry.enum(domain.TransactionType, name="WalletTransactionType")
FeeKind = strawberry.enum(
    FeeItem, name="FeeKind", description="an item of a trade's costs: B3's emolumentos and liquidação, brokerage, ISS"
)


CorporateEventKind = strawberry.enum(
    corporate_events.EventKind, name="CorporateEventKind",
    description="DIVIDEND (dividendos), JCP (juros sobre capital próprio), SPLIT (desdobramento), REVERSE_SPLIT (grupamento)",
)


def per_share_text(amount: Decimal) -> str:
    """0.45000000 -> "0.45", 0.45370000 -> "0.4537", 1 -> "1.00"."""
    text = format(amount.normalize(), "f")
    places = len(text.partition(".")[2])
    return text if places >= 2 else format(amount.quantize(Decimal("0.01")), "f")


@strawberry.type(description="a dividend, JCP, split or reverse split of an asset, as the wallet applies it to the holders at the close of its record date")
class CorporateEvent:
    id: strawberry.ID
    ticker: str
    kind: CorporateEventKind
    record_date: dt.date = strawberry.field(description="data com: whoever holds the shares at the close of this B3 session takes part")
    ex_date: dt.date = strawberry.field(description="the first B3 session without the right: shares bought from then on do not take part")
    payment_date: dt.date | None = strawberry.field(description="DIVIDEND and JCP: the day the cash is credited")
    amount_per_share: str | None = strawberry.field(
        description='DIVIDEND and JCP: gross per share as declared, a decimal string of at least two and at most eight places ("0.45", "0.4537"); '
        "companies declare more places than a Decimal holds"
    )
    ratio_new: int | None = strawberry.field(description="SPLIT and REVERSE_SPLIT: ratioNew shares for every ratioOld held")
    ratio_old: int | None
    fraction_price: Decimal | None = strawberry.field(
        description="REVERSE_SPLIT: cash per new share for the fraction of a share left over (credited on the ex-date, FRACTION_CASH)"
    )
    description: str
    illustrative: bool = strawberry.field(description="true: a made-up event for the simulator, not market history")

    @classmethod
    def from_domain(cls, event: corporate_events.CorporateEvent, ex_date: dt.date) -> "CorporateEvent":
        return cls(
            id=strawberry.ID(event.id), ticker=event.ticker, kind=event.kind, record_date=event.record_date, ex_date=ex_date,
            payment_date=event.payment_date,
            amount_per_share=None if event.amount_per_share is None else per_share_text(event.amount_per_share),
            ratio_new=event.ratio_new,
            ratio_old=event.ratio_old, fraction_price=event.fraction_price, description=event.description,
            illustrative=event.illustrative,
        )


@strawberry.federation.type(keys=["ticker"])
class Asset:
    ticker: strawberry.ID

    @classmethod
    def resolve_reference(cls, ticker: strawberry.ID) -> "Asset":
        return cls(ticker=ticker)

    @strawberry.field(description="the asset's corporate events the broker knows (dividends, JCP, splits), newest record date first")
    async def corporate_events(self, info: Info) -> list[CorporateEvent]:
        calendar = info.context.service.calendar
        return [
            CorporateEvent.from_domain(event, calendar.business_day_on_or_after(event.ex_date))
            for event in await info.context.service.corporate_events_of(str(self.ticker))
        ]


@strawberry.type
class Position:
    asset: Asset
    quantity: int = strawberry.field(description="shares owned, settled or not")
    blocked_quantity: int = strawberry.field(description="shares reserved by open SELL orders")
    average_price: Decimal

    @classmethod
    def from_domain(cls, position: domain.Position) -> "Position":
        return cls(
            asset=Asset(ticker=strawberry.ID(position.ticker)),
            quantity=position.quantity,
            blocked_quantity=position.blocked_quantity,
            average_price=position.average_price,
        )


@strawberry.type
class WalletTransaction:
    id: strawberry.ID
    type: WalletTransactionType
    amount: Decimal = strawberry.field(description="signed: money into available cash is positive")
    order_id: strawberry.ID | None
    created_at: datetime
    ticker: str | None = strawberry.field(description="the order's ticker, on every entry an order made")
    quantity: int | None = strawberry.field(description="BUY and SELL: the shares this fill traded")
    price: Decimal | None = strawberry.field(description="BUY and SELL: the price per share of this fill")
    settles_on: dt.date | None = strawberry.field(
        description="BUY, SELL, FEE, FEE_ADJUSTMENT and a trade IRRF: the B3 business day this cash settles (D+2); null: settled at once"
    )
    fee_kind: FeeKind | None = strawberry.field(
        default=None,
        description="FEE: which cost of the fill (one line per item); FEE_ADJUSTMENT: which cost the day's end adjusts; "
        "null on other entries",
    )
    corporate_event_id: strawberry.ID | None = strawberry.field(
        default=None,
        description="DIVIDEND, JCP, IRRF, SPLIT, REVERSE_SPLIT and FRACTION_CASH: the corporate event the line comes from "
        "(Asset.corporateEvents); quantity is then the shares entitled (a split's: the shares it added or, negative, removed)",
    )

    @classmethod
    def from_entry(cls, entry: PostedEntry) -> "WalletTransaction":
        return cls(
            id=strawberry.ID(entry.id),
            type=entry.type,
            amount=entry.amount,
            order_id=strawberry.ID(entry.order_id) if entry.order_id else None,
            created_at=entry.created_at,
            ticker=entry.ticker,
            quantity=entry.quantity,
            price=entry.price,
            settles_on=entry.settles_on,
            fee_kind=entry.fee_kind,
            corporate_event_id=None if entry.event_id is None else strawberry.ID(entry.event_id),
        )


@strawberry.federation.type(shareable=True, description="where a page of a connection stands (Relay)")
class PageInfo:
    has_next_page: bool
    end_cursor: str | None = strawberry.field(description="pass as `after` for the next page; null on an empty page")


@strawberry.type
class WalletTransactionEdge:
    cursor: str
    node: WalletTransaction


@strawberry.type
class WalletTransactionConnection:
    edges: list[WalletTransactionEdge]
    page_info: PageInfo


@strawberry.input(description="which entries a history page holds: any of each list (empty or null: all), posted in [from, to)")
class TransactionHistoryFilter:
    types: list[WalletTransactionType] | None = None
    tickers: list[strawberry.ID] | None = None
    from_: datetime | None = strawberry.field(default=None, name="from", description="posted at or after")
    to: datetime | None = strawberry.field(default=None, description="posted before")

    def to_domain(self) -> domain.EntryFilter:
        return domain.EntryFilter(
            types=tuple(self.types or ()), tickers=tuple(str(t) for t in self.tickers or ()), since=self.from_, until=self.to
        )


@strawberry.type(description="trades' cash that settles on one B3 business day")
class CashToSettle:
    date: dt.date = strawberry.field(description="the B3 business day it settles (D+2 of its trades)")
    amount: Decimal = strawberry.field(description="net: sale proceeds in, purchases and fees out")
    balance: Decimal = strawberry.field(description="settled cash once this day has settled (projected)")


@strawberry.type(description="one line of a monthly statement: a ledger entry with the balance after it")
class StatementLine:
    id: strawberry.ID = strawberry.field(description="the ledger entry's id (WalletTransaction.id)")
    kind: WalletTransactionType = strawberry.field(description="the entry's type; reservations (RESERVE, RELEASE) are not lines")
    description: str = strawberry.field(description='pt-BR, as the CSV and PDF print it: "Compra PETR4 100 @ 31,45"')
    posted_at: datetime
    date: dt.date = strawberry.field(description="the day it was posted, in Brasília")
    ticker: str | None
    quantity: int | None = strawberry.field(description="BUY and SELL: the shares this fill traded")
    price: Decimal | None = strawberry.field(description="BUY and SELL: the price per share")
    amount: Decimal = strawberry.field(description="signed: money into the account is positive")
    balance: Decimal = strawberry.field(description="the account's cash (available + blocked) after this line")
    settles_on: dt.date | None = strawberry.field(description="trades and their costs: the B3 business day it settles (D+2)")
    order_id: strawberry.ID | None
    fee_kind: FeeKind | None = strawberry.field(description="FEE: which cost")

    @classmethod
    def from_domain(cls, line: statement.StatementLine) -> "StatementLine":
        entry = line.entry
        return cls(
            id=strawberry.ID(entry.id),
            kind=entry.type,
            description=line.description,
            posted_at=entry.created_at,
            date=entry.created_at.astimezone(BRASILIA).date(),
            ticker=entry.ticker,
            quantity=entry.quantity,
            price=entry.price,
            amount=entry.amount,
            balance=line.balance,
            settles_on=entry.settles_on,
            order_id=strawberry.ID(entry.order_id) if entry.order_id else None,
            fee_kind=entry.fee_kind,
        )


@strawberry.type(description="the monthly statement (extrato): the account's cash over a calendar month in Brasília")
class Statement:
    user_id: strawberry.Private[str]
    month: str = strawberry.field(description="YYYY-MM")
    first_day: dt.date
    last_day: dt.date
    opening_balance: Decimal = strawberry.field(description="saldo anterior: the account's cash (available + blocked) as the month began")
    closing_balance: Decimal = strawberry.field(description="saldo final: after the month's last line (today's, for the current month)")
    credits: Decimal = strawberry.field(description="the month's money in")
    debits: Decimal = strawberry.field(description="the month's money out, unsigned")
    lines: list[StatementLine] = strawberry.field(description="in posting order, each with its running balance")

    @classmethod
    def from_domain(cls, found: statement.Statement) -> "Statement":
        return cls(
            user_id=found.user_id,
            month=str(found.month),
            first_day=found.month.first_day,
            last_day=found.month.last_day,
            opening_balance=found.opening_balance,
            closing_balance=found.closing_balance,
            credits=found.credits,
            debits=found.debits,
            lines=[StatementLine.from_domain(line) for line in found.lines],
        )

    @strawberry.field(description="a short-lived link (a few minutes) to this statement as CSV, for its owner: GET it from the router")
    def csv_url(self, info: Info) -> str:
        return info.context.service.statement_link(info.context.caller, self.user_id, self.month, "csv")

    @strawberry.field(description="a short-lived link (a few minutes) to this statement as PDF (pt-BR), for its owner: GET it from the router")
    def pdf_url(self, info: Info) -> str:
        return info.context.service.statement_link(info.context.caller, self.user_id, self.month, "pdf")


@strawberry.type
class Wallet:
    id: strawberry.ID
    currency: str = strawberry.field(description="always BRL")
    available: Decimal = strawberry.field(
        description="cash free to spend (buying power): settled or not, less what open BUY orders block; "
        "`withdrawable` is what may leave"
    )
    blocked: Decimal = strawberry.field(description="cash reserved by open BUY orders")
    user_id: strawberry.Private[str]
    # Positions read with the cash in one snapshot, when the resolver had them.
    snapshot_positions: strawberry.Private[list[domain.Position] | None] = None
    # The settlement view, read with the cash when the query asks for it (User.wallet), or
    # else once for however many of its fields the query asks.
    snapshot_cash: strawberry.Private[domain.CashView | None] = None
    cash_reading: strawberry.Private[asyncio.Task | None] = None

    @classmethod
    def from_domain(
        cls, wallet: domain.Wallet, positions: list[domain.Position] | None = None, cash: domain.CashView | None = None
    ) -> "Wallet":
        return cls(
            id=strawberry.ID(wallet.id),
            currency=wallet.currency,
            available=wallet.available,
            blocked=wallet.blocked,
            user_id=wallet.user_id,
            snapshot_positions=positions,
            snapshot_cash=cash,
        )

    @strawberry.field
    async def positions(self, info: Info) -> list[Position]:
        held = self.snapshot_positions
        if held is None:
            held = await info.context.service.positions(info.context.caller, self.user_id)
        return [Position.from_domain(p) for p in held]

    async def _cash(self, info: Info) -> domain.CashView:
        if self.snapshot_cash is not None:
            return self.snapshot_cash
        # Sibling fields resolve concurrently: the first starts the read, the others share it.
        if self.cash_reading is None:
            self.cash_reading = asyncio.ensure_future(info.context.service.cash(info.context.caller, self.user_id))
        return await self.cash_reading

    @strawberry.field(description="cash settled at B3 (trades settle on D+2), blocked cash included")
    async def settled(self, info: Info) -> Decimal:
        return (await self._cash(info)).settled

    @strawberry.field(description="trades' cash still to settle, by settlement day, oldest first (a liquidar)")
    async def to_settle(self, info: Info) -> list[CashToSettle]:
        view = await self._cash(info)
        return [CashToSettle(date=item.day, amount=item.amount, balance=item.balance) for item in view.to_settle]

    @strawberry.field(description="what a BUY may spend now: available, sale proceeds not yet settled included")
    async def buying_power(self, info: Info) -> Decimal:
        return (await self._cash(info)).buying_power

    @strawberry.field(description="what may be withdrawn now: available cash that is not from sales still to settle")
    async def withdrawable(self, info: Info) -> Decimal:
        return (await self._cash(info)).withdrawable

    @strawberry.field(description="the ledger, newest first, a page at a time (at most 500 a page; more is refused), filtered")
    async def transaction_history(
        self, info: Info, first: int | None = 50, after: str | None = None, filter: TransactionHistoryFilter | None = None
    ) -> WalletTransactionConnection | None:
        wanted = filter.to_domain() if filter is not None else domain.EntryFilter()
        page = await info.context.service.transaction_history(info.context.caller, self.user_id, wanted, first, after)
        edges = [WalletTransactionEdge(cursor=encode_cursor(seq), node=WalletTransaction.from_entry(entry)) for seq, entry in page.items]
        return WalletTransactionConnection(
            edges=edges, page_info=PageInfo(has_next_page=page.has_next_page, end_cursor=page.end_cursor)
        )

    @strawberry.field(
        description="the monthly statement (extrato) of `month`, YYYY-MM in Brasília; a month not begun or not of that form is "
        "BAD_USER_INPUT (nullable, so a refusal nulls this field and not the wallet)"
    )
    async def statement(self, info: Info, month: str) -> Statement | None:
        return Statement.from_domain(await info.context.service.statement(info.context.caller, self.user_id, month))

    @strawberry.field(description="newest first")
    async def transactions(self, info: Info, first: int | None = 50) -> list[WalletTransaction]:
        entries = await info.context.service.transactions(info.context.caller, self.user_id, first)
        return [WalletTransaction.from_entry(entry) for entry in entries]


@strawberry.federation.type(keys=["id"])
class User:
    id: strawberry.ID

    @classmethod
    def resolve_reference(cls, id: strawberry.ID) -> "User":
        return cls(id=id)

    @strawberry.field
    async def wallet(self, info: Info) -> Wallet:
        with_cash = bool(CASH_FIELDS & _selected(info.selected_fields))
        return Wallet.from_domain(
            *await info.context.service.wallet_with_positions(info.context.caller, str(self.id), with_cash=with_cash)
        )


# Wallet's fields that need the settlement view: asked for, it is read in the same
# snapshot as the balances.
CASH_FIELDS = frozenset({"settled", "toSettle", "buyingPower", "withdrawable"})


def _selected(fields) -> set[str]:
    """The names selected directly under these fields, through fragments."""
    names: set[str] = set()
    for field in fields:
        for selection in getattr(field, "selections", ()):
            if hasattr(selection, "name") and not hasattr(selection, "type_condition"):
                names.add(selection.name)
            else:  # an inline fragment or a fragment spread: its own selections
                names |= _selected([selection])
    return names


@strawberry.type
class Mutation:
    @strawberry.mutation
    async def deposit(self, info: Info, amount: Decimal) -> Wallet:
        return Wallet.from_domain(await info.context.service.deposit(info.context.caller, amount))

    @strawberry.mutation
    async def withdraw(self, info: Info, amount: Decimal) -> Wallet:
        return Wallet.from_domain(await info.context.service.withdraw(info.context.caller, amount))


schema = federation_schema(mutation=Mutation, types=[User, Asset])
