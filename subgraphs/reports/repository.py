"""Holdings and the fills they came from, in and out of the reports database, as domain
objects. Every function takes the session of the caller's transaction; none commits."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from mybroker.money import cents
from mybroker.trading import OrderSide
from subgraphs.reports.domain import Fill, Holding, IncomeReceived
from subgraphs.reports.tables import corporate_events_received, fills, holdings

F = fills.c
H = holdings.c


async def fill_recorded(session: AsyncSession, execution_id: str) -> bool:
    """Whether this execution was folded already (one row per execution)."""
    return (await session.execute(select(F.execution_id).where(F.execution_id == execution_id))).first() is not None


async def add_fill(session: AsyncSession, fill: Fill) -> None:
    await session.execute(
        insert(fills).values(
            execution_id=fill.execution_id,
            order_id=fill.order_id,
            user_id=fill.user_id,
            ticker=fill.ticker,
            side=fill.side.value,
            quantity=fill.quantity,
            price=fill.price,
            executed_at=fill.executed_at,
            traded_ticker=fill.traded_ticker,
        )
    )


async def holding_for_update(session: AsyncSession, user_id: str, ticker: str) -> Holding | None:
    """The user's holding in `ticker`, locked (None when they never traded it): fills of two
    orders (two partitions) may fold into one holding at once on MySQL/PostgreSQL; SQLite
    serialises writers already."""
    row = (
        await session.execute(select(holdings).where(H.user_id == user_id, H.ticker == ticker).with_for_update())
    ).first()
    return _holding(row) if row else None


async def add_holding(session: AsyncSession, user_id: str, ticker: str, holding: Holding, now: datetime) -> None:
    await session.execute(insert(holdings).values(user_id=user_id, ticker=ticker, **_values(holding, now)))


async def save_holding(session: AsyncSession, user_id: str, ticker: str, holding: Holding, now: datetime) -> None:
    await session.execute(update(holdings).where(H.user_id == user_id, H.ticker == ticker).values(**_values(holding, now)))


async def holdings_of(session: AsyncSession, user_id: str) -> dict[str, Holding]:
    """Every holding of the user, by ticker (closed ones too, at quantity 0)."""
    return {row.ticker: _holding(row) for row in await session.execute(select(holdings).where(H.user_id == user_id))}


async def traded_before(session: AsyncSession, order_id: str) -> Decimal:
    """What the order's fills recorded so far traded: its fees count on it (mybroker.fees)."""
    rows = await session.execute(select(F.quantity, F.price).where(F.order_id == order_id))
    return sum((cents(row.price * row.quantity) for row in rows), Decimal("0.00"))


async def fills_of(session: AsyncSession, user_id: str) -> list[Fill]:
    """Every fill of the user, in execution order: the notes count each order's fees on its
    fills so far, so they need the earlier days' fills of an order too."""
    rows = await session.execute(select(fills).where(F.user_id == user_id).order_by(F.executed_at, F.execution_id))
    return [
        Fill(
            execution_id=row.execution_id,
            order_id=row.order_id,
            user_id=row.user_id,
            ticker=row.ticker,
            side=OrderSide(row.side),
            quantity=row.quantity,
            price=row.price,
            executed_at=row.executed_at,
            traded_ticker=row.traded_ticker,
        )
        for row in rows
    ]


R = corporate_events_received.c
INCOME_KINDS = ("DIVIDEND", "JCP")


async def record_corporate_event(session: AsyncSession, applied: Any, now: datetime) -> bool:
    """Records a corporate event applied to a user (a wire.CorporateEventApplied); False if
    it was already: each event counts once per user whatever envelope brings it."""
    seen = await session.execute(select(R.event_id).where(R.user_id == applied.user_id, R.event_id == applied.event_id))
    if seen.first() is not None:
        return False
    try:
        async with session.begin_nested():  # a concurrent consumer of a redelivery: its row wins
            await session.execute(
                insert(corporate_events_received).values(
                    user_id=applied.user_id, event_id=applied.event_id, ticker=applied.ticker, kind=applied.kind,
                    record_date=applied.record_date, applied_on=applied.applied_on, entitled=applied.entitled,
                    gross=applied.gross, withheld=applied.withheld, fraction_cash=applied.fraction_cash, received_at=now,
                    ratio_new=applied.ratio_new, ratio_old=applied.ratio_old,
                )
            )
    except IntegrityError:
        return False
    return True


async def income_of(session: AsyncSession, user_id: str) -> list[IncomeReceived]:
    """The dividends and JCP the user received, newest first."""
    rows = await session.execute(
        select(corporate_events_received)
        .where(R.user_id == user_id, R.kind.in_(INCOME_KINDS))
        .order_by(R.applied_on.desc(), R.event_id.desc())
    )
    return [
        IncomeReceived(row.event_id, row.ticker, row.kind, row.record_date, row.applied_on, row.entitled, row.gross, row.withheld)
        for row in rows
    ]


async def splits_of(session: AsyncSession, user_id: str) -> list[tuple[date, str, int, int, int, Decimal]]:
    """The splits and reverse splits applied to the user, by ex-date: (ex-date, ticker,
    entitled, ratio new, ratio old, the fraction's cash)."""
    rows = await session.execute(
        select(R.applied_on, R.ticker, R.entitled, R.ratio_new, R.ratio_old, R.fraction_cash)
        .where(R.user_id == user_id, R.ratio_new.is_not(None), R.ratio_old.is_not(None))
        .order_by(R.applied_on, R.event_id)
    )
    return [(row.applied_on, row.ticker, row.entitled, row.ratio_new, row.ratio_old, row.fraction_cash) for row in rows]


def _holding(row: Any) -> Holding:
    return Holding(row.quantity, row.average_price, row.realized)


def _values(holding: Holding, now: datetime) -> dict[str, Any]:
    return dict(
        quantity=holding.quantity, cost=holding.cost, average_price=holding.average_price, realized=holding.realized, updated_at=now
    )
