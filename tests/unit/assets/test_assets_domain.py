from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mybroker.errors import DomainError, ErrorCode
from subgraphs.assets.domain import (
    CandleInterval,
    QuoteTick,
    fold,
    fold_tick,
    is_newer,
    page_size,
    search_key,
)
from subgraphs.assets.wire import tick_of

UTC = timezone.utc
T0 = datetime(2025, 3, 10, 13, 59, 30, tzinfo=UTC)


def tick(price: str, at: datetime = T0, volume: int = 100, ticker: str = "PETR4") -> QuoteTick:
    return QuoteTick(ticker, Decimal(price), Decimal("0.00"), 0.0, volume, at)


# ------------------------------------------------------------------ buckets


@pytest.mark.parametrize(
    "interval, expected",
    [
        (CandleInterval.ONE_MINUTE, datetime(2025, 3, 10, 13, 59, tzinfo=UTC)),
        (CandleInterval.FIVE_MINUTES, datetime(2025, 3, 10, 13, 55, tzinfo=UTC)),
        (CandleInterval.FIFTEEN_MINUTES, datetime(2025, 3, 10, 13, 45, tzinfo=UTC)),
        (CandleInterval.ONE_HOUR, datetime(2025, 3, 10, 13, tzinfo=UTC)),
        (CandleInterval.ONE_DAY, datetime(2025, 3, 10, tzinfo=UTC)),
    ],
)
def test_bucket_start_floors_to_the_interval(interval, expected):
    assert interval.bucket_start(T0) == expected


@pytest.mark.parametrize(
    "moment, five, fifteen",
    [
        (datetime(2025, 3, 10, 13, 0, tzinfo=UTC), datetime(2025, 3, 10, 13, 0, tzinfo=UTC), datetime(2025, 3, 10, 13, 0, tzinfo=UTC)),
        (datetime(2025, 3, 10, 13, 4, 59, 999999, tzinfo=UTC), datetime(2025, 3, 10, 13, 0, tzinfo=UTC), datetime(2025, 3, 10, 13, 0, tzinfo=UTC)),
        (datetime(2025, 3, 10, 13, 5, tzinfo=UTC), datetime(2025, 3, 10, 13, 5, tzinfo=UTC), datetime(2025, 3, 10, 13, 0, tzinfo=UTC)),
        (datetime(2025, 3, 10, 13, 29, 30, tzinfo=UTC), datetime(2025, 3, 10, 13, 25, tzinfo=UTC), datetime(2025, 3, 10, 13, 15, tzinfo=UTC)),
    ],
)
def test_five_and_fifteen_minute_buckets_are_aligned_on_the_hour(moment, five, fifteen):
    assert CandleInterval.FIVE_MINUTES.bucket_start(moment) == five
    assert CandleInterval.FIFTEEN_MINUTES.bucket_start(moment) == fifteen


def test_bucket_start_works_in_utc_whatever_the_offset():
    brasilia = timezone(timedelta(hours=-3))
    moment = datetime(2025, 3, 10, 22, 30, tzinfo=brasilia)  # 01:30 UTC next day
    assert CandleInterval.ONE_DAY.bucket_start(moment) == datetime(2025, 3, 11, tzinfo=UTC)


@given(st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)))
def test_a_moment_lies_inside_its_bucket(moment):
    for interval in CandleInterval:
        start = interval.bucket_start(moment)
        assert start <= moment < start + interval.length


# ------------------------------------------------------------------ fold


def test_first_tick_opens_the_candle():
    candle = fold(None, tick("31.50", volume=500), CandleInterval.ONE_MINUTE, volume_before=200)
    assert (candle.open, candle.high, candle.low, candle.close) == (Decimal("31.50"),) * 4
    assert candle.start == datetime(2025, 3, 10, 13, 59, tzinfo=UTC)
    assert candle.volume == 300


def test_ticks_move_high_low_close_and_volume():
    candle = fold(None, tick("31.50", volume=100), CandleInterval.ONE_MINUTE)
    candle = fold(candle, tick("31.90", T0 + timedelta(seconds=5), volume=300), CandleInterval.ONE_MINUTE)
    candle = fold(candle, tick("31.20", T0 + timedelta(seconds=10), volume=450), CandleInterval.ONE_MINUTE)
    candle = fold(candle, tick("31.40", T0 + timedelta(seconds=15), volume=600), CandleInterval.ONE_MINUTE)
    assert (candle.open, candle.high, candle.low, candle.close) == (
        Decimal("31.50"),
        Decimal("31.90"),
        Decimal("31.20"),
        Decimal("31.40"),
    )
    assert candle.volume == 600


def test_reapplying_a_tick_changes_nothing():
    candle = fold(None, tick("31.50", volume=100), CandleInterval.ONE_MINUTE)
    later = tick("31.70", T0 + timedelta(seconds=5), volume=300)
    once = fold(candle, later, CandleInterval.ONE_MINUTE)
    assert fold(once, later, CandleInterval.ONE_MINUTE) == once
    # An older tick arriving again after a newer one does not take the close back.
    assert fold(once, tick("31.50", volume=100), CandleInterval.ONE_MINUTE) == once


def test_a_late_tick_becomes_the_open_not_the_close():
    candle = fold(None, tick("31.50", T0 + timedelta(seconds=10)), CandleInterval.ONE_MINUTE)
    candle = fold(candle, tick("31.00", T0), CandleInterval.ONE_MINUTE)
    assert (candle.open, candle.close, candle.low) == (Decimal("31.00"), Decimal("31.50"), Decimal("31.00"))


def test_a_tick_of_another_bucket_is_refused():
    candle = fold(None, tick("31.50"), CandleInterval.ONE_MINUTE)
    with pytest.raises(ValueError):
        fold(candle, tick("31.60", T0 + timedelta(seconds=30)), CandleInterval.ONE_MINUTE)  # 14:00:00, next minute
    with pytest.raises(ValueError):
        fold(candle, tick("31.60", ticker="VALE3"), CandleInterval.ONE_MINUTE)


prices = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("999.99"), places=2)
offsets = st.integers(min_value=0, max_value=59)


@given(st.lists(st.tuples(prices, offsets, st.integers(0, 10**9)), min_size=1, max_size=30), st.data())
def test_fold_is_idempotent_and_bounded(ticks, data):
    start = datetime(2025, 3, 10, 14, 0, tzinfo=UTC)
    candle = None
    for price, offset, volume in ticks:
        candle = fold(candle, tick(str(price), start + timedelta(seconds=offset), volume), CandleInterval.ONE_MINUTE)
    seen = [p for p, _o, _v in ticks]
    assert candle.high == max(seen) and candle.low == min(seen)
    assert candle.low <= candle.open <= candle.high and candle.low <= candle.close <= candle.high
    assert candle.volume >= 0
    # Any tick already folded in, applied again, changes nothing.
    price, offset, volume = data.draw(st.sampled_from(ticks))
    again = tick(str(price), start + timedelta(seconds=offset), volume)
    replayed = fold(candle, again, CandleInterval.ONE_MINUTE)
    assert (replayed.high, replayed.low, replayed.day_volume, replayed.first_tick, replayed.last_tick) == (
        candle.high,
        candle.low,
        candle.day_volume,
        candle.first_tick,
        candle.last_tick,
    )


def test_fold_tick_counts_minute_volume_from_the_days_cumulative_volume():
    first = tick("31.50", datetime(2025, 3, 10, 13, 0, 10, tzinfo=UTC), volume=1000)
    candles = fold_tick({}, first)
    assert candles[CandleInterval.ONE_DAY].volume == 1000
    # Nothing is known before the day's first tick, so the minute starts counting there.
    assert candles[CandleInterval.ONE_MINUTE].volume == 0

    same_minute = tick("31.60", datetime(2025, 3, 10, 13, 0, 40, tzinfo=UTC), volume=1500)
    candles = fold_tick(candles, same_minute)
    assert candles[CandleInterval.ONE_MINUTE].volume == 500

    # A new minute counts from the day's volume before its first tick.
    next_minute = tick("31.70", datetime(2025, 3, 10, 13, 1, 0, tzinfo=UTC), volume=1800)
    current = {**candles, CandleInterval.ONE_MINUTE: None}
    candles = fold_tick(current, next_minute)
    assert candles[CandleInterval.ONE_MINUTE].volume == 300
    assert candles[CandleInterval.ONE_MINUTE].start == datetime(2025, 3, 10, 13, 1, tzinfo=UTC)
    assert candles[CandleInterval.ONE_HOUR].volume == 800
    assert candles[CandleInterval.ONE_DAY].volume == 1800
    # 13:00:10 and 13:01:00 share their 5- and 15-minute buckets: 300 + 500, as the hour
    for interval in (CandleInterval.FIVE_MINUTES, CandleInterval.FIFTEEN_MINUTES):
        assert candles[interval].volume == 800
        assert candles[interval].start == datetime(2025, 3, 10, 13, 0, tzinfo=UTC)
        assert (candles[interval].open, candles[interval].close) == (Decimal("31.50"), Decimal("31.70"))
    assert candles[CandleInterval.ONE_DAY].close == Decimal("31.70")


def test_is_newer_keeps_the_latest_quote():
    assert is_newer(T0, None)
    assert is_newer(T0, T0)
    assert not is_newer(T0, T0 + timedelta(seconds=1))


# ------------------------------------------------------------------ inputs


def test_a_quote_payload_as_a_tick():
    parsed = tick_of(
        {"ticker": "petr4", "price": "31.5", "change": "-0.1", "changePercent": -0.3167, "volume": 10, "time": "2025-03-10T13:00:00.000Z"}
    )
    assert parsed.ticker == "PETR4" and parsed.price == Decimal("31.50") and parsed.change_percent == -0.32
    assert parsed.time == datetime(2025, 3, 10, 13, tzinfo=UTC)
    for broken in ({}, {"ticker": "X", "price": "abc", "change": "0", "changePercent": 0, "volume": 1, "time": "2025-03-10T13:00:00Z"}):
        with pytest.raises(ValueError):
            tick_of(broken)
    with pytest.raises(ValueError):  # a time without an offset could be any hour
        tick_of({"ticker": "X", "price": "1", "change": "0", "changePercent": 0, "volume": 1, "time": "2025-03-10T13:00:00"})


def test_search_key_ignores_case_and_accents():
    assert search_key("ITAÚ Unibanco") == search_key("itau unibanco")
    assert "itau" in search_key("ITUB4 Itaú Unibanco PN")


def test_page_size():
    assert page_size(None, 50, 200, "first") == 50
    assert page_size(10, 50, 200, "first") == 10
    assert page_size(10_000, 50, 200, "first") == 200
    for bad in (0, -1):
        with pytest.raises(DomainError) as raised:
            page_size(bad, 50, 200, "first")
        assert raised.value.code is ErrorCode.BAD_USER_INPUT
