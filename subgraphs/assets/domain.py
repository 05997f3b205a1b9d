"""Assets domain: the catalog's records, quotes as they arrive from market data, and
candles folded from those quotes. Pure: no I/O, no clock."""
from __future__ import annotations

import unicodedata
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from enum import Enum
from typing import Mapping, Sequence

from mybroker.errors import bad_input

# Page sizes (the contract's defaults), bounded so one query cannot read a whole table.
DEFAULT_ASSETS_PAGE = 50
MAX_ASSETS_PAGE = 200
DEFAULT_CANDLES = 30
MAX_CANDLES = 500
MAX_SEARCH_LENGTH = 100  # characters of assets(search:); asset names are far shorter


class AssetType(str, Enum):
    STOCK = "STOCK"
    FII = "FII"
    ETF = "ETF"
    BDR = "BDR"


class CandleInterval(str, Enum):
    ONE_MINUTE = "ONE_MINUTE"
    FIVE_MINUTES = "FIVE_MINUTES"
    FIFTEEN_MINUTES = "FIFTEEN_MINUTES"
    ONE_HOUR = "ONE_HOUR"
    ONE_DAY = "ONE_DAY"

    def bucket_start(self, moment: datetime) -> datetime:
        """The start of the candle holding `moment`, in UTC. Days are UTC days: B3's
        session (10:00-18:00 in Brasília) lies inside one UTC day."""
        moment = moment.astimezone(timezone.utc)
        if self is CandleInterval.ONE_MINUTE:
            return moment.replace(second=0, microsecond=0)
        if self in (CandleInterval.FIVE_MINUTES, CandleInterval.FIFTEEN_MINUTES):
            # hour-aligned: an hour holds whole 5- and 15-minute buckets (10:00, 10:05, ...)
            step = int(self.length.total_seconds()) // 60
            return moment.replace(minute=moment.minute - moment.minute % step, second=0, microsecond=0)
        if self is CandleInterval.ONE_HOUR:
            return moment.replace(minute=0, second=0, microsecond=0)
        return moment.replace(hour=0, minute=0, second=0, microsecond=0)

    @property
    def length(self) -> timedelta:
        return {
            CandleInterval.ONE_MINUTE: timedelta(minutes=1),
            CandleInterval.FIVE_MINUTES: timedelta(minutes=5),
            CandleInterval.FIFTEEN_MINUTES: timedelta(minutes=15),
            CandleInterval.ONE_HOUR: timedelta(hours=1),
            CandleInterval.ONE_DAY: timedelta(days=1),
        }[self]


@dataclass(frozen=True)
class AssetRecord:
    ticker: str
    name: str
    type: AssetType
    lot_size: int
    active: bool = True


def fractional_record(standard: AssetRecord, ticker: str) -> AssetRecord:
    """The fractional market of a round-lot asset (PETR4F for PETR4): the same shares,
    traded one at a time, priced by the standard ticker's quotes."""
    return AssetRecord(ticker, f"{standard.name} (fracionário)", standard.type, 1, standard.active)


def normalise_ticker(ticker: str) -> str:
    return ticker.strip().upper()


def search_key(text: str) -> str:
    """Case- and accent-insensitive form, so "itau" finds "Itaú Unibanco"."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def page_size(requested: int | None, default: int, maximum: int, what: str) -> int:
    """The contract's page arguments are nullable with a default: null means the default."""
    if requested is None:
        return default
    if requested <= 0:
        raise bad_input(f"{what} must be a positive number.")
    return min(requested, maximum)


@dataclass(frozen=True)
class QuoteTick:
    """One market-data tick (a Quote of docs/internals.md, mapped by subgraphs.assets.wire)."""

    ticker: str
    price: Decimal
    change: Decimal
    change_percent: float
    volume: int  # cumulative for the day
    time: datetime


@dataclass(frozen=True)
class Candle:
    """OHLC of one bucket. Volume comes from the day's cumulative volume: what it grew by
    between the last tick before the bucket (`volume_base`) and the latest tick in it."""

    ticker: str
    interval: CandleInterval
    start: datetime
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume_base: int
    day_volume: int
    first_tick: datetime
    last_tick: datetime

    @property
    def volume(self) -> int:
        return max(0, self.day_volume - self.volume_base)


def fold(candle: Candle | None, tick: QuoteTick, interval: CandleInterval, volume_before: int = 0) -> Candle:
    """The candle after `tick`. Applying the same tick again changes nothing.

    `volume_before` is the day's cumulative volume before this tick; it matters only when
    the tick opens the bucket."""
    start = interval.bucket_start(tick.time)
    if candle is None:
        return Candle(
            ticker=tick.ticker,
            interval=interval,
            start=start,
            open=tick.price,
            high=tick.price,
            low=tick.price,
            close=tick.price,
            volume_base=min(volume_before, tick.volume),
            day_volume=tick.volume,
            first_tick=tick.time,
            last_tick=tick.time,
        )
    if (candle.ticker, candle.interval, candle.start) != (tick.ticker, interval, start):
        raise ValueError(f"tick {tick.ticker}@{tick.time} does not belong to candle {candle.ticker}@{candle.start}")
    # A late tick (older than the first seen) opens the bucket; a newer one closes it.
    earlier = tick.time < candle.first_tick
    later = tick.time >= candle.last_tick
    return replace(
        candle,
        open=tick.price if earlier else candle.open,
        first_tick=tick.time if earlier else candle.first_tick,
        high=max(candle.high, tick.price),
        low=min(candle.low, tick.price),
        close=tick.price if later else candle.close,
        last_tick=tick.time if later else candle.last_tick,
        day_volume=max(candle.day_volume, tick.volume),
    )


def fold_tick(current: Mapping[CandleInterval, Candle | None], tick: QuoteTick) -> dict[CandleInterval, Candle]:
    """Folds one tick into its 1m, 5m, 15m, 1h and 1d candles (`current` holds the candles of the
    tick's buckets, or None). The day candle knows the day's volume before this tick,
    which is where a new minute or hour starts counting."""
    day = current.get(CandleInterval.ONE_DAY)
    # Before the first tick of the day we know no earlier volume; counting the day's whole
    # volume into the current minute would be wrong, so intraday candles start from here.
    intraday_base = day.day_volume if day is not None else tick.volume
    folded = {CandleInterval.ONE_DAY: fold(day, tick, CandleInterval.ONE_DAY, 0)}
    for interval in CandleInterval:
        if interval is not CandleInterval.ONE_DAY:
            folded[interval] = fold(current.get(interval), tick, interval, intraday_base)
    return folded


CandleKey = tuple[CandleInterval, datetime]  # a bucket of one ticker: interval and start


def candle_keys(tick: QuoteTick) -> list[CandleKey]:
    """The buckets a tick falls in, one per interval."""
    return [(interval, interval.bucket_start(tick.time)) for interval in CandleInterval]


def fold_ticks(known: Mapping[CandleKey, Candle | None], ticks: Sequence[QuoteTick]) -> dict[CandleKey, Candle]:
    """Folds one ticker's ticks into their candles, oldest first, as fold_tick one tick
    after the other would: what a batch of ticks leaves in the buckets it touched.
    `known` holds the candles of every tick's buckets before the batch (None where none
    exists yet); the answer holds the candles after it, for those same buckets."""
    candles = dict(known)
    for tick in sorted(ticks, key=lambda t: t.time):
        current = {interval: candles.get((interval, start)) for interval, start in candle_keys(tick)}
        for interval, candle in fold_tick(current, tick).items():
            candles[(interval, candle.start)] = candle
    return {key: candle for key, candle in candles.items() if candle is not None}


def is_newer(candidate: datetime, cached: datetime | None) -> bool:
    """Latest-quote rule: a redelivered or late tick never replaces a newer one."""
    return cached is None or candidate >= cached
