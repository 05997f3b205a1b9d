"""SQL for the assets database: catalog rows, candles, the latest quotes and the recent tape."""
from __future__ import annotations

from typing import Any, Mapping, Sequence, cast

from sqlalchemy import and_, bindparam, delete, insert, or_, select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.ext.asyncio import AsyncSession

from subgraphs.assets import tables
from mybroker.db import insert_skipping_duplicates
from mybroker.wire import Quote, Trade
from subgraphs.assets.domain import AssetRecord, AssetType, Candle, CandleInterval, CandleKey, QuoteTick, candle_keys, search_key

A = tables.assets.c
C = tables.candles.c
Q = tables.last_quotes.c
T = tables.tape.c


async def upsert_catalog(session: AsyncSession, entries: list[tuple[str, str, AssetType, int]]) -> None:
    """(ticker, name, type, lot size) rows; new ones start active, existing ones keep their flag."""
    existing = {row.ticker for row in await session.execute(select(A.ticker))}
    for ticker, name, type, lot_size in entries:
        values = dict(name=name, type=type.value, lot_size=lot_size, search_key=search_key(f"{ticker} {name}"))
        if ticker in existing:
            await session.execute(update(tables.assets).where(A.ticker == ticker).values(**values))
        else:
            await session.execute(insert(tables.assets).values(ticker=ticker, active=True, **values))


async def search_assets(session: AsyncSession, text: str | None, type: AssetType | None, limit: int) -> list[AssetRecord]:
    query = select(tables.assets).where(A.active.is_(True))
    if text:
        query = query.where(A.search_key.like("%" + _escape_like(search_key(text)) + "%", escape="\\"))
    if type is not None:
        query = query.where(A.type == type.value)
    return [_asset(row) for row in await session.execute(query.order_by(A.ticker).limit(limit))]


async def all_assets(session: AsyncSession) -> dict[str, AssetRecord]:
    """Every catalog row, active or not, by ticker (the subgraph's in-memory catalog)."""
    return {row.ticker: _asset(row) for row in await session.execute(select(tables.assets))}


async def recent_candles(session: AsyncSession, ticker: str, interval: CandleInterval, limit: int) -> list[Candle]:
    """The latest `limit` candles, oldest first."""
    rows = await session.execute(
        select(tables.candles).where(C.ticker == ticker, C.interval == interval.value).order_by(C.start.desc()).limit(limit)
    )
    return [_candle(row) for row in reversed(rows.all())]


# Built once: the market-data consumer writes a batch's candles with these, and building a
# statement costs SQLAlchemy more than SQLite takes to run it.
_CANDLE_VALUES = ("open", "high", "low", "close", "volume_base", "day_volume", "first_tick", "last_tick")
_INSERT_CANDLES = insert(tables.candles)
# Bind names apart from the columns': SQLAlchemy reserves a column's own name for SET.
_UPDATE_CANDLES = (
    update(tables.candles)
    .where(C.ticker == bindparam("k_ticker"), C.interval == bindparam("k_interval"), C.start == bindparam("k_start"))
    .values({name: bindparam(f"v_{name}") for name in _CANDLE_VALUES})
)


async def candles_of_tick(session: AsyncSession, tick: QuoteTick) -> dict[CandleInterval, Candle | None]:
    """The 1m, 5m, 15m, 1h and 1d candles the tick falls in (None where none exists yet)."""
    found = await candles_of_ticks(session, tick.ticker, [tick])
    return {interval: found[(interval, start)] for interval, start in candle_keys(tick)}


async def candles_of_ticks(session: AsyncSession, ticker: str, ticks: Sequence[QuoteTick]) -> dict[CandleKey, Candle | None]:
    """The candles every tick of one ticker falls in, in one query (None where none exists yet)."""
    keys = sorted({key for tick in ticks for key in candle_keys(tick)})
    rows = await session.execute(
        select(tables.candles).where(
            C.ticker == ticker, or_(*(and_(C.interval == interval.value, C.start == start) for interval, start in keys))
        )
    )
    found: dict[CandleKey, Candle | None] = dict.fromkeys(keys)
    for row in rows:
        candle = _candle(row)
        found[(candle.interval, candle.start)] = candle
    return found


async def save_candles(session: AsyncSession, before: Mapping[Any, Candle | None], after: Mapping[Any, Candle]) -> None:
    """Upsert per (ticker, interval, bucket start), the new candles in one insert and the
    changed ones in one update (executemany); `before` and `after` share their keys (an
    interval, or an interval and a start). The market-data consumer is the only writer of
    a ticker's candles (one partition per ticker, one batch at a time), so read-then-write
    is safe."""
    new: list[dict[str, Any]] = []
    changed: list[dict[str, Any]] = []
    for key, candle in after.items():
        previous = before.get(key)
        if previous == candle:
            continue
        values = _candle_values(candle)
        if previous is None:
            new.append({"ticker": candle.ticker, "interval": candle.interval.value, "start": candle.start, **values})
        else:
            changed.append(
                {"k_ticker": candle.ticker, "k_interval": candle.interval.value, "k_start": candle.start}
                | {f"v_{name}": value for name, value in values.items()}
            )
    if new:
        await session.execute(_INSERT_CANDLES, new)
    if changed:
        await session.execute(_UPDATE_CANDLES, changed)


# ------------------------------------------------------------------ continuity

_UPDATE_LAST_QUOTE = (
    update(tables.last_quotes)
    .where(Q.ticker == bindparam("k_ticker"), Q.time <= bindparam("k_time"))
    .values({name: bindparam(f"v_{name}") for name in ("price", "change", "change_percent", "volume", "time", "source")})
)


async def save_last_quote(session: AsyncSession, quote: Quote) -> None:
    """Keeps `quote` as its ticker's latest unless a newer one is stored (newer-or-equal
    wins, as in the cache). One writer per ticker (its partition), so update-then-insert
    is safe; the insert runs once per ticker, on its first quote."""
    values = dict(
        price=quote.price, change=quote.change, change_percent=repr(quote.change_percent),
        volume=quote.volume, time=quote.time, source=quote.source,
    )
    result = await session.execute(
        _UPDATE_LAST_QUOTE, {"k_ticker": quote.ticker, "k_time": quote.time} | {f"v_{k}": v for k, v in values.items()}
    )
    if result.rowcount == 0:  # type: ignore[attr-defined]  # a CursorResult
        stored = await session.execute(select(Q.ticker).where(Q.ticker == quote.ticker))
        if stored.first() is None:
            await session.execute(insert(tables.last_quotes).values(ticker=quote.ticker, **values))


async def last_quotes(session: AsyncSession) -> list[Quote]:
    return [
        Quote(
            ticker=row.ticker, price=row.price, change=row.change, change_percent=float(row.change_percent),
            volume=row.volume, time=row.time, source=row.source,
        )
        for row in await session.execute(select(tables.last_quotes).order_by(Q.ticker))
    ]


async def save_trade(session: AsyncSession, trade: Trade, keep: int) -> bool:
    """Adds `trade` to its ticker's stored tape and drops what falls beyond the newest
    `keep`; False when it was there already (a redelivery)."""
    ticker = trade.ticker
    added = await session.execute(
        insert_skipping_duplicates(session.get_bind().dialect.name, tables.tape),
        dict(ticker=ticker, trade_id=trade.trade_id, price=trade.price, quantity=trade.quantity, time=trade.time),
    )
    if cast(CursorResult, added).rowcount != 1:
        return False
    # The first trade past the kept ones, in the tape's order (newest first); it and every
    # older one go. Two statements: MySQL takes no LIMIT inside an IN subquery.
    cut = (
        await session.execute(
            select(T.time, T.trade_id).where(T.ticker == ticker).order_by(T.time.desc(), T.trade_id.desc()).offset(keep).limit(1)
        )
    ).first()
    if cut is not None:
        await session.execute(
            delete(tables.tape).where(
                T.ticker == ticker, or_(T.time < cut.time, and_(T.time == cut.time, T.trade_id <= cut.trade_id))
            )
        )
    return True


async def recent_tapes(session: AsyncSession) -> dict[str, list[Trade]]:
    """Every ticker's stored tape, newest first."""
    tapes: dict[str, list[Trade]] = {}
    rows = await session.execute(select(tables.tape).order_by(T.ticker, T.time.desc(), T.trade_id.desc()))
    for row in rows:
        tapes.setdefault(row.ticker, []).append(Trade(row.trade_id, row.ticker, row.price, row.quantity, row.time))
    return tapes


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _asset(row: Any) -> AssetRecord:
    return AssetRecord(row.ticker, row.name, AssetType(row.type), row.lot_size, bool(row.active))


def _candle(row: Any) -> Candle:
    return Candle(
        ticker=row.ticker,
        interval=CandleInterval(row.interval),
        start=row.start,
        open=row.open,
        high=row.high,
        low=row.low,
        close=row.close,
        volume_base=row.volume_base,
        day_volume=row.day_volume,
        first_tick=row.first_tick,
        last_tick=row.last_tick,
    )


def _candle_values(candle: Candle) -> dict[str, Any]:
    return dict(
        open=candle.open,
        high=candle.high,
        low=candle.low,
        close=candle.close,
        volume_base=candle.volume_base,
        day_volume=candle.day_volume,
        first_tick=candle.first_tick,
        last_tick=candle.last_tick,
    )
