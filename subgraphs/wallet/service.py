"""The wallet's use cases. Each runs in one transaction that changes the wallet, writes its
ledger rows and queues their `WalletTransaction` messages together; a use case that fails
changes nothing."""
from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal
from typing import Callable

from mybroker.auth import Caller
from mybroker.calendar import BRASILIA, B3Calendar, b3_calendar
from mybroker.catalog import standard_ticker
from mybroker.db import Database, Transaction, utc_now
from mybroker.download_links import Document, DownloadLinks
from mybroker.errors import bad_input, forbidden
from mybroker.events import WALLET_EVENTS
from mybroker.pagination import Page, decode_cursor, page_of, page_size
from subgraphs.wallet import repository
from subgraphs.wallet.corporate_events import CorporateEvent
from subgraphs.wallet.statement import BLOCKS, Month, Statement, statement
from subgraphs.wallet.statement_documents import statement_csv, statement_filename, statement_pdf
from subgraphs.wallet.wire import transaction_message
from mybroker.fees import NO_FEES, FeeSchedule
from subgraphs.wallet.domain import (
    CashView,
    EntryFilter,
    Position,
    PostedEntry,
    Reservation,
    Side,
    Wallet,
    cash_view,
)

log = logging.getLogger("mybroker.wallet")

NO_CASH = cash_view(Decimal("0.00"), Decimal("0.00"), ())  # a wallet not opened yet

MAX_TRANSACTIONS_PAGE = 500
MAX_FILTER_TICKERS = 100  # one IN list; a screen filters by a few
MAX_TICKER_LENGTH = 20
# The documents the wallet serves through the router's download links (GET /downloads/...):
# a format's media type and how it is made from a statement.
STATEMENT_DOCUMENT = "statement"
STATEMENT_FORMATS = {
    "csv": ("text/csv; charset=utf-8", statement_csv),
    "pdf": ("application/pdf", statement_pdf),
}


@dataclass(frozen=True)
class Fill:
    execution_id: str
    quantity: int
    price: Decimal


class WalletService:
    def __init__(
        self,
        db: Database,
        *,
        fees: FeeSchedule = NO_FEES,
        clock: Callable[[], datetime] = utc_now,
        calendar: B3Calendar | None = None,
        links: DownloadLinks | None = None,
    ):
        """`links`: what signs download links to statements (None: they cannot be asked for)."""
        self.db = db
        self.links = links
        self.fees = fees
        self.clock = clock
        self.calendar = calendar or b3_calendar()

    async def load_calendar(self) -> None:
        """At start, in a thread: the first fill must not stall the loop on loading it."""
        await asyncio.to_thread(self.calendar.load)

    def _today(self, now: datetime) -> date:
        """The day settlement counts from: a trade's cash is settled from the start of its
        settlement day in Brasília."""
        return now.astimezone(BRASILIA).date()

    # ------------------------------------------------------------ the owner's view

    async def wallet(self, caller: Caller, user_id: str) -> Wallet:
        _authorize(caller, user_id)
        async with self.db.read() as session:
            wallet = await repository.wallet_of(session, user_id)
        if wallet is not None:
            return wallet
        async with self.db.transaction() as tx:
            return await repository.wallet_for_update(tx.session, user_id, self.clock())

    async def positions(self, caller: Caller, user_id: str) -> list[Position]:
        """Open positions (closed ones, at quantity 0, are history), by ticker."""
        _authorize(caller, user_id)
        async with self.db.read() as session:
            return await repository.open_positions(session, user_id)

    async def wallet_with_positions(
        self, caller: Caller, user_id: str, *, with_cash: bool = False
    ) -> tuple[Wallet, list[Position], CashView | None]:
        """Cash, positions and (`with_cash`) the settlement view as of one moment, so a
        settlement is never seen half done (the cash already paid, the shares not yet
        there, or `settled` from a balance `available` does not show yet)."""
        _authorize(caller, user_id)
        async with self.db.snapshot() as session:
            wallet = await repository.wallet_of(session, user_id)
            if wallet is not None:
                positions = await repository.open_positions(session, user_id)
                return wallet, positions, await self._cash_of(session, wallet) if with_cash else None
        return await self.wallet(caller, user_id), [], NO_CASH if with_cash else None

    async def cash(self, caller: Caller, user_id: str) -> CashView:
        """Settled cash, cash to settle by day, buying power and what may be withdrawn now."""
        _authorize(caller, user_id)
        async with self.db.snapshot() as session:
            wallet = await repository.wallet_of(session, user_id)
            return NO_CASH if wallet is None else await self._cash_of(session, wallet)

    async def _cash_of(self, session, wallet: Wallet) -> CashView:
        unsettled = await repository.unsettled_of(session, wallet.id, self._today(self.clock()))
        return cash_view(wallet.available, wallet.blocked, unsettled)

    async def transaction_history(
        self, caller: Caller, user_id: str, wanted: EntryFilter, first: int | None, after: str | None
    ) -> Page[PostedEntry]:
        """A page of the ledger, newest first, after the cursor."""
        _authorize(caller, user_id)
        size = page_size(first, 50, MAX_TRANSACTIONS_PAGE)
        before = decode_cursor(after)
        if wanted.since is not None and wanted.until is not None and wanted.since >= wanted.until:
            raise bad_input("'from' must be before 'to'.")
        if len(wanted.tickers) > MAX_FILTER_TICKERS:
            raise bad_input(f"Filter by at most {MAX_FILTER_TICKERS} tickers.")
        tickers = tuple(dict.fromkeys(standard_ticker(ticker.strip().upper()) for ticker in wanted.tickers))
        async with self.db.read() as session:
            wallet = await repository.wallet_of(session, user_id)
            rows = [] if wallet is None else await repository.entry_history(
                session, wallet.id, replace(wanted, tickers=tickers, types=tuple(dict.fromkeys(wanted.types))), before, size + 1
            )
        return page_of(rows, size)

    async def transactions(self, caller: Caller, user_id: str, first: int | None = 50) -> list[PostedEntry]:
        """The ledger, newest first."""
        _authorize(caller, user_id)
        first = 50 if first is None else first  # an explicit null means the default
        if first < 0 or first > MAX_TRANSACTIONS_PAGE:
            raise bad_input(f"'first' must be between 0 and {MAX_TRANSACTIONS_PAGE}.")
        async with self.db.read() as session:
            return await repository.entries_of(session, user_id, first)

    async def corporate_events_of(self, ticker: str) -> list[CorporateEvent]:
        """A ticker's corporate events, newest record date first (public: no caller needed)."""
        ticker = ticker.strip().upper()
        if not ticker or len(ticker) > MAX_TICKER_LENGTH:
            raise bad_input("A ticker is required.")
        async with self.db.read() as session:
            return await repository.corporate_events_of(session, standard_ticker(ticker))

    async def statement(self, caller: Caller, user_id: str, month: str) -> Statement:
        """The month's extrato ("YYYY-MM", in Brasília): its opening balance, its lines with
        their running balance and its closing balance, read in one snapshot. A month after
        the current one is refused; a month before the wallet opened is an empty statement."""
        _authorize(caller, user_id)
        wanted = Month.parse(month)
        now = self.clock()
        if wanted > Month.of(now.astimezone(BRASILIA).date()):
            raise bad_input(f"The month {wanted} has not begun; ask for {Month.of(now.astimezone(BRASILIA).date())} or before.")
        since, until = wanted.bounds(BRASILIA)
        async with self.db.snapshot() as session:
            wallet = await repository.wallet_of(session, user_id)
            if wallet is None:
                return statement(user_id, wanted, Decimal("0.00"), ())
            opening = await repository.balance_before(session, wallet.id, since, BLOCKS)
            entries = await repository.entries_posted(session, wallet.id, since, until)
        return statement(user_id, wanted, opening, entries)

    def statement_link(self, caller: Caller, user_id: str, month: str, format: str) -> str:
        """A short-lived link to the month's statement as `format` (csv or pdf), for its
        owner; the statement is made when the link is followed."""
        _authorize(caller, user_id)
        if self.links is None:
            raise RuntimeError("this wallet service signs no download links")
        return self.links.link(caller, STATEMENT_DOCUMENT, format, {"month": str(Month.parse(month))})

    async def document(self, caller: Caller, document: str, format: str, params: dict[str, str]) -> Document | None:
        """A document a download link names, made for the caller; None when the wallet has
        no such document or format."""
        if document != STATEMENT_DOCUMENT or format not in STATEMENT_FORMATS:
            return None
        user_id = caller.require_user()
        found = await self.statement(caller, user_id, params.get("month", ""))
        media_type, render = STATEMENT_FORMATS[format]
        # Off the event loop: a long month's PDF is milliseconds of pure Python.
        content = await asyncio.to_thread(render, found)
        return Document(content, media_type, statement_filename(found, format))

    async def deposit(self, caller: Caller, amount: Decimal) -> Wallet:
        user_id = caller.require_user()
        async with self.db.transaction() as tx:
            now = self.clock()
            wallet = await repository.wallet_for_update(tx.session, user_id, now)
            wallet.deposit(amount)
            await _save_wallet(tx, wallet, now)
        return wallet

    async def withdraw(self, caller: Caller, amount: Decimal) -> Wallet:
        user_id = caller.require_user()
        async with self.db.transaction() as tx:
            now = self.clock()
            wallet = await repository.wallet_for_update(tx.session, user_id, now)
            unsettled = await repository.unsettled_of(tx.session, wallet.id, self._today(now))
            wallet.withdraw(amount, cash_view(wallet.available, wallet.blocked, unsettled))
            await _save_wallet(tx, wallet, now)
        return wallet

    # ------------------------------------------------------------ reservations (orders calls these)

    async def reserve(
        self, order_id: str, user_id: str, side: str, ticker: str, quantity: int, price_per_share: Decimal | None
    ) -> Reservation:
        """Check and block in one transaction; asking again with the same order id answers
        the first reservation and blocks nothing more."""
        order_id, user_id, ticker = order_id.strip(), user_id.strip(), ticker.strip().upper()
        # A fractional order (PETR4F) trades the standard ticker's shares: one position, in
        # PETR4, so its reservation, its fills and a SELL's free shares are all PETR4's.
        ticker = standard_ticker(ticker)
        if not user_id:
            raise bad_input("A reservation needs a user id.")
        if not ticker or len(ticker) > MAX_TICKER_LENGTH:
            raise bad_input("A reservation needs a ticker.")
        try:
            order_side = Side(side)
        except ValueError:
            raise bad_input(f"Unknown side {side!r}; expected BUY or SELL.") from None
        async with self.db.transaction() as tx:
            now = self.clock()
            wallet = await repository.wallet_for_update(tx.session, user_id, now)
            existing = await repository.reservation_for_update(tx.session, order_id)
            if existing is not None:
                if existing.user_id != user_id or not existing.same_request(order_side, ticker, quantity, price_per_share or Decimal(0)):
                    raise bad_input(f"Order {order_id} already holds a different reservation.")
                return existing
            position = await repository.position_for_update(tx.session, wallet.id, ticker)
            reservation = wallet.reserve(order_id, order_side, ticker, quantity, price_per_share, position, self.fees)
            await repository.add_reservation(tx.session, wallet, reservation, now)
            await _save_wallet(tx, wallet, now)
            if order_side is Side.SELL:
                await repository.save_position(tx.session, wallet.id, position, now)
        return reservation

    async def cancel_reservation(self, order_id: str) -> Reservation | None:
        """Compensation: frees whatever the reservation still holds. Idempotent; None when
        there never was one."""
        async with self.db.transaction() as tx:
            now = self.clock()
            owner = await repository.reservation_owner(tx.session, order_id)
            if owner is None:
                return None
            wallet = await repository.wallet_for_update(tx.session, owner, now)
            reservation = await repository.reservation_for_update(tx.session, order_id)
            assert reservation is not None
            await _close(tx, wallet, reservation, now)
        return reservation

    # ------------------------------------------------------------ settlement (orders calls these)

    async def settle(self, order_id: str, fill: Fill | None, closed: bool) -> Reservation | None:
        """What one of B3's execution reports does to the money, called by orders before the
        order's new status is stored (read-your-writes: an order that reads FILLED is in
        the wallet already). Settles `fill` once per execution id and, when the order has
        ended (`closed`), releases what the reservation still holds. Idempotent, so orders
        may repeat it after a crash. None when the order has no reservation."""
        async with self.db.transaction() as tx:
            now = self.clock()
            owner = await repository.reservation_owner(tx.session, order_id)
            if owner is None:
                log.info("order %s has no reservation; nothing to settle", order_id)
                return None
            wallet = await repository.wallet_for_update(tx.session, owner, now)
            reservation = await repository.reservation_for_update(tx.session, order_id)
            assert reservation is not None
            if fill is not None and await repository.first_settlement(tx.session, fill.execution_id, order_id, now):
                position = await repository.position_for_update(tx.session, wallet.id, reservation.ticker)
                settles_on = self.calendar.settlement_date(self.calendar.trading_day(now))
                wallet.settle_fill(reservation, position, fill.quantity, fill.price, self.fees, settles_on)
                await repository.save_position(tx.session, wallet.id, position, now)
                await repository.save_reservation(tx.session, reservation, now)
                await _save_wallet(tx, wallet, now)
            if closed and reservation.is_open:
                await _close(tx, wallet, reservation, now)
        return reservation

    async def set_terms(self, order_id: str, quantity: int, price_per_share: Decimal | None) -> Reservation:
        """A replace: the reservation blocks exactly what the new terms need (more, or
        INSUFFICIENT_FUNDS / INSUFFICIENT_POSITION and nothing changes; less, and the rest
        is free at once)."""
        async with self.db.transaction() as tx:
            now = self.clock()
            owner = await repository.reservation_owner(tx.session, order_id)
            if owner is None:
                raise bad_input(f"Order {order_id} has no reservation.")
            wallet = await repository.wallet_for_update(tx.session, owner, now)
            reservation = await repository.reservation_for_update(tx.session, order_id)
            assert reservation is not None
            position = None
            if reservation.side is Side.SELL:
                position = await repository.position_for_update(tx.session, wallet.id, reservation.ticker)
            wallet.set_terms(reservation, quantity, price_per_share, position, self.fees)
            if position is not None:
                await repository.save_position(tx.session, wallet.id, position, now)
            await repository.save_reservation(tx.session, reservation, now)
            await _save_wallet(tx, wallet, now)
        return reservation


async def _close(tx: Transaction, wallet: Wallet, reservation: Reservation, now: datetime) -> None:
    """Frees what the reservation still holds; a SELL's shares go back to its position."""
    if reservation.side is Side.SELL:
        position = await repository.position_for_update(tx.session, wallet.id, reservation.ticker)
        wallet.release(reservation, position)
        await repository.save_position(tx.session, wallet.id, position, now)
    else:
        wallet.release(reservation, None)
    await repository.save_reservation(tx.session, reservation, now)
    await _save_wallet(tx, wallet, now)


async def _save_wallet(tx: Transaction, wallet: Wallet, now: datetime) -> None:
    """The balances, then each new ledger entry as a row and its WalletTransaction in the
    outbox, in this transaction: a message goes out if and only if its entry is stored."""
    await repository.save_wallet(tx.session, wallet, now)
    for entry in wallet.new_entries:
        posted = await repository.add_entry(tx.session, wallet, entry, now)
        await tx.emit(WALLET_EVENTS, transaction_message(wallet.user_id, posted), key=wallet.user_id)
    wallet.new_entries.clear()


def _authorize(caller: Caller, user_id: str) -> None:
    if caller.require_user() != user_id:
        raise forbidden("You can only see your own wallet.")

