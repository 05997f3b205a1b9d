"""Candles bucketed from a run of recorded ticks (the quote history). Pure: no I/O.

It gives the same candles as folding the ticks one by one into the candle table
(domain.fold_tick): OHLC per bucket in time order, and volume from the day's cumulative
volume, counted from the day's volume before the bucket's first tick (nothing before
the day's first tick is known, so an intraday bucket opening the day counts from it)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal
from typing import Iterable

from subgraphs.assets.domain import Candle, CandleInterval


@dataclass(frozen=True)
class PricePoint:
    """What a candle needs of a tick: when, at what price, and the day's volume so far."""

    time: datetime
    price: Decimal
    volume: int


def bucket(
    ticker: str, ticks: Iterable[PricePoint], interval: CandleInterval, previous: PricePoint | None = None
) -> list[Candle]:
    """The candles of `ticks` (in time order), oldest first. `previous` is the last tick
    before them, if any: on the same UTC day, its volume is where the first bucket starts
    counting."""
    candles: list[Candle] = []
    day, day_volume = (_day(previous.time), previous.volume) if previous is not None else (None, 0)
    current: dict | None = None
    for tick in ticks:
        moment = tick.time.astimezone(timezone.utc)
        tick_day = _day(moment)
        start = interval.bucket_start(moment)
        if current is None or current["start"] != start:
            if current is not None:
                candles.append(Candle(ticker=ticker, interval=interval, **current))
            if interval is CandleInterval.ONE_DAY:
                base = 0
            else:
                base = day_volume if day == tick_day else tick.volume
            current = dict(
                start=start, open=tick.price, high=tick.price, low=tick.price, close=tick.price,
                volume_base=min(base, tick.volume), day_volume=tick.volume, first_tick=moment, last_tick=moment,
            )
        else:
            current["high"] = max(current["high"], tick.price)
            current["low"] = min(current["low"], tick.price)
            current["close"] = tick.price
            current["last_tick"] = moment
            current["day_volume"] = max(current["day_volume"], tick.volume)
        if day != tick_day:
            day, day_volume = tick_day, tick.volume
        else:
            day_volume = max(day_volume, tick.volume)
    if current is not None:
        candles.append(Candle(ticker=ticker, interval=interval, **current))
    return candles


def _day(moment: datetime):
    return moment.astimezone(timezone.utc).date()
