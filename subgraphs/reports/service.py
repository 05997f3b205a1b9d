"""Reports use cases: the portfolio projection (fed by order events and market data), the
portfolio query, the brokerage notes and the income tax reports (subgraphs.reports.tax)."""
from __future__ import annotations

import asyncio
import logging
import re
from collections import defaultdict
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import lru_cache
from typing import Callable

import orjson
from sqlalchemy.exc import IntegrityError

from mybroker.auth import Caller
from mybroker.cache import Cache
from mybroker.calendar import B3Calendar, b3_calendar
from mybroker.catalog import load_catalog
from mybroker.db import Database, utc_now
from mybroker.download_links import Document, DownloadLinks
from mybroker.errors import bad_input, forbidden
from mybroker.events import Envelope, iso, parse_iso
from mybroker.fees import NO_FEES, FeeSchedule
from mybroker.wire import CorporateEventApplied, OrderUpdated, Quote
from subgraphs.reports import repository, tax
from subgraphs.reports.domain import Fill, Holding, PortfolioValue, apply_fill, apply_split, value_portfolio
from subgraphs.reports.note_csv import note_csv, note_filename
from subgraphs.reports.note_pdf import note_pdf
from subgraphs.reports.notes import BrokerageNote, brokerage_note, day_end, fill_costs
from subgraphs.reports.wire import fill_of

log = logging.getLogger("mybroker.reports")

CONSUMER = "reports"  # inbox name of the order-events consumer
WALLET_CONSUMER = "reports-wallet"  # inbox name of the wallet-events consumer
MAX_NOTE_RANGE_DAYS = 366  # a year of notes, leap years included
# The documents reports serves through the router's download links (GET /downloads/...).
NOTE_DOCUMENT = "brokerage-note"
NOTE_FORMATS = {"csv": ("text/csv; charset=utf-8", note_csv), "pdf": ("application/pdf", note_pdf)}
MONTH = re.compile(r"([0-9]{4})-([0-9]{2})", re.ASCII)
MONTH_HINT = "Informe o mês como AAAA-MM, por exemplo 2025-03 (give the month as YYYY-MM, e.g. 2025-03)."


def price_key(ticker: str) -> str:
    return f"reports:price:{ticker}"


class ReportsService:
    def __init__(
        self,
        db: Database,
        cache: Cache,
        fees: FeeSchedule = NO_FEES,
        *,
        calendar: B3Calendar | None = None,
        clock: Callable[[], datetime] = utc_now,
        links: DownloadLinks | None = None,
    ):
        """`links`: what signs download links to notes (None: they cannot be asked for)."""
        self.links = links
        self.db = db
        self.cache = cache
        self.fees = fees  # the wallet's schedule (Settings.fee_schedule): the same costs, counted alike
        self.calendar = calendar or b3_calendar()
        self.clock = clock

    async def apply_order_update(self, message: Envelope) -> bool:
        """Folds the fill an OrderUpdated carries into the user's holding, once per envelope
        (inbox) and once per execution (fills). True when it changed the projection."""
        fill = fill_of(OrderUpdated.of(message))
        if fill is None:
            return False
        async with self.db.transaction() as tx:
            if not await tx.first_time(CONSUMER, message.id):
                return False
            return await self._fold(tx, fill)

    async def record_fill(self, fill: Fill) -> bool:
        """The same fold, handed over by orders before the order shows the fill (read your
        writes); the order event that follows finds it done."""
        try:
            async with self.db.transaction() as tx:
                return await self._fold(tx, fill)
        except IntegrityError:
            return False  # the order event's consumer folded it at the same moment

    async def _fold(self, tx, fill: Fill) -> bool:
        if await repository.fill_recorded(tx.session, fill.execution_id):
            return False
        # The fill's costs as the wallet charged them: the same schedule on the same order's
        # fills so far (an order's fills arrive in sequence, per_key), swing-trade rates.
        costs = self.fees.fill_costs(await repository.traded_before(tx.session, fill.order_id), fill.value)
        await repository.add_fill(tx.session, fill)
        before = await repository.holding_for_update(tx.session, fill.user_id, fill.ticker)
        after = apply_fill(Holding() if before is None else before, fill.side, fill.quantity, fill.price, costs.total)
        if before is None:
            await repository.add_holding(tx.session, fill.user_id, fill.ticker, after, utc_now())
        else:
            await repository.save_holding(tx.session, fill.user_id, fill.ticker, after, utc_now())
        return True

    async def apply_corporate_event(self, message: Envelope) -> bool:
        """A corporate event the wallet applied to a user: a split or reverse split re-weights
        the holding (the wallet's rule), a dividend or JCP is income received. Once per
        envelope (inbox) and per event and user. True when it changed the projection."""
        applied = CorporateEventApplied.of(message)
        async with self.db.transaction() as tx:
            if not await tx.first_time(WALLET_CONSUMER, message.id):
                return False
            now = utc_now()
            if not await repository.record_corporate_event(tx.session, applied, now):
                return False
            if applied.ratio_new is not None and applied.ratio_old is not None:
                before = await repository.holding_for_update(tx.session, applied.user_id, applied.ticker)
                if before is not None:
                    after = apply_split(before, applied.entitled, applied.ratio_new, applied.ratio_old, applied.fraction_cash)
                    await repository.save_holding(tx.session, applied.user_id, applied.ticker, after, now)
            return True

    async def record_price(self, message: Envelope) -> None:
        """Keeps the latest price per ticker. Newer wins, so redelivery needs no inbox."""
        quote = Quote.of(message)
        ticker = quote.ticker.upper()
        cached = await self.cache.get(price_key(ticker))
        if cached is not None and parse_iso(orjson.loads(cached)["time"]) > quote.time:
            return
        await self.cache.set(price_key(ticker), orjson.dumps({"price": str(quote.price), "time": iso(quote.time)}))

    async def portfolio(self, caller: Caller, user_id: str) -> PortfolioValue:
        """The caller's own portfolio only."""
        if caller.require_user() != str(user_id):
            raise forbidden("This portfolio belongs to someone else.")
        async with self.db.snapshot() as session:  # holdings and income as of one moment
            holdings = await repository.holdings_of(session, str(user_id))
            income = await repository.income_of(session, str(user_id))
        open_tickers = sorted(t for t, holding in holdings.items() if holding.quantity != 0)
        cached = await self.cache.get_many([price_key(t) for t in open_tickers])
        prices = {t: None if raw is None else Decimal(orjson.loads(raw)["price"]) for t, raw in zip(open_tickers, cached)}
        return value_portfolio(holdings, prices, income)

    # ------------------------------------------------------------ brokerage notes

    async def brokerage_notes(
        self, caller: Caller, user_id: str, since: date | None = None, until: date | None = None
    ) -> list[BrokerageNote]:
        """The caller's notes of the trading days from `since` to `until` (both included;
        by default the year to today's trading day), newest first. At most MAX_NOTE_RANGE_DAYS days."""
        _own(caller, user_id)
        # Today's trading day: after the day's rollover, trades count for the next session.
        until = until or self.calendar.trading_day(self.clock())
        # A year back, or from the first date there is (no OverflowError on `to: 0001-01-01`).
        if since is None:
            back = timedelta(days=MAX_NOTE_RANGE_DAYS - 1)
            since = until - back if until - date.min >= back else date.min
        if since > until:
            raise bad_input("'from' must not be after 'to'.")
        if (until - since).days + 1 > MAX_NOTE_RANGE_DAYS:
            raise bad_input(f"Ask for at most {MAX_NOTE_RANGE_DAYS} days of brokerage notes at a time.")
        notes = await self._notes(str(user_id), lambda day: since <= day <= until)
        return sorted(notes, key=lambda note: note.trade_date, reverse=True)

    async def brokerage_note(self, caller: Caller, user_id: str, day: date) -> BrokerageNote | None:
        """The caller's note of one trading day; None without trades that day."""
        _own(caller, user_id)
        notes = await self._notes(str(user_id), lambda trading_day: trading_day == day)
        return notes[0] if notes else None

    def note_link(self, caller: Caller, note: BrokerageNote, format: str) -> str:
        """A short-lived link to the caller's `note` as `format` (csv or pdf)."""
        _own(caller, note.user_id)
        if self.links is None:
            raise RuntimeError("this reports service signs no download links")
        return self.links.link(caller, NOTE_DOCUMENT, format, {"date": note.trade_date.isoformat()})

    async def document(self, caller: Caller, document: str, format: str, params: dict[str, str]) -> Document | None:
        """A document a download link names, made for the caller; None when there is no
        such document, format or note."""
        if document != NOTE_DOCUMENT or format not in NOTE_FORMATS:
            return None
        try:
            day = date.fromisoformat(params.get("date", ""))
        except ValueError:
            raise bad_input("'date' must be YYYY-MM-DD.") from None
        note = await self.brokerage_note(caller, caller.require_user(), day)
        if note is None:
            return None
        media_type, render = NOTE_FORMATS[format]
        return Document(await asyncio.to_thread(render, note), media_type, note_filename(note, format))

    async def _notes(self, user_id: str, wanted: Callable[[date], bool]) -> list[BrokerageNote]:
        async with self.db.read() as session:
            every = await repository.fills_of(session, user_id)
        # Costs over every fill: an order's fees count on its earlier days' fills too.
        costs = fill_costs(every, self.fees)
        by_day: dict[date, list[Fill]] = defaultdict(list)
        for fill in every:
            day = self.calendar.trading_day(fill.executed_at)
            if wanted(day):
                by_day[day].append(fill)
        return [
            brokerage_note(user_id, day, self.calendar.settlement_date(day), fills, costs, self.fees)
            for day, fills in by_day.items()
        ]


    # ------------------------------------------------------------ income tax

    async def tax_report(self, caller: Caller, user_id: str, month: str) -> tax.MonthlyTaxReport:
        """The caller's income tax of one month ("YYYY-MM", up to this trading day's month),
        with what earlier months carry into it."""
        _own(caller, user_id, "This tax report belongs to someone else.")
        first = self._month(month)
        trades = await self._tax_trades(str(user_id))
        return tax.monthly_report(trades, first, self.calendar.is_business_day)

    async def tax_year(self, caller: Caller, user_id: str, year: int) -> tuple[list[tax.YearEndPosition], list[tax.MonthlyTaxReport]]:
        """Positions on 31 December at cost ("bens e direitos") and the year's months so far."""
        _own(caller, user_id, "This tax summary belongs to someone else.")
        today = self.calendar.trading_day(self.clock())
        if year > today.year:
            raise bad_input(f"O ano {year} ainda não começou (the year {year} has not started yet).")
        if year < self.calendar.first.year:
            raise bad_input(f"Não há calendário da B3 antes de {self.calendar.first.year} (no B3 calendar before {self.calendar.first.year}).")
        trades = await self._tax_trades(str(user_id))
        return tax.year_end_positions(trades, year), tax.year_reports(trades, year, today, self.calendar.is_business_day)

    def _month(self, month: str) -> date:
        match = MONTH.fullmatch(month)
        if match is None or not 1 <= int(match.group(2)) <= 12:
            raise bad_input(f"Mês inválido: {month[:20]!r}. {MONTH_HINT}")
        first = date(int(match.group(1)), int(match.group(2)), 1)
        if first > self.calendar.trading_day(self.clock()).replace(day=1):
            raise bad_input(f"O mês {month} ainda não começou (the month {month} has not started yet).")
        if first < self.calendar.first:
            raise bad_input(f"Não há calendário da B3 antes de {self.calendar.first:%Y-%m} (no B3 calendar before {self.calendar.first:%Y-%m}).")
        return first

    async def _tax_trades(self, user_id: str) -> list[tax.TaxItem]:
        """The trader's fills as the tax sees them: on their B3 trading day, with the costs the
        wallet charged, in the category the catalog gives (an asset it lacks counts as a stock);
        each day's end adjustment of its day trades' fees (the note's, the wallet's
        FEE_ADJUSTMENT lines); and the splits the wallet applied, on their ex-dates."""
        async with self.db.snapshot() as session:
            every = await repository.fills_of(session, user_id)
            splits = await repository.splits_of(session, user_id)
        costs = fill_costs(every, self.fees)
        by_day: dict[date, list[Fill]] = defaultdict(list)
        for fill in every:
            by_day[self.calendar.trading_day(fill.executed_at)].append(fill)
        adjustments: list[tax.TaxItem] = [
            tax.TaxDayTradeAdjustment(day, asset.ticker, category_of(asset.ticker), asset.adjustment.total)
            for day, fills in by_day.items()
            for asset in day_end(fills, costs, self.fees).day_trades
            if asset.adjustment.total
        ]
        return adjustments + [
            tax.TaxSplit(day, ticker, category_of(ticker), entitled, new, old, fraction_cash)
            for day, ticker, entitled, new, old, fraction_cash in splits
        ] + [
            tax.TaxTrade(
                day=self.calendar.trading_day(fill.executed_at),
                ticker=fill.ticker,
                category=category_of(fill.ticker),
                side=fill.side,
                quantity=fill.quantity,
                value=fill.value,
                costs=costs[fill.execution_id].total,
            )
            for fill in every
        ]


def category_of(ticker: str) -> tax.AssetCategory:
    return _categories().get(ticker, tax.AssetCategory.STOCK)


@lru_cache(maxsize=1)
def _categories() -> dict[str, tax.AssetCategory]:
    known = set(tax.AssetCategory.__members__)
    return {entry.ticker: tax.AssetCategory(entry.type) for entry in load_catalog() if entry.type in known}


def _own(caller: Caller, user_id: str, refusal: str = "These brokerage notes belong to someone else.") -> None:
    if caller.require_user() != str(user_id):
        raise forbidden(refusal)
