"""Wallets, positions, reservations and the ledger in and out of the wallet database, as
domain objects. Every function takes the session of the caller's transaction; none
commits, and none publishes: the service queues each ledger entry's `WalletTransaction`
in the outbox itself, in the same transaction.

Lock order, everywhere: the wallet row first, then its reservation and position rows, so
two transactions on one wallet queue behind each other instead of deadlocking. The
service keeps that order; `reservation_owner` reads unlocked so it can."""
from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Sequence

from sqlalchemy import and_, func, insert, or_, select, update
from sqlalchemy.dialects import mysql
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from mybroker.fees import FeeKind
from subgraphs.wallet.domain import (
    EntryFilter,
    ZERO,
    LedgerEntry,
    Position,
    PostedEntry,
    Reservation,
    ReservationStatus,
    Side,
    TransactionType,
    Wallet,
)
from subgraphs.wallet.corporate_events import CorporateEvent, EventKind
from subgraphs.wallet.tables import (
    corporate_event_applications,
    corporate_events,
    corporate_events_done,
    positions,
    reservations,
    settled_fills,
    trading_days_closed,
    trading_days_done,
    wallet_transactions,
    wallets,
)

R = reservations.c

# ------------------------------------------------------------ wallets


async def wallet_of(session: AsyncSession, user_id: str) -> Wallet | None:
    """The user's wallet, unlocked (None before their first use)."""
    row = (await session.execute(select(wallets).where(wallets.c.user_id == user_id))).first()
    return _wallet(row) if row is not None else None


async def wallet_for_update(session: AsyncSession, user_id: str, now: datetime) -> Wallet:
    """The user's wallet, locked; created on first use."""
    wallet = await _locked_wallet(session, user_id)
    if wallet is not None:
        return wallet
    values = dict(id=str(uuid.uuid4()), user_id=user_id, currency="BRL", available=ZERO, blocked=ZERO, created_at=now, updated_at=now)
    if session.get_bind().dialect.name in ("mysql", "mariadb"):
        # InnoDB answers a duplicate key with a *shared* lock on the row, kept after the
        # error: two losers of a creation race would then deadlock on FOR UPDATE below.
        # ON DUPLICATE KEY UPDATE (a no-op here) takes the exclusive lock, so they queue.
        await session.execute(mysql.insert(wallets).values(**values).on_duplicate_key_update(user_id=user_id))
    else:
        try:
            # A savepoint, so a concurrent creation (unique user_id) leaves our transaction usable.
            async with session.begin_nested():
                await session.execute(insert(wallets).values(**values))
        except IntegrityError:
            pass
    wallet = await _locked_wallet(session, user_id)
    assert wallet is not None
    return wallet


async def _locked_wallet(session: AsyncSession, user_id: str) -> Wallet | None:
    row = (await session.execute(select(wallets).where(wallets.c.user_id == user_id).with_for_update())).first()
    return _wallet(row) if row is not None else None


async def save_wallet(session: AsyncSession, wallet: Wallet, now: datetime) -> None:
    """The balances only; the wallet's new ledger entries are added one by one (add_entry)."""
    await session.execute(
        update(wallets).where(wallets.c.id == wallet.id).values(available=wallet.available, blocked=wallet.blocked, updated_at=now)
    )


# ------------------------------------------------------------ the ledger


async def add_entry(session: AsyncSession, wallet: Wallet, entry: LedgerEntry, now: datetime) -> PostedEntry:
    posted = PostedEntry(
        str(uuid.uuid4()), entry.type, entry.amount, entry.order_id, now, entry.settles_on, entry.ticker, entry.quantity, entry.price,
        entry.fee_kind, entry.event_id,
    )
    await session.execute(
        insert(wallet_transactions).values(
            id=posted.id,
            wallet_id=wallet.id,
            type=posted.type.value,
            amount=posted.amount,
            order_id=posted.order_id,
            created_at=posted.created_at,
            settles_on=posted.settles_on,
            ticker=posted.ticker,
            quantity=posted.quantity,
            price=posted.price,
            fee_kind=None if posted.fee_kind is None else posted.fee_kind.value,
            event_id=posted.event_id,
        )
    )
    return posted


async def unsettled_of(session: AsyncSession, wallet_id: str, today: date) -> list[tuple[date, Decimal]]:
    """The wallet's trade entries that settle after `today`: (settlement day, signed amount)."""
    T = wallet_transactions.c
    rows = await session.execute(
        select(T.settles_on, T.amount).where(T.wallet_id == wallet_id, T.settles_on > today).order_by(T.settles_on)
    )
    return [(row.settles_on, row.amount) for row in rows]


def _posted(row: Any) -> PostedEntry:
    return PostedEntry(
        row.id, TransactionType(row.type), row.amount, row.order_id, row.created_at, row.settles_on, row.ticker, row.quantity, row.price,
        None if row.fee_kind is None else FeeKind(row.fee_kind), row.event_id,
    )


async def entry_history(
    session: AsyncSession, wallet_id: str, wanted: EntryFilter, before_seq: int | None, limit: int
) -> list[tuple[int, PostedEntry]]:
    """The wallet's ledger, newest first, after the cursor (`before_seq`), at most `limit`."""
    T = wallet_transactions.c
    query = select(wallet_transactions).where(T.wallet_id == wallet_id)
    if before_seq is not None:
        query = query.where(T.seq < before_seq)
    if wanted.types:
        query = query.where(T.type.in_([kind.value for kind in wanted.types]))
    if wanted.tickers:
        query = query.where(T.ticker.in_(wanted.tickers))
    if wanted.since is not None:
        query = query.where(T.created_at >= wanted.since)
    if wanted.until is not None:
        query = query.where(T.created_at < wanted.until)
    rows = (await session.execute(query.order_by(T.seq.desc()).limit(limit))).all()
    return [(row.seq, _posted(row)) for row in rows]


async def balance_before(session: AsyncSession, wallet_id: str, before: datetime, leaving_out: frozenset[str]) -> Decimal:
    """The sum of the wallet's entries posted before `before`, but those of the types
    `leaving_out` (a statement's opening balance)."""
    T = wallet_transactions.c
    # SUM keeps the column's type, so the total comes back as exact centavos (FixedDecimal).
    query = select(func.sum(T.amount)).where(T.wallet_id == wallet_id, T.created_at < before, T.type.not_in(sorted(leaving_out)))
    total = (await session.execute(query)).scalar_one()
    return ZERO if total is None else total


async def entries_posted(session: AsyncSession, wallet_id: str, since: datetime, until: datetime) -> list[PostedEntry]:
    """The wallet's entries posted in [since, until), in posting order."""
    T = wallet_transactions.c
    query = select(wallet_transactions).where(T.wallet_id == wallet_id, T.created_at >= since, T.created_at < until)
    return [_posted(row) for row in (await session.execute(query.order_by(T.seq))).all()]


async def entries_of(session: AsyncSession, user_id: str, first: int) -> list[PostedEntry]:
    """The user's ledger, newest first, at most `first` entries."""
    query = (
        select(wallet_transactions)
        .join(wallets, wallets.c.id == wallet_transactions.c.wallet_id)
        .where(wallets.c.user_id == user_id)
        .order_by(wallet_transactions.c.seq.desc())
        .limit(first)
    )
    rows = (await session.execute(query)).all()
    return [_posted(row) for row in rows]


# ------------------------------------------------------------ positions


async def open_positions(session: AsyncSession, user_id: str) -> list[Position]:
    """Positions above zero (closed ones are history), by ticker."""
    query = (
        select(positions)
        .join(wallets, wallets.c.id == positions.c.wallet_id)
        .where(wallets.c.user_id == user_id, positions.c.quantity > 0)
        .order_by(positions.c.ticker)
    )
    return [_position(row) for row in (await session.execute(query)).all()]


async def position_for_update(session: AsyncSession, wallet_id: str, ticker: str) -> Position:
    """The position in `ticker`, locked; an empty one if the wallet never held it."""
    row = (
        await session.execute(select(positions).where(positions.c.wallet_id == wallet_id, positions.c.ticker == ticker).with_for_update())
    ).first()
    return Position(ticker) if row is None else _position(row)


async def save_position(session: AsyncSession, wallet_id: str, position: Position, now: datetime) -> None:
    values = dict(
        quantity=position.quantity, blocked_quantity=position.blocked_quantity, average_price=position.average_price, updated_at=now
    )
    result = await session.execute(
        update(positions).where(positions.c.wallet_id == wallet_id, positions.c.ticker == position.ticker).values(**values)
    )
    if result.rowcount == 0:  # type: ignore[attr-defined]  # an UPDATE's Result is a CursorResult
        await session.execute(insert(positions).values(wallet_id=wallet_id, ticker=position.ticker, **values))


# ------------------------------------------------------------ reservations


async def reservation_owner(session: AsyncSession, order_id: str) -> str | None:
    """Who holds this order's reservation; read unlocked, to lock their wallet first."""
    return (await session.execute(select(R.user_id).where(R.order_id == order_id))).scalar_one_or_none()


async def reservation_for_update(session: AsyncSession, order_id: str) -> Reservation | None:
    row = (await session.execute(select(reservations).where(R.order_id == order_id).with_for_update())).first()
    return _reservation(row) if row is not None else None


async def add_reservation(session: AsyncSession, wallet: Wallet, reservation: Reservation, now: datetime) -> None:
    await session.execute(
        insert(reservations).values(
            order_id=reservation.order_id,
            user_id=reservation.user_id,
            wallet_id=wallet.id,
            side=reservation.side.value,
            ticker=reservation.ticker,
            price_per_share=reservation.price_per_share,
            quantity=reservation.quantity,
            open_quantity=reservation.open_quantity,
            amount=reservation.amount,
            blocked_amount=reservation.blocked_amount,
            status=reservation.status.value,
            created_at=now,
            updated_at=now,
        )
    )


async def save_reservation(session: AsyncSession, reservation: Reservation, now: datetime) -> None:
    await session.execute(
        update(reservations)
        .where(R.order_id == reservation.order_id)
        .values(
            quantity=reservation.quantity,
            price_per_share=reservation.price_per_share,
            open_quantity=reservation.open_quantity,
            blocked_amount=reservation.blocked_amount,
            traded_amount=reservation.traded_amount,
            status=reservation.status.value,
            updated_at=now,
        )
    )


async def first_settlement(session: AsyncSession, execution_id: str, order_id: str, now: datetime) -> bool:
    """Records an execution as settled; False if it already was."""
    seen = await session.execute(select(settled_fills.c.execution_id).where(settled_fills.c.execution_id == execution_id))
    if seen.first() is not None:
        return False
    await session.execute(insert(settled_fills).values(execution_id=execution_id, order_id=order_id, settled_at=now))
    return True


# ------------------------------------------------------------ what the sweeper asks orders about


async def unconfirmed_reservations(
    session: AsyncSession, cutoff: datetime, after: tuple[datetime, str] | None, limit: int
) -> list[tuple[Reservation, datetime]]:
    """Open reservations orders has not confirmed, made at or before `cutoff`, each with
    when it was made; oldest first, from after the keyset `after` (created at, order id)."""
    query = select(reservations).where(R.status == ReservationStatus.OPEN.value, R.order_seen_at.is_(None), R.created_at <= cutoff)
    if after is not None:  # keyset: a reservation left unanswered is not asked twice in one sweep
        at, order_id = after
        query = query.where(or_(R.created_at > at, and_(R.created_at == at, R.order_id > order_id)))
    rows = (await session.execute(query.order_by(R.created_at, R.order_id).limit(limit))).all()
    return [(_reservation(row), row.created_at) for row in rows]


async def mark_orders_seen(session: AsyncSession, order_ids: Sequence[str], now: datetime) -> None:
    """Orders confirmed these reservations' orders exist: they are never asked about again."""
    await session.execute(update(reservations).where(R.order_id.in_(order_ids)).values(order_seen_at=now))


def _wallet(row: Any) -> Wallet:
    return Wallet(id=row.id, user_id=row.user_id, available=row.available, blocked=row.blocked, currency=row.currency)


def _position(row: Any) -> Position:
    return Position(row.ticker, row.quantity, row.blocked_quantity, row.average_price)


def _reservation(row: Any) -> Reservation:
    return Reservation(
        order_id=row.order_id,
        user_id=row.user_id,
        side=Side(row.side),
        ticker=row.ticker,
        price_per_share=row.price_per_share,
        quantity=row.quantity,
        open_quantity=row.open_quantity,
        amount=row.amount,
        blocked_amount=row.blocked_amount,
        status=ReservationStatus(row.status),
        traded_amount=row.traded_amount,
    )


# ------------------------------------------------------------ corporate events

E = corporate_events.c


def _event(row: Any) -> CorporateEvent:
    return CorporateEvent(
        id=row.id, ticker=row.ticker, kind=EventKind(row.kind), record_date=row.record_date, payment_date=row.payment_date,
        amount_per_share=row.amount_per_share, ratio_new=row.ratio_new, ratio_old=row.ratio_old,
        fraction_price=row.fraction_price, approved_on=row.approved_on, description=row.description,
        illustrative=bool(row.illustrative),
    )


async def corporate_event(session: AsyncSession, event_id: str) -> CorporateEvent | None:
    row = (await session.execute(select(corporate_events).where(E.id == event_id))).first()
    return None if row is None else _event(row)


async def add_corporate_event(session: AsyncSession, event: CorporateEvent, now: datetime) -> None:
    await session.execute(
        insert(corporate_events).values(
            id=event.id, ticker=event.ticker, kind=event.kind.value, record_date=event.record_date,
            payment_date=event.payment_date, amount_per_share=event.amount_per_share, ratio_new=event.ratio_new,
            ratio_old=event.ratio_old, fraction_price=event.fraction_price, approved_on=event.approved_on,
            description=event.description, illustrative=event.illustrative, loaded_at=now,
        )
    )


async def corporate_events_of(session: AsyncSession, ticker: str) -> list[CorporateEvent]:
    """A ticker's events, newest record date first."""
    rows = await session.execute(select(corporate_events).where(E.ticker == ticker).order_by(E.record_date.desc(), E.id))
    return [_event(row) for row in rows]


async def unfinished_corporate_events(session: AsyncSession) -> list[CorporateEvent]:
    """Events not yet applied to every holder, oldest record date first."""
    done = select(corporate_events_done.c.event_id)
    rows = await session.execute(select(corporate_events).where(E.id.not_in(done)).order_by(E.record_date, E.id))
    return [_event(row) for row in rows]


async def mark_corporate_event_done(session: AsyncSession, event_id: str, now: datetime) -> None:
    """Idempotent: two replicas finishing the same event at once both succeed."""
    seen = await session.execute(select(corporate_events_done.c.event_id).where(corporate_events_done.c.event_id == event_id))
    if seen.first() is not None:
        return
    try:
        async with session.begin_nested():  # the other replica's insert may land in between
            await session.execute(insert(corporate_events_done).values(event_id=event_id, done_at=now))
    except IntegrityError:
        pass


async def holders_ever(session: AsyncSession, ticker: str) -> list[str]:
    """The users whose wallets ever held `ticker` (a position row, at any quantity): the
    holders of any past record date are among them."""
    query = (
        select(wallets.c.user_id)
        .join(positions, positions.c.wallet_id == wallets.c.id)
        .where(positions.c.ticker == ticker)
        .order_by(wallets.c.user_id)
    )
    return list((await session.execute(query)).scalars())


async def applied_to(session: AsyncSession, event_id: str) -> set[str]:
    """The wallets the event was applied to already."""
    A = corporate_event_applications.c
    return set((await session.execute(select(A.wallet_id).where(A.event_id == event_id))).scalars())


async def first_application(session: AsyncSession, event_id: str, wallet_id: str, entitled: int, now: datetime) -> bool:
    """Records the event as applied to the wallet; False if it already was (the wallet row
    is locked by the caller, so no one else is between the read and the insert)."""
    A = corporate_event_applications.c
    seen = await session.execute(select(A.event_id).where(A.event_id == event_id, A.wallet_id == wallet_id))
    if seen.first() is not None:
        return False
    await session.execute(
        insert(corporate_event_applications).values(event_id=event_id, wallet_id=wallet_id, entitled=entitled, applied_at=now)
    )
    return True


SHARE_TYPES = (TransactionType.BUY, TransactionType.SELL, TransactionType.SPLIT, TransactionType.REVERSE_SPLIT)


async def share_lines(session: AsyncSession, wallet_id: str, ticker: str) -> list[tuple[TransactionType, int, datetime, date | None]]:
    """The ledger lines that moved the wallet's shares of `ticker`: (type, quantity as
    stored, posted at, the record date of the split they come from)."""
    T = wallet_transactions.c
    query = (
        select(T.type, T.quantity, T.created_at, E.record_date)
        .select_from(wallet_transactions.outerjoin(corporate_events, E.id == T.event_id))
        .where(T.wallet_id == wallet_id, T.ticker == ticker, T.type.in_([kind.value for kind in SHARE_TYPES]))
        .order_by(T.seq)
    )
    return [(TransactionType(row.type), row.quantity or 0, row.created_at, row.record_date) for row in await session.execute(query)]


async def month_dividends(
    session: AsyncSession, wallet_id: str, issuer: str, first_day: date, last_day: date
) -> list[tuple[TransactionType, Decimal, date | None]]:
    """The wallet's DIVIDEND and IRRF lines of dividends one issuer paid in a month (by
    payment date): (type, amount, the event's approval date)."""
    T = wallet_transactions.c
    query = (
        select(T.type, T.amount, E.approved_on)
        .select_from(wallet_transactions.join(corporate_events, E.id == T.event_id))
        .where(
            T.wallet_id == wallet_id,
            E.kind == EventKind.DIVIDEND.value,
            E.ticker.like(issuer + "%"),
            E.payment_date >= first_day,
            E.payment_date <= last_day,
            T.type.in_([TransactionType.DIVIDEND.value, TransactionType.IRRF.value]),
        )
    )
    return [(TransactionType(row.type), row.amount, row.approved_on) for row in await session.execute(query)]


# ------------------------------------------------------------ the trading day's end

TRADE_TYPES = (TransactionType.BUY.value, TransactionType.SELL.value)


async def traders_to_close(session: AsyncSession, settling: Sequence[date]) -> list[tuple[str, date]]:
    """(user id, settlement day) of every wallet with trades settling on one of `settling`
    whose trading day is not closed yet, oldest day first."""
    if not settling:
        return []
    T, W, C = wallet_transactions.c, wallets.c, trading_days_closed.c
    closed = select(C.wallet_id).where(C.wallet_id == T.wallet_id, C.settles_on == T.settles_on).exists()
    query = (
        select(W.user_id, T.settles_on)
        .select_from(wallet_transactions.join(wallets, W.id == T.wallet_id))
        .where(T.settles_on.in_(list(settling)), T.type.in_(TRADE_TYPES), ~closed)
        .distinct()
        .order_by(T.settles_on, W.user_id)
    )
    return [(row.user_id, row.settles_on) for row in await session.execute(query)]


async def day_lines(session: AsyncSession, wallet_id: str, settles_on: date) -> list[tuple[TransactionType, str | None, str | None, int | None, Decimal]]:
    """The wallet's BUY, SELL and FEE lines settling on `settles_on` (one trading day's):
    (type, order id, ticker, quantity, amount as stored)."""
    T = wallet_transactions.c
    query = select(T.type, T.order_id, T.ticker, T.quantity, T.amount).where(
        T.wallet_id == wallet_id, T.settles_on == settles_on, T.type.in_([*TRADE_TYPES, TransactionType.FEE.value])
    )
    return [(TransactionType(row.type), row.order_id, row.ticker, row.quantity, row.amount) for row in await session.execute(query)]


async def first_close(session: AsyncSession, wallet_id: str, trading_day: date, settles_on: date, now: datetime) -> bool:
    """Records the trading day as closed for the wallet; False if it already was (the caller
    holds the wallet row's lock, so no one else is between the read and the insert)."""
    C = trading_days_closed.c
    seen = await session.execute(select(C.wallet_id).where(C.wallet_id == wallet_id, C.trading_day == trading_day))
    if seen.first() is not None:
        return False
    await session.execute(
        insert(trading_days_closed).values(wallet_id=wallet_id, trading_day=trading_day, settles_on=settles_on, closed_at=now)
    )
    return True


async def days_done(session: AsyncSession, days: Sequence[date]) -> set[date]:
    """Those of `days` closed for every wallet that traded then."""
    if not days:
        return set()
    D = trading_days_done.c
    rows = await session.execute(select(D.trading_day).where(D.trading_day.in_(list(days))))
    return {row.trading_day for row in rows}


async def mark_day_done(session: AsyncSession, day: date, now: datetime) -> None:
    """Records `day` as closed for everyone; a replica that did so first is left as it is."""
    D = trading_days_done.c
    if (await session.execute(select(D.trading_day).where(D.trading_day == day))).first() is None:
        await session.execute(insert(trading_days_done).values(trading_day=day, done_at=now))
