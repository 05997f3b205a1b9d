"""Candles bucketed from the quote history: OHLC and volume per bucket, the same as folding
the ticks one by one (domain.fold_tick), and the same whichever window they are read in."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from subgraphs.assets.candles import PricePoint, bucket
from subgraphs.assets.domain import CandleInterval, QuoteTick, fold_tick

UTC = timezone.utc
DAY = datetime(2025, 3, 10, tzinfo=UTC)


def p(at: datetime, price: str, volume: int) -> PricePoint:
    return PricePoint(at, Decimal(price), volume)


def ohlcv(candle) -> tuple:
    return candle.start, str(candle.open), str(candle.high), str(candle.low), str(candle.close), candle.volume


def test_minute_candles_ohlc_and_volume():
    ticks = [
        p(DAY.replace(hour=13, minute=0, second=5), "31.50", 1000),  # the day's first tick: the minute counts from it
        p(DAY.replace(hour=13, minute=0, second=30), "31.70", 1500),
        p(DAY.replace(hour=13, minute=0, second=50), "31.40", 1800),
        p(DAY.replace(hour=13, minute=2, second=0), "31.60", 2600),  # minute 1 had no ticks: no candle
    ]
    candles = bucket("PETR4", ticks, CandleInterval.ONE_MINUTE)
    assert [ohlcv(c) for c in candles] == [
        (DAY.replace(hour=13), "31.50", "31.70", "31.40", "31.40", 800),
        (DAY.replace(hour=13, minute=2), "31.60", "31.60", "31.60", "31.60", 800),
    ]
    assert all(c.ticker == "PETR4" and c.interval is CandleInterval.ONE_MINUTE for c in candles)


def test_day_candles_count_the_whole_cumulative_volume_and_reset_each_day():
    ticks = [
        p(DAY.replace(hour=13), "31.50", 1000),
        p(DAY.replace(hour=20), "32.00", 9000),
        p(DAY.replace(hour=13) + timedelta(days=1), "31.00", 700),
    ]
    assert [ohlcv(c) for c in bucket("PETR4", ticks, CandleInterval.ONE_DAY)] == [
        (DAY, "31.50", "32.00", "31.50", "32.00", 9000),
        (DAY + timedelta(days=1), "31.00", "31.00", "31.00", "31.00", 700),
    ]


def test_the_tick_before_the_window_sets_where_the_first_bucket_counts_from():
    previous = p(DAY.replace(hour=13, minute=59, second=50), "31.00", 5000)
    ticks = [p(DAY.replace(hour=14, second=10), "31.20", 5600), p(DAY.replace(hour=14, second=40), "31.10", 5900)]
    [minute] = bucket("PETR4", ticks, CandleInterval.ONE_MINUTE, previous)
    assert minute.volume == 900 and minute.open == Decimal("31.20")
    yesterday = p(DAY.replace(hour=20) - timedelta(days=1), "30.00", 80000)
    [minute] = bucket("PETR4", ticks, CandleInterval.ONE_MINUTE, yesterday)  # another day: counts from its first tick
    assert minute.volume == 300


def test_no_ticks_no_candles():
    assert bucket("PETR4", [], CandleInterval.ONE_HOUR) == []


prices = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("999.99"), places=2)
# Seconds from 13:00 UTC over two days, so ticks cross minutes, hours and a day.
moments = st.integers(min_value=0, max_value=2 * 86400 - 1)


# No per-example deadline: the machine is shared, and these are about results, not speed.
@settings(deadline=None, max_examples=60)
@given(st.lists(st.tuples(moments, prices, st.integers(0, 10**6)), min_size=1, max_size=40))
def test_bucketing_equals_folding_tick_by_tick(raw):
    start = DAY.replace(hour=13)
    ticks = sorted((PricePoint(start + timedelta(seconds=s), price, volume) for s, price, volume in raw), key=lambda t: t.time)
    folded: dict[CandleInterval, dict] = {interval: {} for interval in CandleInterval}
    for t in ticks:
        tick = QuoteTick("PETR4", t.price, Decimal("0"), 0.0, t.volume, t.time)
        current = {i: folded[i].get(i.bucket_start(t.time)) for i in CandleInterval}
        for interval, candle in fold_tick(current, tick).items():
            folded[interval][candle.start] = candle
    for interval in CandleInterval:
        assert bucket("PETR4", ticks, interval) == [folded[interval][s] for s in sorted(folded[interval])]


@settings(deadline=None, max_examples=60)
@given(
    st.lists(st.tuples(moments, prices, st.integers(1, 1000)), min_size=2, max_size=40),
    st.sampled_from(list(CandleInterval)),
    st.data(),
)
def test_a_window_from_a_bucket_boundary_gives_the_same_candles(raw, interval, data):
    """Reading only the latest buckets plus the tick before them (what the history query
    does) gives the candles that reading everything gives, when volume is cumulative."""
    start = DAY.replace(hour=13)
    ordered = sorted(raw)
    volume, ticks = 0, []
    for s, price, step in ordered:
        volume = 0 if ticks and (start + timedelta(seconds=s)).date() != ticks[-1].time.date() else volume
        volume += step
        ticks.append(PricePoint(start + timedelta(seconds=s), price, volume))
    whole = bucket("PETR4", ticks, interval)
    cut = data.draw(st.sampled_from([c.start for c in whole]))
    inside = [t for t in ticks if t.time >= cut]
    before = [t for t in ticks if t.time < cut]
    assert bucket("PETR4", inside, interval, before[-1] if before else None) == [c for c in whole if c.start >= cut]


class ListHistory:
    """Stands in for HistoryCandles (MongoDB): buckets what it was given."""

    def __init__(self, points):
        self.points = points
        self.asked = []

    async def candles(self, ticker, interval, limit):
        self.asked.append((ticker, interval, limit))
        return bucket(ticker, self.points, interval)[-limit:]


async def test_with_a_history_the_service_reads_candles_from_it_and_folds_nothing(tmp_path):
    from mybroker.cache import MemoryCache
    from mybroker.db import Database
    from mybroker.events import QUOTE, Envelope
    from subgraphs.assets import tables
    from subgraphs.assets.service import AssetsService

    history = ListHistory([p(DAY.replace(hour=13), "31.50", 1000), p(DAY.replace(hour=13, minute=1), "31.60", 1300)])
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'assets.db'}", tables.metadata)
    await db.create_schema()
    service = AssetsService(db, MemoryCache(), None, history)
    try:
        data = {"ticker": "PETR4", "price": "31.60", "change": "0.10", "changePercent": 0.3, "volume": 1300,
                "time": "2025-03-10T13:01:00.000Z", "source": "simulator"}
        await service.record_quote(Envelope(QUOTE, data))
        assert (await service.latest_quote("PETR4")).price == Decimal("31.60")
        async with db.read() as session:
            assert (await session.execute(tables.candles.select())).first() is None
        candles = await service.candles("petr4", CandleInterval.ONE_MINUTE, None)  # null limit: the default 30
        assert [c.close for c in candles] == [Decimal("31.50"), Decimal("31.60")]
        assert history.asked == [("PETR4", CandleInterval.ONE_MINUTE, 30)]
    finally:
        await db.dispose()
