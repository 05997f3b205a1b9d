"""SQL for the assets database: catalog rows and candles to and from domain objects."""
from __future__ import annotations

from typing import Any, Mapping, Sequence

from sqlalchemy import and_, bindparam, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from subgraphs.assets import tables
from subgraphs.assets.domain import AssetRecord, AssetType, Candle, CandleInterval, CandleKey, QuoteTick, candle_keys, search_key

A = tables.assets.c
C = tables.candles.c


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
