"""B3's trading calendar and the clock (mybroker.calendar): business days from
exchange-calendars' BVMF, D+2 settlement, the trading day a moment belongs to."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone

import pytest

from mybroker.calendar import B3Calendar, ManualClock, b3_calendar

CALENDAR = b3_calendar()


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    "day, business",
    [
        (date(2026, 12, 4), True),  # a Friday
        (date(2026, 12, 5), False),  # Saturday
        (date(2026, 1, 1), False),  # Confraternização Universal
        (date(2026, 2, 16), False),  # Carnival Monday
        (date(2026, 2, 17), False),  # Carnival Tuesday
        (date(2026, 2, 18), True),  # Ash Wednesday: a session, opening at 13:00
        (date(2026, 4, 3), False),  # Good Friday
        (date(2026, 4, 21), False),  # Tiradentes
        (date(2026, 6, 4), False),  # Corpus Christi
        (date(2026, 11, 20), False),  # Consciência Negra, a national holiday since 2024
        (date(2026, 12, 24), False),  # B3 closes on Christmas Eve
        (date(2026, 12, 25), False),
        (date(2026, 12, 31), False),  # and on the year's last day
    ],
)
def test_business_days_follow_b3s_holidays(day, business):
    assert CALENDAR.is_business_day(day) is business


def test_a_session_says_when_continuous_trading_opens_and_closes():
    usual = CALENDAR.session(date(2026, 12, 4))
    assert (usual.open, usual.close) == (utc(2026, 12, 4, 13), utc(2026, 12, 4, 21))  # 10:00-18:00 in Brasília
    ash_wednesday = CALENDAR.session(date(2026, 2, 18))
    assert ash_wednesday.open == utc(2026, 2, 18, 16)  # 13:00 in Brasília
    assert CALENDAR.session(date(2026, 12, 25)) is None


@pytest.mark.parametrize(
    "trade_day, settles",
    [
        (date(2026, 12, 2), date(2026, 12, 4)),  # Wednesday -> Friday
        (date(2026, 12, 4), date(2026, 12, 8)),  # Friday -> Tuesday, over the weekend
        (date(2026, 12, 22), date(2026, 12, 28)),  # over the 24th, Christmas and the weekend
        (date(2026, 12, 23), date(2026, 12, 29)),
        (date(2026, 2, 13), date(2026, 2, 19)),  # over Carnival; Ash Wednesday counts as D+1
        (date(2026, 11, 18), date(2026, 11, 23)),  # over Consciência Negra (a Friday)
    ],
)
def test_trades_settle_on_the_second_business_day_after(trade_day, settles):
    assert CALENDAR.settlement_date(trade_day) == settles


def test_business_days_are_counted_forward_only():
    assert CALENDAR.add_business_days(date(2026, 12, 5), 0) == date(2026, 12, 5)
    assert CALENDAR.add_business_days(date(2026, 12, 5), 1) == date(2026, 12, 7)  # from a Saturday
    with pytest.raises(ValueError):
        CALENDAR.add_business_days(date(2026, 12, 4), -1)


@pytest.mark.parametrize(
    "moment, day",
    [
        (utc(2026, 12, 4, 20, 59), date(2026, 12, 4)),  # 17:59 in Brasília
        (utc(2026, 12, 4, 21, 0), date(2026, 12, 7)),  # 18:00: the day has rolled to Monday
        (utc(2026, 12, 5, 2, 0), date(2026, 12, 7)),  # Friday 23:00 in Brasília, Saturday in UTC
        (utc(2026, 12, 4, 2, 0), date(2026, 12, 4)),  # Thursday 23:00 in Brasília: past Thursday's roll
        (utc(2026, 12, 6, 15, 0), date(2026, 12, 7)),  # a Sunday trades for Monday
        (utc(2026, 12, 24, 12, 0), date(2026, 12, 28)),  # Christmas Eve: the next session
    ],
)
def test_the_trading_day_of_a_moment_rolls_at_the_close_and_skips_closed_days(moment, day):
    assert CALENDAR.trading_day(moment) == day


def test_the_rollover_hour_is_a_parameter():
    assert CALENDAR.trading_day(utc(2026, 12, 4, 20, 0), rollover=time(17, 0)) == date(2026, 12, 7)


def test_outside_its_range_the_calendar_refuses_rather_than_guesses():
    narrow = B3Calendar(first=date(2026, 1, 1), last=date(2026, 12, 31))
    assert narrow.is_business_day(date(2026, 12, 30))
    with pytest.raises(ValueError, match="outside the trading calendar"):
        narrow.is_business_day(date(2027, 1, 4))
    with pytest.raises(ValueError, match="aware"):
        narrow.trading_day(datetime(2026, 12, 4, 12, 0))


def test_a_manual_clock_moves_only_when_told():
    clock = ManualClock(utc(2026, 12, 4, 20, 59))
    assert clock.now() == clock.now() == utc(2026, 12, 4, 20, 59)
    assert CALENDAR.trading_day(clock.now()) == date(2026, 12, 4)
    clock.advance(timedelta(minutes=1))
    assert CALENDAR.trading_day(clock.now()) == date(2026, 12, 7)
    clock.set(utc(2026, 12, 8, 12, 0))
    assert clock.now() == utc(2026, 12, 8, 12, 0)
    with pytest.raises(ValueError):
        ManualClock(datetime(2026, 12, 4))
